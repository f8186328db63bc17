// The batching session and its scheduler against the deterministic device model (device-model.ts) on
// a fake clock: 64 closed-loop callers reach at least the items/s of hand-made batches of maxBatchSize
// awaited one by one, with p99 latency within two full batches; one caller waits for nothing. These
// test the scheduling logic in model time, not the speed of this machine.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BatchingSession } from '../../src/batching/batching-session.js';
import { normalizeBatchingParameters } from '../../src/batching/batching-parameters.js';
import type { BatchingParameters } from '../../src/batching/batching-parameters.js';
import type { ValidatedInput } from '../../src/runtime/input-validation.js';
import type { SignatureSpec } from '../../src/runtime/signature.js';
import { FakeClock } from './fake-clock.js';
import { ModelDevice, closedLoop, costsOf } from './device-model.js';
import type { DeviceCosts } from './device-model.js';

const SPEC = { key: 'x', name: 'x:0', tfDtype: 'DT_FLOAT', dtype: 'float32', shape: [-1, 1] } as const;
const SIGNATURE: SignatureSpec = { name: 'serving_default', methodName: 'tensorflow/serving/predict', inputs: [SPEC], outputs: [] };

/** The library's batching session whose runner is the model device; outputs echo the inputs (y = x + 1). */
function session(clock: FakeClock, device: ModelDevice, params: BatchingParameters): BatchingSession {
  return new BatchingSession({
    signature: SIGNATURE,
    graphShape: () => [-1, 1],
    parameters: normalizeBatchingParameters(params),
    clock,
    run: async (inputs) => {
      const x = inputs[0]!; // the signature has one input
      await device.run(x.shape[0]!); // dim 0 is the batch, checked by the session
      return { y: { dtype: 'float32', shape: [...x.shape], data: Float32Array.from(x.values as Float32Array, (v) => v + 1) } };
    },
  });
}

const one = (v: number): ValidatedInput[] => [{ spec: SPEC, dtype: 'float32', shape: [1, 1], values: new Float32Array([v]) }];

/** Hand-made batches of `rows`, awaited one by one, on a fresh device of the same costs. */
async function handMade(costs: DeviceCosts, rows: number, durationMs: number) {
  const clock = new FakeClock();
  const device = new ModelDevice(clock, costs);
  return closedLoop(clock, 1, durationMs, async () => {
    await device.run(rows);
    return rows;
  });
}

/** `callers` closed-loop callers of one row each through the library's batching session. */
async function library(costs: DeviceCosts, params: BatchingParameters, callers: number, durationMs: number) {
  const clock = new FakeClock();
  const device = new ModelDevice(clock, costs);
  const s = session(clock, device, params);
  let wrong = 0;
  let n = 0;
  const result = await closedLoop(clock, callers, durationMs, async (caller) => {
    const v = caller * 1000 + n++;
    const out = await s.run(one(v));
    if ((out.y!.data as Float32Array)[0] !== v + 1) wrong++; // its own row, not a batch-mate's
    return 1;
  });
  s.close();
  return { ...result, wrong, device };
}

const allowed = (max: number) => [1, 2, 4, 8, 16, 32, 64].filter((s) => s <= max);

for (const model of ['emotion', 'facemesh'] as const) {
  for (const maxBatchSize of [32, 64]) {
    test(`${model}, maxBatchSize ${maxBatchSize}, 64 callers: ≥ 1.0× hand-made batches of ${maxBatchSize}, p99 ≤ 2 full batches, ≤ numBatchThreads in flight`, async () => {
      for (const readbackShare of [0.2, 0.5, 0.8]) {
        const costs = costsOf(model, readbackShare);
        const full = costs.a + costs.b * maxBatchSize + costs.r;
        const durationMs = full * 100;
        const params = { maxBatchSize, batchTimeoutMicros: 1000, allowedBatchSizes: allowed(maxBatchSize), numBatchThreads: 2 };
        const hand = await handMade(costs, maxBatchSize, durationMs);
        const lib = await library(costs, params, 64, durationMs);
        const where = `r share ${readbackShare}: library ${lib.itemsPerSec.toFixed(0)} it/s p99 ${lib.p99Ms.toFixed(2)} ms, hand-made ${hand.itemsPerSec.toFixed(0)} it/s, full batch ${full.toFixed(2)} ms`;
        assert.equal(lib.wrong, 0, 'every caller got its own row');
        assert.ok(lib.itemsPerSec >= hand.itemsPerSec, `items/s below hand-made; ${where}`);
        assert.ok(lib.p99Ms <= 2 * full, `p99 over two full batches; ${where}`);
        assert.ok(lib.device.maxInFlight <= 2, `at most numBatchThreads (2) batches in flight, saw ${lib.device.maxInFlight}`);
      }
    });
  }
}

test('numBatchThreads 2 overlaps: with readback as long as compute, 64 callers at maxBatchSize 32 beat hand-made batches of 32', async () => {
  const costs = costsOf('emotion', 0.5);
  const durationMs = 300;
  const params = { maxBatchSize: 32, batchTimeoutMicros: 1000, numBatchThreads: 2 };
  const hand = await handMade(costs, 32, durationMs);
  const two = await library(costs, params, 64, durationMs);
  const oneThread = await library(costs, { ...params, numBatchThreads: 1 }, 64, durationMs);
  assert.equal(two.device.maxInFlight, 2);
  assert.equal(oneThread.device.maxInFlight, 1);
  assert.ok(two.itemsPerSec > 1.3 * hand.itemsPerSec, `2 threads: ${two.itemsPerSec.toFixed(0)} vs hand-made ${hand.itemsPerSec.toFixed(0)} it/s`);
  assert.ok(Math.abs(oneThread.itemsPerSec / hand.itemsPerSec - 1) < 0.05, `1 thread is hand-made batching: ${oneThread.itemsPerSec.toFixed(0)} vs ${hand.itemsPerSec.toFixed(0)} it/s`);
});

for (const batchTimeoutMicros of [1000, 50_000]) {
  test(`one caller, batchTimeoutMicros ${batchTimeoutMicros}: every request takes exactly one batch of 1 (no timeout added)`, async () => {
    const costs = costsOf('emotion', 0.5);
    const r = await library(costs, { maxBatchSize: 32, batchTimeoutMicros, allowedBatchSizes: allowed(32), numBatchThreads: 2 }, 1, 100);
    const single = costs.a + costs.b + costs.r;
    assert.ok(Math.abs(r.p50Ms - single) < 1e-9 && Math.abs(r.p99Ms - single) < 1e-9, `p50 ${r.p50Ms} p99 ${r.p99Ms} vs one batch of 1: ${single} ms`);
    assert.ok(r.device.batches.every((b) => b === 1));
  });
}
