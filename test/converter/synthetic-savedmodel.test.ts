/**
 * Synthetic TF1 SavedModels written by bench/fixtures/saved-model-writer.ts (no TensorFlow here to export
 * one): a tiny MLP and the benchmark's ~5 MB MLP are written into a temp dir, converted, loaded with the
 * stock `tf.loadGraphModel` and run against a plain-JS forward pass of the same weights. This also
 * round-trips the writer against the converter's reader; the writer's table and bundle encodings are
 * checked byte for byte against checkpoints TensorFlow wrote (the real fixtures). No timing here: the
 * conversion time of the 5 MB model is measured in bench/converter-timing.ts.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { mlpForward, MLP_5MB_WIDTHS, prng, writeMlpSavedModel, type MlpSavedModel } from '../../bench/fixtures/mlp-savedmodel.js';
import { encodeBlock, encodeBundleEntry, encodeBundleHeader, encodeTable, encodeTensorBundle } from '../../bench/fixtures/saved-model-writer.js';
import { openTensorBundle } from '../../converter/bundle/tensor-bundle.js';
import { readSSTable } from '../../converter/bundle/sstable.js';
import { snappyDecompress } from '../../converter/bundle/snappy.js';
import { isConverterError, readSavedModel } from '../../converter/index.js';
import { decodeBundleEntry, decodeBundleHeader } from '../../converter/proto/messages.js';
import { DT } from '../../converter/tensor.js';
import { assertClose, convert, cpuBackend, fixture, load, numTensors } from './helpers.js';

const work = mkdtempSync(join(tmpdir(), 'converter-synthetic-'));
after(() => rmSync(work, { recursive: true, force: true }));
before(cpuBackend);

type TopologyNode = { name: string; op: string; input: string[]; attr?: { fused_ops?: { list?: { s?: string[] } } } };
const fusedOps = (n: TopologyNode): string[] => (n.attr?.fused_ops?.list?.s ?? []).map((s) => Buffer.from(s, 'base64').toString());

/** Converts `m`, checks the fused graph, runs it on `batch` deterministic rows and compares with plain JS. */
async function convertAndCompare(m: MlpSavedModel, batch: number): Promise<void> {
  const r = await convert(m.dir);
  const nodes = r.modelJson.modelTopology.node as unknown as TopologyNode[];
  const hidden = m.layers.filter((l) => l.relu).length;
  const fused = nodes.filter((n) => n.op === '_FusedMatMul');
  assert.equal(fused.length, m.layers.length, 'one _FusedMatMul per layer');
  assert.deepEqual(fused.filter((n) => fusedOps(n).join() === 'BiasAdd,Relu').map((n) => n.name), m.layers.filter((l) => l.relu).map((l) => `${l.name}/Relu`));
  assert.deepEqual(fused.filter((n) => fusedOps(n).join() === 'BiasAdd').map((n) => n.name), ['logits/BiasAdd']);
  assert.equal(hidden, m.layers.length - 1);
  const ops = new Set(nodes.map((n) => n.op));
  for (const gone of ['VariableV2', 'Assign', 'RestoreV2', 'SaveV2', 'RandomUniform', 'MatMul', 'BiasAdd', 'Relu', 'NoOp']) assert.ok(!ops.has(gone), `${gone} must not be in the converted graph`);
  assert.equal(r.weightData.byteLength, m.weightBytes, 'every float32 weight, unquantized');
  assert.equal(r.signatures[0]!.methodName, 'tensorflow/serving/predict');

  const rand = prng(7);
  const x = new Float32Array(batch * m.widths[0]!).map(() => rand() * 2 - 1);
  const expected = mlpForward(m.layers, x, batch);
  const start = numTensors();
  const model = await load(r);
  const input = tf.tensor2d(x, [batch, m.widths[0]!]);
  const y = model.execute({ 'x:0': input }) as tf.Tensor;
  assert.deepEqual(y.shape, [batch, m.widths.at(-1)!]);
  const actual = y.dataSync() as Float32Array;
  tf.dispose([input, y]);
  model.dispose();
  assert.equal(numTensors(), start, 'tensors leaked');
  assertClose(actual, expected, 1e-4, 'softmax');
  for (let b = 0; b < batch; b++) {
    const row = actual.subarray(b * m.widths.at(-1)!, (b + 1) * m.widths.at(-1)!);
    assert.ok(Math.abs(row.reduce((s: number, v: number) => s + v, 0) - 1) < 1e-5, 'rows are distributions');
  }
}

describe('synthetic TF1 MLP SavedModels (bench/fixtures)', () => {
  it('a tiny MLP round-trips through the reader and converts to the same function', async () => {
    const m = writeMlpSavedModel(join(work, 'tiny'), [8, 16, 12, 4], 1);
    const sm = readSavedModel(m.dir);
    assert.equal(sm.byteSize, m.bytes);
    const meta = sm.savedModel.metaGraphs[0]!;
    assert.deepEqual(meta.metaInfoDef?.tags, ['serve']);
    assert.equal(meta.metaInfoDef?.tensorflowVersion, '1.15.5');
    assert.equal(meta.graphDef?.versions?.producer, 134);
    assert.equal(meta.saverDef?.restoreOpName, 'save/restore_all');
    const sig = meta.signatureDef.serving_default!;
    assert.equal(sig.methodName, 'tensorflow/serving/predict');
    assert.deepEqual(sig.inputs.x, { name: 'x:0', dtype: DT.FLOAT, tensorShape: { dim: [{ size: -1 }, { size: 8 }] } });
    assert.equal(sig.outputs.y?.name, 'predictions/Softmax:0');
    const ph = meta.graphDef!.node.find((n) => n.name === 'x')!;
    assert.deepEqual(ph.attr.shape?.shape?.dim.map((d) => d.size), [-1, 8]);

    const bundle = openTensorBundle(join(m.dir, 'variables', 'variables'));
    assert.equal(bundle.header.numShards, 1);
    assert.deepEqual([...bundle.entries.keys()], ['dense/bias', 'dense/kernel', 'dense_1/bias', 'dense_1/kernel', 'logits/bias', 'logits/kernel']);
    for (const l of m.layers) {
      const k = bundle.read(`${l.name}/kernel`);
      assert.deepEqual(k.shape, [l.kernel.length / l.bias.length, l.bias.length]);
      assert.deepEqual(Array.from(k.values as Float32Array), Array.from(l.kernel));
      assert.deepEqual(Array.from(bundle.read(`${l.name}/bias`).values as Float32Array), Array.from(l.bias));
    }
    await convertAndCompare(m, 3);
  });

  it('the ~5 MB MLP (the benchmark model) converts to the same function', async () => {
    const m = writeMlpSavedModel(join(work, 'mlp5'), MLP_5MB_WIDTHS);
    assert.equal(m.weightBytes, 1_348_234 * 4);
    assert.ok(m.bytes > 5_000_000 && m.bytes < 5_600_000, `about 5 MB on disk, got ${m.bytes}`);
    await convertAndCompare(m, 4);
  });

  it('a corrupted tensor byte is DATA_LOSS (per-entry crc32c), a corrupted index byte too (block crc32c)', async () => {
    const m = writeMlpSavedModel(join(work, 'corrupt'), [4, 3, 2], 2);
    const data = join(m.dir, 'variables', 'variables.data-00000-of-00001');
    const bytes = readFileSync(data);
    bytes[5]! ^= 0x40;
    writeFileSync(data, bytes);
    await assert.rejects(convert(m.dir), (e: unknown) => isConverterError(e) && e.code === 'DATA_LOSS' && /checksum mismatch/.test(e.message));
    const index = join(m.dir, 'variables', 'variables.index');
    const ib = readFileSync(index);
    ib[3]! ^= 0x01;
    writeFileSync(index, ib);
    await assert.rejects(convert(m.dir), (e: unknown) => isConverterError(e) && e.code === 'DATA_LOSS' && /checksum mismatch in block/.test(e.message));
  });
});

// ------------------------------------------------ the writer's encodings against TensorFlow's own files
function varint(b: Uint8Array, pos: number): [number, number] {
  let v = 0;
  for (let mul = 1; ; mul *= 128) {
    const x = b[pos++]!;
    v += (x & 0x7f) * mul;
    if (x < 0x80) return [v, pos];
  }
}
/** A block's contents (decompressed) and its entries, parsed independently of converter/bundle/sstable.ts. */
function rawBlock(file: Uint8Array, offset: number, size: number): { contents: Uint8Array; entries: [Uint8Array, Uint8Array][] } {
  const stored = file.subarray(offset, offset + size);
  const contents = file[offset + size] === 1 ? snappyDecompress(stored) : stored;
  const dv = new DataView(contents.buffer, contents.byteOffset, contents.byteLength);
  const limit = contents.length - 4 - dv.getUint32(contents.length - 4, true) * 4;
  const entries: [Uint8Array, Uint8Array][] = [];
  let key = new Uint8Array(0);
  for (let p = 0; p < limit; ) {
    let shared, nonShared, valueLen;
    [shared, p] = varint(contents, p);
    [nonShared, p] = varint(contents, p);
    [valueLen, p] = varint(contents, p);
    key = Uint8Array.from([...key.subarray(0, shared), ...contents.subarray(p, p + nonShared)]);
    p += nonShared;
    entries.push([key, contents.subarray(p, p + valueLen)]);
    p += valueLen;
  }
  return { contents, entries };
}
function rawTable(file: Uint8Array): { index: [Uint8Array, Uint8Array][]; blocks: ReturnType<typeof rawBlock>[] } {
  const footer = file.subarray(file.length - 48);
  let p = 0;
  [, p] = varint(footer, p);
  [, p] = varint(footer, p);
  const [io, p2] = varint(footer, p);
  const [is] = varint(footer, p2);
  const index = rawBlock(file, io, is).entries;
  const blocks = index.map(([, h]) => {
    const [o, q] = varint(h, 0);
    return rawBlock(file, o, varint(h, q)[0]);
  });
  return { index, blocks };
}

describe('saved-model-writer encodings match what TensorFlow wrote', () => {
  const realIndexes = [
    fixture('realworld', 'mlcommons__tiny', 'kws_ref_model', 'variables', 'variables.index'), // TF2, 143 keys: restart points every 16
    fixture('realworld', 'tensorspace-team__tensorspace', 'tensorflow_model', 'variables', 'variables.index'), // TF1
    fixture('tfserving', 'saved_model_half_plus_two_cpu', '00000123', 'variables', 'variables.index'), // TF1
  ];
  for (const path of realIndexes) {
    it(`${path.split('savedmodels/')[1]}: data blocks, index keys, BundleHeader/EntryProto bytes`, () => {
      const file = new Uint8Array(readFileSync(path));
      const tf = rawTable(file);
      let entries = 0;
      for (const b of tf.blocks) {
        assert.deepEqual(encodeBlock(b.entries), b.contents, 'data block (prefix compression, restart points) byte for byte');
        for (const [k, v] of b.entries) {
          entries++;
          if (k.length === 0) {
            const h = decodeBundleHeader(v);
            assert.deepEqual(encodeBundleHeader(h.numShards ?? 1, h.version?.producer ?? 0), v, 'BundleHeaderProto');
            continue;
          }
          const e = decodeBundleEntry(v);
          assert.equal(e.slices.length, 0);
          const shape = (e.shape?.dim ?? []).map((d) => Number(d.size ?? 0));
          const re = encodeBundleEntry({ dtype: e.dtype ?? 0, shape, shardId: e.shardId ?? 0, offset: Number(e.offset ?? 0), size: Number(e.size ?? 0), crc32c: e.crc32c ?? 0 });
          assert.deepEqual(re, v, `BundleEntryProto of ${new TextDecoder().decode(k)}`);
        }
      }
      // The same entries through encodeTable: uncompressed, so the handles differ, but the index keys
      // (shortest separators / short successor) and every key/value must be TensorFlow's.
      const all = new Map(tf.blocks.flatMap((b) => b.entries.map(([k, v]) => [new TextDecoder().decode(k), v] as [string, Uint8Array])));
      assert.equal(all.size, entries);
      const mine = encodeTable(all);
      assert.deepEqual(rawTable(mine).index.map(([k]) => k), tf.index.map(([k]) => k));
      assert.deepEqual(readSSTable(mine), readSSTable(file));
    });
  }

  it('a table spanning many blocks (small block size) reads back; separator keys sort between the blocks', () => {
    const tensors = Array.from({ length: 300 }, (_, i) => ({ key: `layer_${String(i).padStart(3, '0')}/w`, dtype: DT.FLOAT, shape: [2], data: new Uint8Array(new Float32Array([i, -i]).buffer) }));
    const { index, data } = encodeTensorBundle(tensors, { blockSize: 512 });
    const t = rawTable(index);
    assert.ok(t.blocks.length > 10, `${t.blocks.length} data blocks`);
    const td = new TextDecoder();
    t.index.forEach(([sep], i) => {
      const lastOfBlock = td.decode(t.blocks[i]!.entries.at(-1)![0]);
      const firstOfNext = t.blocks[i + 1] ? td.decode(t.blocks[i + 1]!.entries[0]![0]) : undefined;
      assert.ok(td.decode(sep) >= lastOfBlock && (firstOfNext === undefined || td.decode(sep) < firstOfNext));
    });
    const table = readSSTable(index);
    assert.equal(table.size, 301);
    const dir = join(work, 'many');
    writeFileSync(`${dir}.index`, index);
    writeFileSync(`${dir}.data-00000-of-00001`, data);
    const bundle = openTensorBundle(dir);
    assert.deepEqual(Array.from(bundle.read('layer_123/w').values as Float32Array), [123, -123]);
  });
});
