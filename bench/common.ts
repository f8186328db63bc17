/** Shared pieces of the benchmarks: the models, cell results, statistics and the text table. */
import { cp, mkdir, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export { drive, percentile, median } from './measure.js';
export type { CellOptions, CellResult } from './measure.js';
import type { CellResult } from './measure.js';

export const BENCH_DIR = dirname(fileURLToPath(import.meta.url));
export const REPO_ROOT = resolve(BENCH_DIR, '..');

/** A batchable real model shipped in `@vladmandic/human` (see shared/docs/real-models.md). */
export interface BenchModel {
  /** Name in the repository and in requests. */
  readonly name: 'emotion' | 'facemesh';
  /** The input's key in the model's signature (what a library request names). */
  readonly inputKey: string;
  /** One item: batch dimension 1, then the model's own dimensions. */
  readonly shape: number[];
  /** The model's JSON file and weight file in the package. */
  readonly files: readonly string[];
}

export const MODELS: Record<BenchModel['name'], BenchModel> = {
  emotion: { name: 'emotion', inputKey: 'input_1:0', shape: [1, 64, 64, 1], files: ['emotion.json', 'emotion.bin'] },
  facemesh: { name: 'facemesh', inputKey: 'input_1', shape: [1, 192, 192, 3], files: ['facemesh.json', 'facemesh.bin'] },
};

export const HUMAN_MODELS_DIR = join(REPO_ROOT, 'node_modules', '@vladmandic', 'human', 'models');

/**
 * Lays the models out as TF Serving's file-system base paths, `<dir>/<name>/1/model.json` + weights, which
 * Node's ModelServer serves from a local directory and plain `tf.loadGraphModel` reads as model.json.
 * `from` holds `<name>.json` and `<name>.bin` (the package's models dir, or the carry's copy).
 */
export async function layOutModels(models: readonly BenchModel[], from = HUMAN_MODELS_DIR, into?: string): Promise<string> {
  const root = into ?? (await mkdtemp(join(tmpdir(), 'tfjs-serving-bench-models-')));
  for (const m of models) {
    const dir = join(root, m.name, '1');
    await mkdir(dir, { recursive: true });
    await cp(join(from, `${m.name}.json`), join(dir, 'model.json'));
    await cp(join(from, `${m.name}.bin`), join(dir, `${m.name}.bin`));
  }
  return root;
}

/** A row of the serving table. */
export interface ServingRow {
  where: string;
  backend: string;
  /** e.g. "webgpu (SwiftShader, CPU emulation)". */
  backendLabel: string;
  model: string;
  /** plain TF.js, library batching on / off, … */
  variant: string;
  cell: CellResult;
  /** items/s of this row ÷ items/s of plain TF.js at the same concurrency, in the same run. */
  throughputVsPlain?: number;
  /** p50 of this row ÷ p50 of plain TF.js at the same concurrency. */
  p50VsPlain?: number;
  /** Batching on: items/s ÷ hand-made batches of its maxBatchSize, in the same run. */
  throughputVsHandMade?: number;
  /** Batching on: p99 ÷ the time of one full batch (the hand-made row's p50). */
  p99VsFullBatch?: number;
}

export interface OverheadRow {
  where: string;
  backendLabel: string;
  model: string;
  /** What is compared with plain execute: "library, worker" or "library, worker: false". */
  variant: string;
  p50Ms: number;
  plainP50Ms: number;
  meanMs: number;
  plainMeanMs: number;
  /** p50 ÷ plain p50. */
  ratio: number;
  /** p50 − plain p50, ms. */
  diffMs: number;
}

/** Fills in the ratios of each row against the plain TF.js row with the same where/backend/model/concurrency. */
export function addRatios(rows: ServingRow[], plainVariant: string): void {
  for (const r of rows) {
    const base = rows.find(
      (p) => p.variant === plainVariant && p.where === r.where && p.backend === r.backend && p.model === r.model && p.cell.concurrency === r.cell.concurrency,
    );
    if (!base) continue;
    r.throughputVsPlain = r.cell.itemsPerSec / base.cell.itemsPerSec;
    r.p50VsPlain = r.cell.p50Ms / base.cell.p50Ms;
  }
}

/** Worker/library round trip at batch 1 and one caller, against plain execute. */
export function overheadRows(rows: readonly ServingRow[], plainVariant: string, variants: readonly string[]): OverheadRow[] {
  const out: OverheadRow[] = [];
  for (const r of rows) {
    if (r.cell.concurrency !== 1 || !variants.includes(r.variant)) continue;
    const base = rows.find((p) => p.variant === plainVariant && p.where === r.where && p.backend === r.backend && p.model === r.model && p.cell.concurrency === 1);
    if (!base) continue;
    out.push({
      where: r.where,
      backendLabel: r.backendLabel,
      model: r.model,
      variant: r.variant,
      p50Ms: r.cell.p50Ms,
      plainP50Ms: base.cell.p50Ms,
      meanMs: r.cell.meanMs,
      plainMeanMs: base.cell.meanMs,
      ratio: r.cell.p50Ms / base.cell.p50Ms,
      diffMs: r.cell.p50Ms - base.cell.p50Ms,
    });
  }
  return out;
}

const f = (n: number | undefined, digits = 1) => (n === undefined || !Number.isFinite(n) ? '—' : n.toFixed(digits));

export function servingTable(rows: readonly ServingRow[]): string {
  return table(
    ['where', 'backend', 'model', 'variant', 'callers', 'items/s', 'p50 ms', 'p99 ms', 'vs plain items/s', 'vs plain p50', 'vs hand-made items/s', 'mean batch', 'phases µs (queue/concat/exec/read/split)'],
    rows.map((r) => [
      r.where,
      r.backendLabel,
      r.model,
      r.variant,
      String(r.cell.concurrency),
      f(r.cell.itemsPerSec),
      f(r.cell.p50Ms, 2),
      f(r.cell.p99Ms, 2),
      r.throughputVsPlain === undefined ? '—' : `${f(r.throughputVsPlain, 2)}×`,
      r.p50VsPlain === undefined ? '—' : `${f(r.p50VsPlain, 2)}×`,
      r.throughputVsHandMade === undefined ? '—' : `${f(r.throughputVsHandMade, 2)}×`,
      r.cell.meanBatchSize === undefined ? '—' : `${f(r.cell.meanBatchSize)} (→${f(r.cell.meanProcessedBatchSize)})`,
      phases(r.cell.phaseMeanMicros),
    ]),
  );
}

function phases(p: Record<string, number> | undefined): string {
  if (!p) return '—';
  return ['queueWait', 'concat', 'execute', 'readback', 'split'].map((k) => f(p[k], 0)).join('/');
}

export function overheadTable(rows: readonly OverheadRow[]): string {
  return table(
    ['where', 'backend', 'model', 'variant (batch 1, 1 caller)', 'p50 ms', 'plain p50 ms', 'ratio', '+ms (p50)', 'mean ms', 'plain mean ms'],
    rows.map((r) => [r.where, r.backendLabel, r.model, r.variant, f(r.p50Ms, 2), f(r.plainP50Ms, 2), `${f(r.ratio, 2)}×`, f(r.diffMs, 2), f(r.meanMs, 2), f(r.plainMeanMs, 2)]),
  );
}

/** A Markdown-compatible pipe table (readable as plain text too). */
export function table(head: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(head), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n');
}

export const log = (msg: string): void => {
  process.stderr.write(`[bench] ${msg}\n`);
};
