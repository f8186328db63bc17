/**
 * Converted-graph comparison (issue 12): node counts and execution time of the converter's optimized graph against
 * its plain one (`optimize: false`: inlined, frozen, pruned, nothing folded or fused) and, where the fixtures have
 * one, against the official converter's conversion; same process, same TF.js backend (cpu), median of N
 * `executeAsync()` calls (the two models interleaved) after two warm-ups each. Cases: a writer-made twin of the
 * official `dense/` conversion's Keras model (same weights; bench/fixtures/official-twins.ts), the real KWS
 * SavedModel and writer-made Keras Conv1D / LSTM layouts. The real SavedModels have no official conversion in the
 * fixtures (and there is no Python/TF here to make one): their official column reads n/a.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { convertSavedModel, loadGraphModelFromResult, type ConversionResult } from '../converter/index.js';
import { REPO_ROOT, log, median, table } from './common.js';
import { writeConv1dSavedModel } from './fixtures/conv1d-savedmodel.js';
import { writeLstmSavedModel } from './fixtures/keras-lstm-savedmodel.js';
import { writeDenseTwin } from './fixtures/official-twins.js';

export interface GraphRow {
  name: string;
  nodes: number;
  plainNodes: number;
  /** null: no official conversion of this SavedModel is available. */
  officialNodes: number | null;
  ms: number;
  plainMs: number;
  /** ms / plainMs (< 1: the optimized graph runs faster). */
  ratio: number;
  maxAbsDiff: number;
  /** Our execute time / the official conversion's (interleaved runs), when there is one. */
  officialRatio: number | null;
  officialMaxAbsDiff: number | null;
}

/** An official TF.js conversion in test/fixtures/graph-models, loaded from disk. */
async function officialModel(name: string, input: string, output: string): Promise<{ model: tf.GraphModel; nodes: number; input: string; output: string }> {
  const dir = join(REPO_ROOT, 'test', 'fixtures', 'graph-models', name);
  const json = JSON.parse(await readFile(join(dir, 'model.json'), 'utf8')) as { modelTopology: { node: unknown[] }; weightsManifest: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[] };
  const bufs = await Promise.all(json.weightsManifest.flatMap((g) => g.paths.map((p) => readFile(join(dir, p)))));
  const buf = Buffer.concat(bufs);
  const weightData = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
  const model = await tf.loadGraphModel(tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs: json.weightsManifest.flatMap((g) => g.weights), weightData }));
  return { model, nodes: json.modelTopology.node.length, input, output };
}

async function denseTwin(dir: string): Promise<string> {
  const w = new Float32Array((await readFile(join(REPO_ROOT, 'test', 'fixtures', 'graph-models', 'dense', 'group1-shard1of1.bin'))).buffer.slice(0));
  return writeDenseTwin(dir, w[0]!, w[1]!).dir;
}

type Runner = { once: () => Promise<Float32Array>; dispose: () => void };

/** One executor per model: runs it once on `input` and returns its (first) output. */
function runner(r: ConversionResult, input: tf.Tensor): Runner {
  const sig = r.signatures[0]!;
  return modelRunner(loadGraphModelFromResult(r), Object.values(sig.inputs)[0]!.name, Object.values(sig.outputs)[0]!.name, input);
}

function modelRunner(model: tf.GraphModel<tf.io.IOHandlerSync> | tf.GraphModel, inName: string, outName: string, input: tf.Tensor): Runner {
  const feeds = { [inName]: input };
  return {
    once: async () => {
      const y = (await model.executeAsync(feeds, outName)) as tf.Tensor;
      const v = (await y.data()) as Float32Array;
      y.dispose();
      return v;
    },
    dispose: () => model.dispose(),
  };
}

/** Median execute time of both models, runs interleaved (a b, b a, a b…) after two warm-ups each. */
async function timeBoth(ra: Runner, rb: Runner, runs: number) {
  const outA = await ra.once();
  const outB = await rb.once();
  await ra.once();
  await rb.once();
  const ta: number[] = [];
  const tb: number[] = [];
  for (let i = 0; i < runs; i++) {
    // Alternate which model goes first, so neither always runs right after the other.
    const order = i % 2 ? ([[rb, tb], [ra, ta]] as const) : ([[ra, ta], [rb, tb]] as const);
    for (const [r, t] of order) {
      const t0 = performance.now();
      await r.once();
      t.push(performance.now() - t0);
    }
  }
  ra.dispose();
  rb.dispose();
  return { msA: median(ta), msB: median(tb), outA, outB };
}

export async function runGraphComparison(runs: number): Promise<GraphRow[]> {
  await tf.setBackend('cpu');
  await tf.ready();
  tf.env().set('IS_TEST', true); // no executeAsync hints
  const tmp = await mkdtemp(join(tmpdir(), 'tfjs-serving-bench-graphs-'));
  const conv = writeConv1dSavedModel(join(tmp, 'conv1d'), 256, 16, 5, 32);
  const lstm = writeLstmSavedModel(join(tmp, 'lstm'), { timesteps: 20, features: 8, units: 16 });
  const cases: { name: string; dir: string; shape: number[]; official?: () => ReturnType<typeof officialModel> }[] = [
    {
      name: 'Keras Dense(1) (twin of official dense/)', dir: await denseTwin(join(tmp, 'dense')), shape: [64, 1],
      official: () => officialModel('dense', 'dense_dense1_input:0', 'Identity:0'),
    },
    { name: 'KWS DS-CNN (real, TF2)', dir: join(REPO_ROOT, 'test', 'fixtures', 'savedmodels', 'realworld', 'mlcommons__tiny', 'kws_ref_model'), shape: [8, 49, 10, 1] },
    { name: 'Keras Conv1D 256×16 → 32 (synthetic)', dir: conv.dir, shape: [8, 256, 16] },
    { name: 'Keras LSTM 20×8 → 16 (synthetic)', dir: lstm.dir, shape: [8, 20, 8] },
  ];
  const rows: GraphRow[] = [];
  for (const c of cases) {
    const opt = await convertSavedModel(c.dir);
    const plain = await convertSavedModel(c.dir, { optimize: false });
    const input = tf.randomUniform(c.shape, -1, 1, 'float32', 42);
    const t = await timeBoth(runner(opt, input), runner(plain, input), runs);
    let maxAbsDiff = 0;
    for (let i = 0; i < t.outA.length; i++) maxAbsDiff = Math.max(maxAbsDiff, Math.abs(t.outA[i]! - t.outB[i]!));
    const row: GraphRow = { name: c.name, nodes: opt.stats.nodes, plainNodes: plain.stats.nodes, officialNodes: null, ms: t.msA, plainMs: t.msB, ratio: t.msA / t.msB, maxAbsDiff, officialRatio: null, officialMaxAbsDiff: null };
    if (c.official) {
      const o = await c.official();
      const u = await timeBoth(runner(opt, input), modelRunner(o.model, o.input, o.output, input), runs);
      row.officialNodes = o.nodes;
      row.officialRatio = u.msA / u.msB;
      row.officialMaxAbsDiff = 0;
      for (let i = 0; i < u.outA.length; i++) row.officialMaxAbsDiff = Math.max(row.officialMaxAbsDiff, Math.abs(u.outA[i]! - u.outB[i]!));
      o.model.dispose();
    }
    input.dispose();
    rows.push(row);
    log(`graphs ${c.name}: ${opt.stats.nodes} vs ${plain.stats.nodes} nodes, ${t.msA.toFixed(2)} vs ${t.msB.toFixed(2)} ms`);
  }
  await rm(tmp, { recursive: true, force: true });
  return rows;
}

export function graphTable(rows: readonly GraphRow[]): string {
  return table(
    ['SavedModel', 'nodes', 'nodes, optimize off', 'official nodes', 'execute ms', 'ms, optimize off', 'ratio vs off', 'max |diff|', 'ratio vs official', 'max |diff| vs official'],
    rows.map((r) => [
      r.name, String(r.nodes), String(r.plainNodes), r.officialNodes === null ? 'n/a' : String(r.officialNodes),
      r.ms.toFixed(2), r.plainMs.toFixed(2), `${r.ratio.toFixed(2)}×`, r.maxAbsDiff.toExponential(1),
      r.officialRatio === null ? 'n/a' : `${r.officialRatio.toFixed(2)}×`, r.officialMaxAbsDiff === null ? 'n/a' : r.officialMaxAbsDiff.toExponential(1),
    ]),
  );
}
