/**
 * Converter timing (issue 4): `convertSavedModel` on the real-world SavedModels in
 * test/fixtures/savedmodels/realworld and on a synthetic ~5 MB TF1 SavedModel generated into a temp dir
 * (bench/fixtures/mlp-savedmodel.ts), in memory (no files written), median of N after one warm-up.
 */
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { convertSavedModel } from '../converter/index.js';
import type { ConvertOptions } from '../converter/index.js';
import { REPO_ROOT, log, median, table } from './common.js';
import { MLP_5MB_WIDTHS, writeMlpSavedModel } from './fixtures/mlp-savedmodel.js';

const REALWORLD = join(REPO_ROOT, 'test', 'fixtures', 'savedmodels', 'realworld');

export interface ConverterCase {
  name: string;
  dir: string;
  options?: ConvertOptions;
}

export const CONVERTER_CASES: readonly ConverterCase[] = [
  { name: 'KWS DS-CNN (MLPerf Tiny, TF2)', dir: join(REALWORLD, 'mlcommons__tiny', 'kws_ref_model') },
  { name: 'KWS DS-CNN, --quantize float16', dir: join(REALWORLD, 'mlcommons__tiny', 'kws_ref_model'), options: { quantization: { float16: true } } },
  { name: 'LeNet (tensorspace, TF1 + training graph)', dir: join(REALWORLD, 'tensorspace-team__tensorspace', 'tensorflow_model') },
];

export interface ConverterRow {
  name: string;
  savedModelBytes: number;
  outputWeightBytes: number;
  nodes: number;
  runs: number;
  medianMs: number;
  minMs: number;
  maxMs: number;
  /** Weight bytes written per second of median conversion time, in MB/s (10^6 bytes). */
  weightMBps: number;
}

async function dirBytes(dir: string): Promise<number> {
  let total = 0;
  for (const e of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (e.isFile()) total += (await stat(join(e.parentPath, e.name))).size;
  }
  return total;
}

export async function runConverterTiming(runs: number): Promise<{ rows: ConverterRow[]; notes: string[] }> {
  // The converter folds constants with TF.js; the tests run it on the cpu backend, so does this.
  await tf.setBackend('cpu');
  await tf.ready();
  tf.env().set('IS_TEST', true); // no "use tfjs-node" banner
  const rows: ConverterRow[] = [];
  const notes: string[] = [];
  // No real SavedModel of about 5 MB is available offline (no TF/Python to export one): generate a TF1-style
  // MLP with 5.39 MB of float32 weights (VariableV2 + Identity reads, initializers, saver) at bench time.
  const tmp = await mkdtemp(join(tmpdir(), 'tfjs-serving-bench-mlp-'));
  const mlp = writeMlpSavedModel(join(tmp, 'mlp'), MLP_5MB_WIDTHS);
  notes.push(
    `synthetic MLP ${MLP_5MB_WIDTHS.join('→')}: written by bench/fixtures/saved-model-writer.ts (uncompressed index blocks), ` +
      `${mlp.weightBytes} bytes of float32 weights, ${mlp.bytes} bytes on disk; 4 × MatMul+BiasAdd+Relu and MatMul+BiasAdd → Softmax, fused to 5 _FusedMatMul.`,
  );
  const cases: ConverterCase[] = [...CONVERTER_CASES, { name: 'synthetic TF1 MLP, 5.4 MB float32 weights', dir: mlp.dir }];
  for (const c of cases) {
    try {
      const first = await convertSavedModel(c.dir, c.options); // warm-up: JIT, op registry, module init
      const times: number[] = [];
      for (let i = 0; i < runs; i++) {
        const t0 = performance.now();
        await convertSavedModel(c.dir, c.options);
        times.push(performance.now() - t0);
      }
      const row: ConverterRow = {
        name: c.name,
        savedModelBytes: await dirBytes(c.dir),
        outputWeightBytes: first.weightData.byteLength,
        nodes: first.stats.nodes,
        runs,
        medianMs: median(times),
        minMs: Math.min(...times),
        maxMs: Math.max(...times),
        weightMBps: first.weightData.byteLength / 1e6 / (median(times) / 1000),
      };
      rows.push(row);
      log(`convert ${c.name}: median ${row.medianMs.toFixed(1)} ms over ${runs}`);
    } catch (e) {
      notes.push(`${c.name} skipped: ${(e as Error).message.split('\n')[0]}`);
    }
  }
  await rm(tmp, { recursive: true, force: true });
  return { rows, notes };
}

export function converterTable(rows: readonly ConverterRow[]): string {
  const kb = (n: number) => `${(n / 1024).toFixed(0)} KiB`;
  return table(
    ['SavedModel', 'size', 'graph-model weights', 'nodes', 'runs', 'median ms', 'min ms', 'max ms', 'weights MB/s'],
    rows.map((r) => [
      r.name, kb(r.savedModelBytes), kb(r.outputWeightBytes), String(r.nodes), String(r.runs),
      r.medianMs.toFixed(1), r.minMs.toFixed(1), r.maxMs.toFixed(1), r.weightMBps.toFixed(1),
    ]),
  );
}
