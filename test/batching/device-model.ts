// A deterministic model of a GPU for the batching scheduler, on a fake clock: a batch of B rows keeps
// the device busy `a + b·B` ms (batches run one after another, in submission order), and its outputs
// reach the CPU `r` ms after its compute ends (the readback; the device may compute the next batch
// meanwhile). Calibrated from the H200 table of issue 11 (TF.js 4.22 webgpu through Dawn, Node):
//
//   hand-made batches, awaited one by one:   batch of 32      batch of 64
//   emotion  [-1,64,64,1]                    ≈ 11,750 it/s    ≈ 21,450 it/s   → 2.72 ms, 2.98 ms a batch
//   facemesh [-1,192,192,3]                  ≈ 1,425 it/s     ≈ 1,980 it/s    → 22.5 ms, 32.3 ms a batch
//
// so b = (t64 − t32) / 32 and a + r = t32 − 32·b. The table does not say how a + r divides between
// compute and readback; tests sweep the share of r.
import type { FakeClock } from './fake-clock.js';

/** Costs of the model device, ms. */
export interface DeviceCosts {
  /** Fixed cost of a batch on the device (dispatch, kernels' fixed work). */
  readonly a: number;
  /** Cost per row. */
  readonly b: number;
  /** Readback latency after the batch's compute ends. */
  readonly r: number;
}

/** The H200 calibration: `b` and `a + r` per model (ms). */
export const H200 = {
  emotion: { b: (2.98 - 2.72) / 32, fixed: 2.72 - (2.98 - 2.72) },
  facemesh: { b: (32.3 - 22.5) / 32, fixed: 22.5 - (32.3 - 22.5) },
} as const;

/** Costs for a model with `readbackShare` of its fixed time spent in readback. */
export function costsOf(model: keyof typeof H200, readbackShare: number): DeviceCosts {
  const m = H200[model];
  return { a: m.fixed * (1 - readbackShare), b: m.b, r: m.fixed * readbackShare };
}

/** The device: one queue of batches, readbacks overlapping later compute. */
export class ModelDevice {
  private busyUntil = 0;
  private inFlight = 0;
  /** Most batches submitted and not yet read back, at any time. */
  maxInFlight = 0;
  /** Rows of every batch run, in order. */
  readonly batches: number[] = [];

  constructor(
    private readonly clock: FakeClock,
    readonly costs: DeviceCosts,
  ) {}

  /** Time of one batch of `rows` on an idle device, readback included. */
  batchTime(rows: number): number {
    return this.costs.a + this.costs.b * rows + this.costs.r;
  }

  /** Submits a batch of `rows`; resolves when its outputs are on the CPU. */
  run(rows: number): Promise<void> {
    const now = this.clock.now();
    const start = Math.max(now, this.busyUntil);
    this.busyUntil = start + this.costs.a + this.costs.b * rows;
    this.batches.push(rows);
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    return new Promise<void>((resolve) => {
      this.clock.setTimeout(() => {
        this.inFlight--;
        resolve();
      }, this.busyUntil + this.costs.r - now);
    });
  }
}

/** Closed-loop results on the model clock. */
export interface LoopResult {
  /** Items completed by `durationMs`, per second of model time. */
  readonly itemsPerSec: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
}

/**
 * Runs `callers` closed-loop callers of `call` (each returning the rows it completed) on the fake clock
 * for `durationMs` of model time, then lets what is in flight finish.
 */
export async function closedLoop(clock: FakeClock, callers: number, durationMs: number, call: (caller: number) => Promise<number>): Promise<LoopResult> {
  const t0 = clock.now();
  const end = t0 + durationMs;
  const latencies: number[] = [];
  let items = 0;
  const loop = async (caller: number) => {
    while (clock.now() < end) {
      const start = clock.now();
      const rows = await call(caller);
      if (clock.now() <= end) items += rows;
      latencies.push(clock.now() - start);
    }
  };
  const all = Promise.all(Array.from({ length: callers }, (_, i) => loop(i)));
  await clock.advance(durationMs * 2);
  await all;
  latencies.sort((x, y) => x - y);
  const q = (p: number) => latencies[Math.min(latencies.length - 1, Math.ceil(p * latencies.length) - 1)] ?? NaN;
  return { itemsPerSec: (items / durationMs) * 1000, p50Ms: q(0.5), p99Ms: q(0.99) };
}
