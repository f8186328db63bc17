/**
 * Static hash tables: a TF1-style SavedModel (written by bench/fixtures/saved-model-writer.ts) whose serving
 * graph looks string keys up in a `HashTableV2` filled by `LookupTableImportV2` from the init op
 * (`saved_model_main_op` collection, or the `__saved_model_init_op` signature) converts to a graph model with
 * `modelInitializer` + `initializerSignature`, the table a `resourceId` signature input; the stock
 * `tf.loadGraphModel` runs it, and the model server serves it.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { writeSavedModel, type AttrMsg, type MetaGraphMsg, type NodeMsg } from '../../bench/fixtures/saved-model-writer.js';
import { isConverterError, writeGraphModel } from '../../converter/index.js';
import { DT } from '../../converter/tensor.js';
import { convert, cpuBackend, load, numTensors } from './helpers.js';

const work = mkdtempSync(join(tmpdir(), 'converter-tables-'));
after(() => rmSync(work, { recursive: true, force: true }));
before(cpuBackend);

const t = (type: number): AttrMsg => ({ type });
const n = (name: string, op: string, input: string[] = [], attr: Record<string, AttrMsg> = {}): NodeMsg => ({ name, op, input, attr });

/** TF1 `tf.lookup.StaticHashTable(KeyValueTensorInitializer(["a","b"], [0,1]), -1)` served as `input` → `output`. */
function tableModel(valueType: number, init: 'collection' | 'signature' | 'none'): MetaGraphMsg {
  const vals = valueType === DT.INT64 ? { int64Val: [0, 1] } : { intVal: [0, 1] };
  const dflt = valueType === DT.INT64 ? { int64Val: [-1] } : { intVal: [-1] };
  const nodes: NodeMsg[] = [
    n('input', 'Placeholder', [], { dtype: t(DT.STRING), shape: { shape: { dim: [-1] } } }),
    n('hash_table', 'HashTableV2', [], {
      container: { s: '' }, shared_name: { s: 'hash_table_0a1b' }, use_node_name_sharing: { b: false },
      key_dtype: t(DT.STRING), value_dtype: t(valueType),
    }),
    n('Const', 'Const', [], { dtype: t(DT.STRING), value: { tensor: { dtype: DT.STRING, shape: [2], stringVal: ['a', 'b'] } } }),
    n('Const_1', 'Const', [], { dtype: t(valueType), value: { tensor: { dtype: valueType, shape: [2], ...vals } } }),
    n('key_value_init/LookupTableImportV2', 'LookupTableImportV2', ['hash_table', 'Const', 'Const_1'], { Tin: t(DT.STRING), Tout: t(valueType) }),
    n('Const_2', 'Const', [], { dtype: t(valueType), value: { tensor: { dtype: valueType, shape: [], ...dflt } } }),
    n('None_Lookup/LookupTableFindV2', 'LookupTableFindV2', ['hash_table', 'input', 'Const_2'], { Tin: t(DT.STRING), Tout: t(valueType) }),
    n('output', 'Identity', ['None_Lookup/LookupTableFindV2'], { T: t(valueType) }),
    n('init_all_tables', 'NoOp', ['^key_value_init/LookupTableImportV2']),
    n('group_deps', 'NoOp', ['^init_all_tables']),
  ];
  const m: MetaGraphMsg = {
    tags: ['serve'],
    tensorflowVersion: '1.15.5',
    tensorflowGitVersion: 'synthetic (bench/fixtures/saved-model-writer.ts)',
    metaGraphVersion: '1.15.5',
    producer: 134,
    nodes: init === 'none' ? nodes.filter((x) => !x.name.startsWith('key_value_init') && x.op !== 'NoOp') : nodes,
    signatures: {
      serving_default: {
        inputs: { input: { name: 'input:0', dtype: DT.STRING, shape: { dim: [-1] } } },
        outputs: { output: { name: 'output:0', dtype: valueType, shape: { dim: [-1] } } },
        methodName: 'tensorflow/serving/predict',
      },
    },
  };
  if (init === 'collection') m.collections = { saved_model_main_op: ['group_deps'], table_initializer: ['key_value_init/LookupTableImportV2'] };
  if (init === 'signature') m.signatures.__saved_model_init_op = { inputs: {}, outputs: { __saved_model_init_op: { name: 'group_deps', dtype: 0 } }, methodName: '' };
  return m;
}

type JsonNode = { name: string; op: string; input?: string[] };

describe('hash tables (modelInitializer / initializerSignature)', () => {
  for (const [label, valueType, init] of [['int64, saved_model_main_op', DT.INT64, 'collection'], ['int32, __saved_model_init_op', DT.INT32, 'signature']] as const) {
    it(`converts a static table (${label}) and the stock tf.loadGraphModel looks keys up`, async () => {
      const dir = join(work, `table-${valueType}-${init}`);
      writeSavedModel(dir, [tableModel(valueType, init)]);
      const r = await convert(dir);
      const mj = r.modelJson;
      const sig = mj.signature as { inputs: Record<string, { name: string; dtype: string; resourceId?: number }> };
      assert.deepEqual(Object.keys(sig.inputs).sort(), ['hash_table:0', 'input']);
      assert.equal(sig.inputs['hash_table:0']!.dtype, 'DT_RESOURCE');
      const rid = sig.inputs['hash_table:0']!.resourceId;
      assert.equal(typeof rid, 'number');
      const main = mj.modelTopology.node as unknown as JsonNode[];
      assert.equal(main.find((x) => x.name === 'hash_table')!.op, 'Placeholder');
      assert.ok(!main.some((x) => x.op === 'LookupTableImportV2' || x.op === 'HashTableV2'));
      const initNodes = mj.modelInitializer!.node as unknown as JsonNode[];
      assert.deepEqual(initNodes.map((x) => x.op).sort(), ['Const', 'Const', 'HashTableV2', 'Identity', 'LookupTableImportV2']);
      const outs = (mj.initializerSignature as { outputs: Record<string, { name: string; dtype: string; resourceId: number }> }).outputs;
      assert.equal(Object.keys(outs).length, 1);
      const out = Object.values(outs)[0]!;
      assert.equal(out.dtype, 'DT_RESOURCE');
      assert.equal(out.resourceId, rid);
      const id = initNodes.find((x) => `${x.name}:0` === out.name)!;
      assert.deepEqual(id.input, ['hash_table', '^key_value_init/LookupTableImportV2']);
      // Keys and values are weights (shared weight map).
      assert.deepEqual(r.weightSpecs.map((w) => [w.name, w.dtype]).sort(), [['Const', 'string'], ['Const_1', 'int32'], ['Const_2', 'int32']]);

      const start = numTensors();
      const model = await load(r);
      for (let i = 0; i < 2; i++) {
        const x = tf.tensor1d(['a', 'b', 'c'], 'string');
        const y = (await model.executeAsync({ input: x })) as tf.Tensor;
        assert.deepEqual(Array.from(y.dataSync()), [0, 1, -1]);
        tf.dispose([x, y]);
      }
      model.dispose();
      assert.equal(numTensors(), start, 'tensors leaked');

      // Written to disk and loaded by URL-less file handler: the same fields survive.
      const outDir = join(dir, 'tfjs');
      writeGraphModel(r, outDir);
      const onDisk = JSON.parse(readFileSync(join(outDir, 'model.json'), 'utf8'));
      assert.deepEqual(onDisk.modelInitializer, JSON.parse(JSON.stringify(mj.modelInitializer)));
      assert.deepEqual(onDisk.initializerSignature, JSON.parse(JSON.stringify(mj.initializerSignature)));
    });
  }

  it('a table nothing fills is FAILED_PRECONDITION', async () => {
    const dir = join(work, 'table-uninitialized');
    writeSavedModel(dir, [tableModel(DT.INT64, 'none')]);
    await assert.rejects(convert(dir), (e: unknown) => isConverterError(e) && e.code === 'FAILED_PRECONDITION' && /nothing initializes it/.test(e.message));
  });

  // Last: the server switches TF.js to its own backend.
  it('the converted model is published and served end to end (requests give only the keys)', async () => {
    const { harness } = await import('../helpers/serving.js');
    const { publishGraphModel } = await import('../../src/repository/publish.js');
    const dir = join(work, 'table-served');
    writeSavedModel(dir, [tableModel(DT.INT64, 'collection')]);
    writeGraphModel(await convert(dir), join(dir, 'tfjs'));
    const h = await harness();
    try {
      await publishGraphModel(join(dir, 'tfjs'), join(h.repoDir, 'table'));
      const server = await h.start({ models: ['table'] });
      const meta = (await server.getModelMetadata('table')).metadata.signature_def.signature_def as Record<string, { inputs: object }>;
      assert.deepEqual(Object.keys(meta.serving_default!.inputs), ['input']);
      for (let i = 0; i < 2; i++) {
        const r = await server.predict({ model: 'table', inputs: { input: ['a', 'b', 'c'] } });
        assert.deepEqual([...(r.outputs.output!.data as Int32Array)], [0, 1, -1]);
      }
    } finally {
      await h.close();
    }
  });
});
