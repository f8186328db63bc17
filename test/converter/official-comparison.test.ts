/**
 * Against the official converter: two official TF.js conversions in test/fixtures/graph-models (Keras `dense/` and
 * `structured_outputs/`) have no SavedModel here, so bench/fixtures/official-twins.ts writes SavedModels laid out as
 * TF 2.x exports those Keras models, with the official conversions' own weights. Our conversion must have no more
 * nodes than the official one, the same ops, the same names for the computing nodes, and outputs within 1e-5 of the
 * official model's on the same random inputs (both run with TF.js here).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { prng } from '../../bench/fixtures/mlp-savedmodel.js';
import { writeDenseTwin, writeStructuredOutputsTwin } from '../../bench/fixtures/official-twins.js';
import type { ConversionResult } from '../../converter/index.js';
import { assertClose, convert, cpuBackend, fixture, load, numTensors } from './helpers.js';

const work = mkdtempSync(join(tmpdir(), 'converter-official-'));
after(() => rmSync(work, { recursive: true, force: true }));
before(cpuBackend);

type JsonNode = { name: string; op: string; input?: string[] };
interface Official {
  json: { modelTopology: { node: JsonNode[] }; weightsManifest: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[] };
  weights: Float32Array;
  model: () => Promise<tf.GraphModel>;
}

function official(name: string): Official {
  const dir = join(fixture('..', 'graph-models'), name);
  const json = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8')) as Official['json'];
  const buf = Buffer.concat(json.weightsManifest.flatMap((g) => g.paths.map((p) => readFileSync(join(dir, p)))));
  const weightData = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
  return {
    json,
    weights: new Float32Array(weightData),
    model: () => tf.loadGraphModel(tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs: json.weightsManifest.flatMap((g) => g.weights), weightData })),
  };
}

const ops = (nodes: JsonNode[]) => nodes.map((n) => n.op).sort();
const computing = (nodes: JsonNode[]) => nodes.filter((n) => n.op !== 'Const' && n.op !== 'Placeholder').map((n) => n.name).sort();

async function outputsOf(model: tf.GraphModel, feeds: Record<string, Float32Array>, outputs: string[], batch: number): Promise<Float32Array[]> {
  const inputs = Object.fromEntries(Object.entries(feeds).map(([k, v]) => [k, tf.tensor2d(v, [batch, 1])]));
  const out = model.execute(inputs, outputs) as tf.Tensor | tf.Tensor[];
  const arr = Array.isArray(out) ? out : [out];
  const values = arr.map((t) => t.dataSync() as Float32Array);
  tf.dispose([...arr, ...Object.values(inputs)]);
  return values;
}

function compareStructure(ours: ConversionResult, theirs: Official): void {
  const nodes = ours.modelJson.modelTopology.node as unknown as JsonNode[];
  assert.ok(nodes.length <= theirs.json.modelTopology.node.length, `${nodes.length} nodes ≤ official ${theirs.json.modelTopology.node.length}`);
  assert.deepEqual(ops(nodes), ops(theirs.json.modelTopology.node));
  assert.deepEqual(computing(nodes), computing(theirs.json.modelTopology.node));
}

describe('conversions of TF2 Keras layouts vs the official converter (same weights)', () => {
  it('dense/: Dense(1) → _FusedMatMul, the same 5 nodes and names, outputs within 1e-5', async () => {
    const theirs = official('dense');
    const m = writeDenseTwin(join(work, 'dense'), theirs.weights[0]!, theirs.weights[1]!);
    const ours = await convert(m.dir);
    compareStructure(ours, theirs);
    const batch = 16;
    const rand = prng(9);
    const x = Float32Array.from({ length: batch }, () => rand() * 20 - 10);
    const start = numTensors();
    const a = await load(ours);
    const b = await theirs.model();
    const [y] = await outputsOf(a, { [ours.signatures[0]!.inputs.dense_dense1_input!.name]: x }, [ours.signatures[0]!.outputs.dense_Dense1!.name], batch);
    const [z] = await outputsOf(b, { 'dense_dense1_input:0': x }, ['Identity:0'], batch);
    assertClose(y!, z!, 1e-5, 'ours vs official');
    a.dispose();
    b.dispose();
    assert.equal(numTensors(), start);
  });

  it('structured_outputs/: concat + two MatMuls + Mul, the same 13 nodes and names, outputs a, b, c within 1e-5', async () => {
    const theirs = official('structured_outputs');
    // Weights in manifest order: concat axis (int32), a kernel [2, 1], b kernel [1, 1].
    const wa = theirs.weights.slice(1, 3);
    const wb = theirs.weights.slice(3, 4);
    const m = writeStructuredOutputsTwin(join(work, 'structured'), wa, wb);
    const ours = await convert(m.dir);
    compareStructure(ours, theirs);
    // The official Identity reading each layer's output.
    const officialOut = (layer: string) => theirs.json.modelTopology.node.find((n) => n.op === 'Identity' && n.input?.[0]?.includes(`/model/${layer}/`))!.name + ':0';
    const batch = 8;
    const rand = prng(4);
    const xs = [1, 2, 3].map(() => Float32Array.from({ length: batch }, () => rand() * 2 - 1));
    const sig = ours.signatures[0]!;
    const start = numTensors();
    const a = await load(ours);
    const b = await theirs.model();
    const y = await outputsOf(a, { [sig.inputs.input1!.name]: xs[0]!, [sig.inputs.input2!.name]: xs[1]!, [sig.inputs.input3!.name]: xs[2]! }, ['a', 'b', 'c'].map((k) => sig.outputs[k]!.name), batch);
    const z = await outputsOf(b, { 'input1:0': xs[0]!, 'input2:0': xs[1]!, 'input3:0': xs[2]! }, ['a', 'b', 'c'].map(officialOut), batch);
    ['a', 'b', 'c'].forEach((k, i) => assertClose(y[i]!, z[i]!, 1e-5, k));
    a.dispose();
    b.dispose();
    assert.equal(numTensors(), start);
  });
});
