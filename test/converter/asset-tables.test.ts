/**
 * Tables filled from asset files: a TF1-style SavedModel (written by bench/fixtures/saved-model-writer.ts)
 * built like `tf.contrib.lookup.index_table_from_file` (+ out-of-vocabulary buckets) reads its vocabulary
 * from `assets/` through `InitializeTableFromTextFileV2`. The converter reads the file and emits the same
 * modelInitializer + table import as tensor-filled tables; the stock loader runs it. Expected ids are the
 * line numbers / columns of the vocabulary written here, per TF's text-file table semantics.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { writeSavedModel, type AttrMsg, type MetaGraphMsg, type NodeMsg } from '../../bench/fixtures/saved-model-writer.js';
import { isConverterError } from '../../converter/index.js';
import { DT } from '../../converter/tensor.js';
import { convert, cpuBackend, load, numTensors } from './helpers.js';

const work = mkdtempSync(join(tmpdir(), 'converter-asset-tables-'));
after(() => rmSync(work, { recursive: true, force: true }));
before(cpuBackend);

const t = (type: number): AttrMsg => ({ type });
const n = (name: string, op: string, input: string[] = [], attr: Record<string, AttrMsg> = {}): NodeMsg => ({ name, op, input, attr });
const I64 = DT.INT64;

interface TableOpts {
  keyIndex: number;
  valueIndex: number;
  keyType?: number;
  valueType?: number;
  vocabSize?: number;
  delimiter?: string;
  offset?: number;
  /** num_oov_buckets (0: none). */
  oov?: number;
}

/** input (string or int64 keys) → ids, the table filled from assets/vocab.txt. */
function writeModel(name: string, vocab: string, o: TableOpts): string {
  const keyType = o.keyType ?? DT.STRING;
  const valueType = o.valueType ?? I64;
  const dflt = valueType === DT.STRING ? { stringVal: ['?'] } : valueType === I64 ? { int64Val: [-1] } : { intVal: [-1] };
  const T = 'string_to_index/hash_table';
  const init: Record<string, AttrMsg> = { key_index: { i: o.keyIndex }, value_index: { i: o.valueIndex } };
  if (o.vocabSize !== undefined) init.vocab_size = { i: o.vocabSize };
  if (o.delimiter !== undefined) init.delimiter = { s: o.delimiter };
  if (o.offset !== undefined) init.offset = { i: o.offset };
  const nodes: NodeMsg[] = [
    n('input', 'Placeholder', [], { dtype: t(keyType), shape: { shape: { dim: [-1] } } }),
    n(T, 'HashTableV2', [], { container: { s: '' }, shared_name: { s: 'hash_table_vocab.txt_-2_-1' }, use_node_name_sharing: { b: false }, key_dtype: t(keyType), value_dtype: t(valueType) }),
    // The exporter's absolute path: asset_file_def maps this tensor to assets/vocab.txt.
    n(`${T}/table_init/asset_filepath`, 'Const', [], { dtype: t(DT.STRING), value: { tensor: { dtype: DT.STRING, shape: [], stringVal: ['/home/trainer/export/tmp/vocab_v7.txt'] } } }),
    n(`${T}/table_init`, 'InitializeTableFromTextFileV2', [T, `${T}/table_init/asset_filepath`], init),
    n(`${T}/Const`, 'Const', [], { dtype: t(valueType), value: { tensor: { dtype: valueType, shape: [], ...dflt } } }),
    n('hash_table_Lookup/LookupTableFindV2', 'LookupTableFindV2', [T, 'input', `${T}/Const`], { Tin: t(keyType), Tout: t(valueType) }),
    n('init_all_tables', 'NoOp', [`^${T}/table_init`]),
  ];
  let out = 'hash_table_Lookup/LookupTableFindV2';
  if (o.oov) {
    nodes.push(
      n('hash_table_Lookup/hash_bucket', 'StringToHashBucketFast', ['input'], { num_buckets: { i: o.oov } }),
      n('hash_table_Size/LookupTableSizeV2', 'LookupTableSizeV2', [T]),
      n('hash_table_Lookup/Add', 'AddV2', ['hash_table_Lookup/hash_bucket', 'hash_table_Size/LookupTableSizeV2'], { T: t(I64) }),
      n('hash_table_Lookup/NotEqual', 'NotEqual', ['hash_table_Lookup/LookupTableFindV2', `${T}/Const`], { T: t(I64) }),
      n('hash_table_Lookup/SelectV2', 'SelectV2', ['hash_table_Lookup/NotEqual', 'hash_table_Lookup/LookupTableFindV2', 'hash_table_Lookup/Add'], { T: t(I64) }),
    );
    out = 'hash_table_Lookup/SelectV2';
  }
  nodes.push(n('output', 'Identity', [out], { T: t(valueType) }));
  const m: MetaGraphMsg = {
    tags: ['serve'],
    tensorflowVersion: '1.15.5',
    producer: 134,
    nodes,
    collections: { table_initializer: [`${T}/table_init`], saved_model_main_op: ['init_all_tables'] },
    assets: [{ tensorName: `${T}/table_init/asset_filepath:0`, filename: 'vocab.txt' }],
    signatures: {
      serving_default: {
        inputs: { input: { name: 'input:0', dtype: keyType, shape: { dim: [-1] } } },
        outputs: { output: { name: 'output:0', dtype: valueType, shape: { dim: [-1] } } },
        methodName: 'tensorflow/serving/predict',
      },
    },
  };
  const dir = join(work, name);
  writeSavedModel(dir, [m], [], { 'vocab.txt': vocab });
  return dir;
}

/**
 * The TF2 layout (tf.saved_model.save of a StaticHashTable(TextFileInitializer)): the asset path is a
 * `asset_path_initializer` Placeholder (asset_file_def names it) assigned to a string variable that the init
 * op reads and passes to the initializer function, which fills the table inside its body.
 */
function writeTf2Model(name: string, vocab: string): string {
  const S = DT.STRING;
  const nodes: NodeMsg[] = [
    n('input', 'Placeholder', [], { dtype: t(S), shape: { shape: { dim: [-1] } } }),
    n('hash_table', 'HashTableV2', [], { container: { s: '' }, shared_name: { s: 'hash_table_/tmp/vocab.txt_-2_-1' }, use_node_name_sharing: { b: true }, key_dtype: t(S), value_dtype: t(I64) }),
    n('asset_path_initializer', 'Placeholder', [], { dtype: t(S), shape: { shape: { dim: [] } } }),
    n('Variable', 'VarHandleOp', [], { dtype: t(S), shape: { shape: { dim: [] } }, shared_name: { s: 'Variable' }, container: { s: '' } }),
    n('Variable/Assign', 'AssignVariableOp', ['Variable', 'asset_path_initializer'], { dtype: t(S) }),
    n('Variable/Read/ReadVariableOp', 'ReadVariableOp', ['Variable'], { dtype: t(S) }),
    n('StatefulPartitionedCall_1', 'StatefulPartitionedCall', ['hash_table', 'Variable/Read/ReadVariableOp'], {
      Tin: { list: { type: [DT.RESOURCE, S] } }, Tout: { list: {} }, f: { func: { name: '__inference__initializer_77' } },
    }),
    n('NoOp', 'NoOp', ['^StatefulPartitionedCall_1', '^Variable/Assign']),
    n('Const', 'Const', [], { dtype: t(I64), value: { tensor: { dtype: I64, shape: [], int64Val: [-1] } } }),
    n('None_Lookup/LookupTableFindV2', 'LookupTableFindV2', ['hash_table', 'input', 'Const'], { Tin: t(S), Tout: t(I64) }),
    n('output', 'Identity', ['None_Lookup/LookupTableFindV2'], { T: t(I64) }),
  ];
  const init = {
    signature: { name: '__inference__initializer_77', inputArg: [{ name: 'table', type: DT.RESOURCE }, { name: 'asset_path', type: S }], outputArg: [] },
    nodes: [n('text_file_init/InitializeTableFromTextFileV2', 'InitializeTableFromTextFileV2', ['table', 'asset_path'], { key_index: { i: -1 }, value_index: { i: -2 } })],
    ret: {},
  };
  const dir = join(work, name);
  writeSavedModel(dir, [{
    tags: ['serve'],
    tensorflowVersion: '2.15.0',
    producer: 1645,
    nodes,
    functions: [init],
    assets: [{ tensorName: 'asset_path_initializer:0', filename: 'vocab.txt' }],
    signatures: {
      serving_default: {
        inputs: { input: { name: 'input:0', dtype: S, shape: { dim: [-1] } } },
        outputs: { output: { name: 'output:0', dtype: I64, shape: { dim: [-1] } } },
        methodName: 'tensorflow/serving/predict',
      },
      __saved_model_init_op: { inputs: {}, outputs: { __saved_model_init_op: { name: 'NoOp', dtype: 0 } }, methodName: '' },
    },
  }], [], { 'vocab.txt': vocab });
  return dir;
}

async function lookup(dir: string, keys: string[] | number[], keyType: 'string' | 'int32' = 'string'): Promise<(number | string)[]> {
  const r = await convert(dir);
  const start = numTensors();
  const model = await load(r);
  const x = tf.tensor1d(keys as number[], keyType);
  const y = (await model.executeAsync({ input: x })) as tf.Tensor;
  const values = Array.from(y.dataSync() as unknown as ArrayLike<unknown>, (v) => (v instanceof Uint8Array ? new TextDecoder().decode(v) : (v as number)));
  tf.dispose([x, y]);
  model.dispose();
  assert.equal(numTensors(), start, 'no tensor leaks');
  return values;
}

describe('tables from asset files (InitializeTableFromTextFileV2)', () => {
  it('whole line → line number, with an out-of-vocabulary bucket; the modelInitializer imports the file as tensors', async () => {
    const dir = writeModel('whole-line', 'apple\nbanana\r\ncherry\n', { keyIndex: -1, valueIndex: -2, oov: 1 });
    const r = await convert(dir);
    const init = r.modelJson.modelInitializer!.node as unknown as { op: string; name: string }[];
    assert.deepEqual(init.map((x) => x.op).sort(), ['Const', 'Const', 'HashTableV2', 'Identity', 'LookupTableImportV2']);
    assert.ok(!JSON.stringify(r.modelJson).includes('InitializeTableFromTextFile'));
    // vocab ids 0..2; "durian" and "" fall in the single OOV bucket: id 3 (= vocabulary size + bucket 0).
    assert.deepEqual(await lookup(dir, ['banana', 'cherry', 'apple', 'durian', '']), [1, 2, 0, 3, 3]);
  });

  it('columns with a delimiter, vocab_size limits the lines read', async () => {
    const dir = writeModel('columns', 'k1,10,x\nk2,20,y\nk3,30,z\n', { keyIndex: 0, valueIndex: 1, delimiter: ',', vocabSize: 2 });
    assert.deepEqual(await lookup(dir, ['k2', 'k1', 'k3', 'x']), [20, 10, -1, -1]);
  });

  it('string values from a column, integer keys from another', async () => {
    const dir = writeModel('int-keys', '7\tseven\n3\tthree\n', { keyIndex: 0, valueIndex: 1, keyType: DT.INT64, valueType: DT.STRING });
    assert.deepEqual(await lookup(dir, [3, 7, 5], 'int32'), ['three', 'seven', '?']);
  });

  it('offset is added to line numbers', async () => {
    const dir = writeModel('offset', 'a\nb\n', { keyIndex: -1, valueIndex: -2, offset: 100 });
    assert.deepEqual(await lookup(dir, ['b', 'a', 'c']), [101, 100, -1]);
  });

  it('TF2 layout: the asset path reaches the initializer function through a variable assigned from asset_path_initializer', async () => {
    const dir = writeTf2Model('tf2', 'the\nquick\nfox\n');
    assert.deepEqual(await lookup(dir, ['fox', 'the', 'dog', 'quick']), [2, 0, -1, 1]);
  });

  it('errors name the file and line as TensorFlow does', async () => {
    const cases: [string, string, TableOpts, RegExp][] = [
      ['short', 'a\nb\n', { keyIndex: -1, valueIndex: -2, vocabSize: 3 }, /Invalid vocab_size in .*vocab\.txt: expected 3 but got 2/],
      ['not-int', 'a\t1\nb\tx\n', { keyIndex: 0, valueIndex: 1 }, /Field x in line 1 of .*vocab\.txt is not a valid int64/],
      ['columns', 'a\t1\nb\n', { keyIndex: 0, valueIndex: 1 }, /Invalid number of columns in .* line 1 \(b\) : expected 2 got 1/],
      ['empty-line', 'a\n\nb\n', { keyIndex: -1, valueIndex: -2 }, /empty line found at line 1/],
      ['dup', 'a\t1\na\t2\n', { keyIndex: 0, valueIndex: 1 }, /different value for same key. Key a has 1 and trying to add value 2/],
      ['line-number-type', 'a\n', { keyIndex: -1, valueIndex: -2, valueType: DT.INT32 }, /Value index for line number requires table value dtype of int64, got DT_INT32/],
    ];
    for (const [name, vocab, o, re] of cases) {
      const dir = writeModel(`bad-${name}`, vocab, o);
      await assert.rejects(convert(dir), (e: unknown) => isConverterError(e) && e.code === 'INVALID_ARGUMENT' && re.test(e.message), name);
    }
    const dir = writeModel('missing', 'a\n', { keyIndex: -1, valueIndex: -2 });
    unlinkSync(join(dir, 'assets', 'vocab.txt'));
    await assert.rejects(convert(dir), (e: unknown) => isConverterError(e) && e.code === 'NOT_FOUND' && /vocab\.txt, which does not exist/.test(e.message));
  });
});
