/**
 * Issue 11's comparison: the library with batching on (per maxBatchSize) against hand-made batches of
 * maxBatchSize (B items as one tensor, awaited one by one) and against plain TF.js, as ratios measured in
 * the same run, and the goals table the benchmarks print.
 */
import type { ServingRow } from './common.js';
import { table } from './common.js';

export const handMadeVariant = (b: number): string => `hand-made batches of ${b}`;
export const batchedVariant = (prefix: string, b: number): string => `${prefix}, batching on, maxBatchSize ${b}`;

/** Batching parameters of "batching on" at `maxBatchSize`: 1 ms timeout, padded to powers of two, 2 batches in flight. */
export function batchingFor(maxBatchSize: number, numBatchThreads = 2) {
  const allowedBatchSizes: number[] = [];
  for (let s = 1; s < maxBatchSize; s *= 2) allowedBatchSizes.push(s);
  allowedBatchSizes.push(maxBatchSize);
  return { maxBatchSize, batchTimeoutMicros: 1000, allowedBatchSizes, maxEnqueuedBatches: 16, numBatchThreads };
}

const same = (a: ServingRow, b: ServingRow) => a.where === b.where && a.backend === b.backend && a.model === b.model;

/** Fills `throughputVsHandMade` and `p99VsFullBatch` of each batching-on row from the hand-made row of its maxBatchSize. */
export function addHandMadeRatios(rows: ServingRow[], prefix: string, sizes: readonly number[]): void {
  for (const b of sizes) {
    for (const r of rows.filter((x) => x.variant === batchedVariant(prefix, b))) {
      const hand = rows.find((x) => x.variant === handMadeVariant(b) && same(x, r));
      if (!hand) continue;
      r.throughputVsHandMade = r.cell.itemsPerSec / hand.cell.itemsPerSec;
      r.p99VsFullBatch = r.cell.p99Ms / hand.cell.p50Ms;
    }
  }
}

/** One line of the goals table: a model and maxBatchSize. */
export interface GoalRow {
  where: string;
  backend: string;
  model: string;
  maxBatchSize: number;
  /** Most callers measured (64 in the issue): items/s ÷ hand-made batches of maxBatchSize (goal ≥ 1.0). */
  manyCallers?: number;
  manyVsHandMade?: number;
  /** p99 ÷ one full batch (the hand-made row's p50) (goal ≤ 2). */
  manyP99VsFullBatch?: number;
  /** p50 ÷ plain TF.js's p50 at the same callers (WASM goal ≤ 0.6). */
  manyP50VsPlain?: number;
  /** Items/s ÷ plain TF.js's (WASM: no regression, ≥ 1.0). */
  manyVsPlain?: number;
  /** One caller: items/s ÷ plain (goal ≥ 0.95) and p50 − plain p50 in ms (goal ≤ 0.2). */
  oneVsPlain?: number;
  oneP50AddedMs?: number;
}

export function goalRows(rows: readonly ServingRow[], prefix: string, plainVariant: string, sizes: readonly number[]): GoalRow[] {
  const out: GoalRow[] = [];
  const keys = new Map<string, ServingRow>();
  for (const r of rows) keys.set(`${r.where}|${r.backend}|${r.model}`, r);
  for (const base of keys.values()) {
    for (const b of sizes) {
      const mine = rows.filter((x) => x.variant === batchedVariant(prefix, b) && same(x, base));
      if (mine.length === 0) continue;
      const plainAt = (c: number) => rows.find((x) => x.variant === plainVariant && same(x, base) && x.cell.concurrency === c);
      const most = mine.reduce((a, x) => (x.cell.concurrency > a.cell.concurrency ? x : a));
      const one = mine.find((x) => x.cell.concurrency === 1);
      const plainMost = plainAt(most.cell.concurrency);
      const plainOne = plainAt(1);
      out.push({
        where: base.where,
        backend: base.backend,
        model: base.model,
        maxBatchSize: b,
        manyCallers: most.cell.concurrency,
        ...(most.throughputVsHandMade !== undefined ? { manyVsHandMade: most.throughputVsHandMade, manyP99VsFullBatch: most.p99VsFullBatch } : {}),
        ...(plainMost ? { manyP50VsPlain: most.cell.p50Ms / plainMost.cell.p50Ms, manyVsPlain: most.cell.itemsPerSec / plainMost.cell.itemsPerSec } : {}),
        ...(one && plainOne ? { oneVsPlain: one.cell.itemsPerSec / plainOne.cell.itemsPerSec, oneP50AddedMs: one.cell.p50Ms - plainOne.cell.p50Ms } : {}),
      });
    }
  }
  return out;
}

const x = (n: number | undefined) => (n === undefined || !Number.isFinite(n) ? '—' : `${n.toFixed(2)}×`);
const ms = (n: number | undefined) => (n === undefined || !Number.isFinite(n) ? '—' : `${n >= 0 ? '+' : ''}${n.toFixed(2)}`);

export function goalsTable(goals: readonly GoalRow[]): string {
  return table(
    ['where', 'backend', 'model', 'maxBatchSize', 'callers', 'items/s ÷ hand-made (≥1.0)', 'p99 ÷ full batch (≤2)', 'items/s ÷ plain', 'p50 ÷ plain (wasm ≤0.6)', '1 caller items/s ÷ plain (≥0.95)', '1 caller p50 − plain ms (≤0.2)'],
    goals.map((g) => [g.where, g.backend, g.model, String(g.maxBatchSize), String(g.manyCallers ?? '—'), x(g.manyVsHandMade), x(g.manyP99VsFullBatch), x(g.manyVsPlain), x(g.manyP50VsPlain), x(g.oneVsPlain), ms(g.oneP50AddedMs)]),
  );
}
