/**
 * Converted-graph comparison (issue 12): node counts and execution time of the converter's optimized
 * graph against its plain one (`optimize: false`: inlined, frozen, pruned, nothing folded or fused),
 * same process, same TF.js backend (cpu), median of N `executeAsync()` calls (the two models interleaved) after
 * two warm-ups each, on the real
 * KWS SavedModel and on writer-made Keras Conv1D / LSTM layouts. The official converter's node count
 * and time ratio would be the reference, but none of these SavedModels has an official TF.js conversion
 * in the fixtures (and there is no Python/TF here to make one), so that column says so.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { convertSavedModel, loadGraphModelFromResult, type ConversionResult } from '../converter/index.js';
import { REPO_ROOT, log, median, table } from './common.js';
import { writeConv1dSavedModel } from './fixtures/conv1d-savedmodel.js';
import { writeLstmSavedModel } from './fixtures/keras-lstm-savedmodel.js';

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
}

/** One executor per model: runs it once on `input` and returns its (first) output. */
function runner(r: ConversionResult, input: tf.Tensor): { once: () => Promise<Float32Array>; dispose: () => void } {
  const model = loadGraphModelFromResult(r);
  const sig = r.signatures[0]!;
  const feeds = { [Object.values(sig.inputs)[0]!.name]: input };
  const outName = Object.values(sig.outputs)[0]!.name;
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

/** Median execute time of both models, runs interleaved (a, b, a, b…) after two warm-ups each. */
async function timeBoth(a: ConversionResult, b: ConversionResult, input: tf.Tensor, runs: number) {
  const ra = runner(a, input);
  const rb = runner(b, input);
  const outA = await ra.once();
  const outB = await rb.once();
  await ra.once();
  await rb.once();
  const ta: number[] = [];
  const tb: number[] = [];
  for (let i = 0; i < runs; i++) {
    for (const [r, t] of [[ra, ta], [rb, tb]] as const) {
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
  const cases: { name: string; dir: string; shape: number[] }[] = [
    { name: 'KWS DS-CNN (real, TF2)', dir: join(REPO_ROOT, 'test', 'fixtures', 'savedmodels', 'realworld', 'mlcommons__tiny', 'kws_ref_model'), shape: [8, 49, 10, 1] },
    { name: 'Keras Conv1D 256×16 → 32 (synthetic)', dir: conv.dir, shape: [8, 256, 16] },
    { name: 'Keras LSTM 20×8 → 16 (synthetic)', dir: lstm.dir, shape: [8, 20, 8] },
  ];
  const rows: GraphRow[] = [];
  for (const c of cases) {
    const opt = await convertSavedModel(c.dir);
    const plain = await convertSavedModel(c.dir, { optimize: false });
    const input = tf.randomUniform(c.shape, -1, 1, 'float32', 42);
    const t = await timeBoth(opt, plain, input, runs);
    input.dispose();
    let maxAbsDiff = 0;
    for (let i = 0; i < t.outA.length; i++) maxAbsDiff = Math.max(maxAbsDiff, Math.abs(t.outA[i]! - t.outB[i]!));
    rows.push({ name: c.name, nodes: opt.stats.nodes, plainNodes: plain.stats.nodes, officialNodes: null, ms: t.msA, plainMs: t.msB, ratio: t.msA / t.msB, maxAbsDiff });
    log(`graphs ${c.name}: ${opt.stats.nodes} vs ${plain.stats.nodes} nodes, ${t.msA.toFixed(2)} vs ${t.msB.toFixed(2)} ms`);
  }
  await rm(tmp, { recursive: true, force: true });
  return rows;
}

export function graphTable(rows: readonly GraphRow[]): string {
  return table(
    ['SavedModel', 'nodes', 'nodes, optimize off', 'official nodes', 'execute ms', 'ms, optimize off', 'time ratio', 'max |diff|'],
    rows.map((r) => [
      r.name, String(r.nodes), String(r.plainNodes), r.officialNodes === null ? 'n/a (no official conversion)' : String(r.officialNodes),
      r.ms.toFixed(2), r.plainMs.toFixed(2), `${r.ratio.toFixed(2)}×`, r.maxAbsDiff.toExponential(1),
    ]),
  );
}
