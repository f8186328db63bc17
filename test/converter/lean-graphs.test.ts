/**
 * Leaner graphs: Keras Conv1D fused to `_FusedConv2D` (bias + activation) between its ExpandDims and
 * Squeeze, no-op Transposes dropped, TensorFlow-internal attrs (`_output_shapes`…) not written, and
 * TF2 names with one `StatefulPartitionedCall/` prefix as the official converter writes them (outputs
 * `Identity`, `Identity_1`…). Checked on a SavedModel written by bench/fixtures/saved-model-writer.ts
 * against a plain-JS Conv1D and against the unfused conversion, and on the real KWS SavedModel.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { conv1dForward, writeConv1dSavedModel } from '../../bench/fixtures/conv1d-savedmodel.js';
import { prng } from '../../bench/fixtures/mlp-savedmodel.js';
import type { ConversionResult } from '../../converter/index.js';
import { assertClose, convert, cpuBackend, fixture, load, numTensors } from './helpers.js';

const work = mkdtempSync(join(tmpdir(), 'converter-lean-'));
after(() => rmSync(work, { recursive: true, force: true }));
before(cpuBackend);

type JsonNode = { name: string; op: string; input?: string[]; attr?: Record<string, { list?: { s?: string[] } }> };
const nodesOf = (r: ConversionResult) => r.modelJson.modelTopology.node as unknown as JsonNode[];
const fusedOps = (n: JsonNode) => (n.attr?.fused_ops?.list?.s ?? []).map((s) => Buffer.from(s, 'base64').toString());

function attrNames(json: unknown): string[] {
  const names = new Set<string>();
  const visit = (v: unknown) => {
    if (Array.isArray(v)) v.forEach(visit);
    else if (v && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) {
        if (k === 'attr' && x && typeof x === 'object') for (const a of Object.keys(x)) names.add(a);
        visit(x);
      }
    }
  };
  visit(json);
  return [...names];
}

async function runOn(r: ConversionResult, x: Float32Array, shape: number[]): Promise<Float32Array> {
  const model = await load(r);
  const sig = r.signatures[0]!;
  const input = tf.tensor(x, shape);
  const y = model.execute({ [sig.inputs[Object.keys(sig.inputs)[0]!]!.name]: input }, Object.values(sig.outputs)[0]!.name) as tf.Tensor;
  const out = y.dataSync() as Float32Array;
  tf.dispose([input, y]);
  model.dispose();
  return out;
}

describe('leaner graphs', () => {
  it('Keras Conv1D: ExpandDims → _FusedConv2D(BiasAdd, Relu) → Squeeze; no-op Transpose dropped; matches plain JS and the unfused graph', async () => {
    const m = writeConv1dSavedModel(join(work, 'conv1d'));
    const fused = await convert(m.dir);
    const plain = await convert(m.dir, { fuse: false });
    const ops = nodesOf(fused).filter((n) => n.op !== 'Const').map((n) => n.op).sort();
    assert.deepEqual(ops, ['ExpandDims', 'Identity', 'Placeholder', 'Squeeze', '_FusedConv2D']);
    const conv = nodesOf(fused).find((n) => n.op === '_FusedConv2D')!;
    assert.equal(conv.name, 'StatefulPartitionedCall/conv1d/Conv1D');
    assert.deepEqual(fusedOps(conv), ['BiasAdd', 'Relu']);
    const squeeze = nodesOf(fused).find((n) => n.op === 'Squeeze')!;
    assert.deepEqual(squeeze.input, [conv.name]);
    assert.ok(!nodesOf(plain).some((n) => n.op === 'Transpose'), 'the no-op transpose is gone even without fusion');
    assert.ok(fused.stats.nodes < plain.stats.nodes, `${fused.stats.nodes} < ${plain.stats.nodes}`);

    const batch = 2;
    const rand = prng(3);
    const x = Float32Array.from({ length: batch * m.width * m.inChannels }, () => rand() * 2 - 1);
    const start = numTensors();
    const a = await runOn(fused, x, [batch, m.width, m.inChannels]);
    const b = await runOn(plain, x, [batch, m.width, m.inChannels]);
    assert.equal(numTensors(), start, 'no tensor leaks');
    const expected = conv1dForward(m, x, batch);
    assert.ok(expected.some((v) => v === 0) && expected.some((v) => v > 0), 'the Relu matters for this input');
    assertClose(a, expected, 1e-5, 'fused');
    assertClose(a, b, 1e-5, 'fused vs unfused');
  });

  it('TF2 names: one StatefulPartitionedCall/ prefix, outputs Identity; no TensorFlow-internal attrs in model.json', async () => {
    const m = writeConv1dSavedModel(join(work, 'conv1d-names'));
    for (const r of [await convert(m.dir), await convert(fixture('realworld', 'mlcommons__tiny', 'kws_ref_model'))]) {
      const names = nodesOf(r).map((n) => n.name);
      assert.ok(!names.some((n) => n.startsWith('StatefulPartitionedCall/StatefulPartitionedCall/')), names.join(' '));
      assert.ok(names.some((n) => n.startsWith('StatefulPartitionedCall/')));
      assert.deepEqual(Object.values(r.signatures[0]!.outputs).map((o) => o.name), ['Identity:0']);
      const internal = attrNames(r.modelJson).filter((a) => a.startsWith('_'));
      assert.deepEqual(internal, []);
    }
  });
});
