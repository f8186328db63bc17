/**
 * Measuring, shared by every benchmark and by the page side (no Node imports here): closed-loop callers,
 * percentiles, the deterministic input, and output comparison.
 */

export interface CellOptions {
  concurrency: number;
  warmupMs: number;
  durationMs: number;
  /** Items each call completes (a hand-made batch of B: B). Default 1. */
  itemsPerCall?: number;
}

/**
 * Awaited before each call, inside the timed part. In Node a loop of awaited predictions on wasm/cpu
 * resolves on microtasks alone and starves timers and I/O; Node callers pass a setImmediate yield.
 */
export type Yield = () => Promise<void>;

/** One measured cell: closed-loop callers for a fixed duration after a warm-up. */
export interface CellResult {
  concurrency: number;
  items: number;
  elapsedMs: number;
  itemsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  meanMs: number;
  /** Batching on: batches run in the measured window and their mean rows before/after padding. */
  batches?: number;
  meanBatchSize?: number;
  meanProcessedBatchSize?: number;
  /** Batching on: mean µs of `queueWait` (per request) and of each batch phase (concat, execute, readback, split). */
  phaseMeanMicros?: Record<string, number>;
}

/** Runs `call` from `concurrency` closed-loop callers: a warm-up phase, then a measured one. */
export async function drive(call: () => Promise<void>, o: CellOptions, pause?: Yield): Promise<CellResult> {
  const phase = async (ms: number, record: number[] | undefined) => {
    const t0 = performance.now();
    const deadline = t0 + ms;
    let last = t0;
    const caller = async () => {
      while (performance.now() < deadline) {
        // The yield is timed: a caller that wants its next prediction now and gets the CPU only after
        // the others' synchronous work (plain execute on wasm/cpu) has waited for it.
        const start = performance.now();
        if (pause) await pause();
        await call();
        const end = performance.now();
        record?.push(end - start);
        last = Math.max(last, end);
      }
    };
    await Promise.all(Array.from({ length: o.concurrency }, caller));
    return last - t0;
  };
  await phase(o.warmupMs, undefined);
  const latencies: number[] = [];
  const elapsedMs = await phase(o.durationMs, latencies);
  return cellOf(o.concurrency, latencies, elapsedMs, o.itemsPerCall);
}

/** A cell from its calls' latencies (ms) over `elapsedMs`. */
export function cellOf(concurrency: number, latencies: number[], elapsedMs: number, itemsPerCall = 1): CellResult {
  latencies.sort((a, b) => a - b);
  const items = latencies.length * itemsPerCall;
  return {
    concurrency,
    items,
    elapsedMs,
    itemsPerSec: (items / elapsedMs) * 1000,
    p50Ms: percentile(latencies, 0.5),
    p99Ms: percentile(latencies, 0.99),
    meanMs: latencies.reduce((a, b) => a + b, 0) / Math.max(1, latencies.length),
  };
}

export function percentile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i]!;
}

export function median(values: readonly number[]): number {
  return percentile([...values].sort((a, b) => a - b), 0.5);
}

/** Deterministic pseudo-random values in [0, 1), so every run and every variant feeds the same input. */
export function randomInput(shape: readonly number[]): Float32Array {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  let s = 12345;
  for (let i = 0; i < n; i++) {
    s = (s * 1103515245 + 12345) & 0x7fffffff;
    data[i] = s / 0x80000000;
  }
  return data;
}

/** Largest absolute difference between two sets of outputs, matched by length (output order differs). */
export function maxAbsDiff(a: number[][], b: number[][]): number {
  const byLen = (x: number[][]) => [...x].sort((p, q) => p.length - q.length);
  const [sa, sb] = [byLen(a), byLen(b)];
  if (sa.length !== sb.length) return Infinity;
  let max = 0;
  sa.forEach((row, i) => {
    const other = sb[i]!;
    if (other.length !== row.length) max = Infinity;
    else row.forEach((v, j) => (max = Math.max(max, Math.abs(v - other[j]!))));
  });
  return max;
}
