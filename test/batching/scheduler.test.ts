// The batch scheduler's pure logic on a fake clock: timeouts, full batches, the queue bound, keys,
// large batch splitting, threads; and the parameters' validation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { normalizeBatchingParameters, paddedBatchSize } from '../../src/batching/batching-parameters.js';
import { ServingError } from '../../src/index.js';
import { flush } from './fake-clock.js';
import { recorder } from './recorder.js';

function code(fn: () => void): string {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof ServingError);
    return `${e.code}: ${e.message}`;
  }
  return 'OK';
}

test('timeout 0: tasks scheduled together form one batch; later ones wait for the busy thread and batch together', async () => {
  const r = recorder({ maxBatchSize: 8 });
  for (const t of ['a', 'b', 'c']) r.scheduler.schedule(t, 1);
  await flush();
  assert.deepEqual(r.batches, [['a', 'b', 'c']]);
  r.scheduler.schedule('d', 2);
  r.scheduler.schedule('e', 1);
  await flush();
  assert.equal(r.batches.length, 1, 'the only thread is busy');
  await r.finishAll();
  assert.deepEqual(r.batches, [['a', 'b', 'c'], ['d', 'e']]);
});

test('a full batch runs at once; an under-full one waits batchTimeoutMicros from its oldest task', async () => {
  const r = recorder({ maxBatchSize: 3, batchTimeoutMicros: 10_000 });
  r.scheduler.schedule('a', 2);
  r.scheduler.schedule('b', 1); // full: 3
  r.scheduler.schedule('c', 1);
  await flush();
  assert.deepEqual(r.batches, [['a', 'b']]);
  await r.finishAll();
  await r.clock.advance(5);
  r.scheduler.schedule('d', 1);
  await r.clock.advance(4.9);
  assert.equal(r.batches.length, 1, 'c has waited 9.9 ms');
  await r.clock.advance(0.1);
  assert.deepEqual(r.batches, [['a', 'b'], ['c', 'd']], 'after 10 ms c runs with d, which joined it');
  await r.finishAll();
  assert.equal(r.clock.pending, 0, 'no timer left');
});

test('a task that does not fit closes the open batch and opens another', async () => {
  const r = recorder({ maxBatchSize: 4, batchTimeoutMicros: 1e9 });
  r.scheduler.schedule('a', 3);
  r.scheduler.schedule('b', 2);
  r.scheduler.schedule('c', 2);
  await flush();
  assert.deepEqual(r.batches, [['a']]);
  await r.finishAll();
  assert.deepEqual(r.batches, [['a'], ['b', 'c']]);
});

test('queue full → UNAVAILABLE at once, with TF Serving\'s message; nothing enqueued', async () => {
  const r = recorder({ maxBatchSize: 2, maxEnqueuedBatches: 2, batchTimeoutMicros: 1e9 });
  r.scheduler.schedule('a', 2);
  r.scheduler.schedule('b', 2);
  assert.match(code(() => r.scheduler.schedule('c', 1)), /^UNAVAILABLE: The batch scheduling queue to which this task was submitted is full/);
  assert.equal(r.scheduler.numEnqueuedBatches, 2);
  await flush();
  assert.equal(r.scheduler.numEnqueuedBatches, 1, 'one batch started');
  r.scheduler.schedule('c', 1);
  assert.match(code(() => r.scheduler.schedule('d', 2)), /^UNAVAILABLE/);
  await r.finishAll();
  assert.deepEqual(r.batches, [['a'], ['b']], 'c waits in an under-full batch');
  await r.clock.advance(1e6);
  await r.finishAll();
  assert.deepEqual(r.batches, [['a'], ['b'], ['c']], 'until its timeout');
});

test('a task over maxBatchSize → INVALID_ARGUMENT (TF Serving\'s message), with or without splitting', () => {
  const r = recorder({ maxBatchSize: 4 });
  assert.equal(code(() => r.scheduler.schedule('a', 5)), 'INVALID_ARGUMENT: Task size 5 is larger than maximum input batch size 4');
  const s = recorder({ maxBatchSize: 4, maxExecutionBatchSize: 2, enableLargeBatchSplitting: true });
  assert.match(code(() => s.scheduler.schedule('a', 5)), /^INVALID_ARGUMENT: Task size 5 is larger than maximum input batch size 4/);
});

test('tasks with different keys never share a batch', async () => {
  const r = recorder({ maxBatchSize: 8 });
  r.scheduler.schedule('a', 1, 'x');
  r.scheduler.schedule('b', 1, 'y');
  r.scheduler.schedule('c', 1, 'x');
  await flush();
  await r.finishAll();
  assert.deepEqual(r.batches, [['a', 'c'], ['b']]);
});

test('large batch splitting: the open batch is topped up, the rest goes in batches of maxExecutionBatchSize', async () => {
  const r = recorder({ maxBatchSize: 10, maxExecutionBatchSize: 3, enableLargeBatchSplitting: true, batchTimeoutMicros: 1e9 });
  r.scheduler.schedule('a', 1);
  r.scheduler.schedule('b', 7);
  r.scheduler.schedule('c', 1);
  await flush();
  await r.finishAll();
  await r.clock.advance(1e6);
  await r.finishAll();
  assert.deepEqual(r.batches, [['a', 'b:0+2'], ['b:2+3'], ['b:5+2', 'c']]);
});

test('large batch splitting: a task over the remaining capacity → UNAVAILABLE', () => {
  const r = recorder({ maxBatchSize: 10, maxExecutionBatchSize: 2, maxEnqueuedBatches: 2, enableLargeBatchSplitting: true, batchTimeoutMicros: 1e9 });
  r.scheduler.schedule('a', 3);
  assert.match(code(() => r.scheduler.schedule('b', 2)), /^UNAVAILABLE: The batch scheduling queue to which this task was submitted is full; task size is 2 but scheduling capacity is only 1/);
  r.scheduler.schedule('b', 1);
});

test('numBatchThreads batches run at once', async () => {
  const r = recorder({ maxBatchSize: 1, numBatchThreads: 2 });
  for (const t of ['a', 'b', 'c']) r.scheduler.schedule(t, 1);
  await flush();
  assert.equal(r.scheduler.numRunningBatches, 2);
  assert.equal(r.batches.length, 2);
  await r.finishAll();
  assert.equal(r.batches.length, 3);
});

test('close() hands back waiting batches and refuses new tasks', async () => {
  const r = recorder({ maxBatchSize: 2, batchTimeoutMicros: 1e9 });
  r.scheduler.schedule('a', 1);
  const left = r.scheduler.close();
  assert.deepEqual(left.map((b) => b.pieces.map((p) => p.task)), [['a']]);
  assert.match(code(() => r.scheduler.schedule('b', 1)), /^UNAVAILABLE/);
  assert.equal(r.clock.pending, 0);
});

test('parameters: defaults are TF Serving\'s; bad fields → INVALID_ARGUMENT naming the field', () => {
  assert.deepEqual({ ...normalizeBatchingParameters({}) }, {
    maxBatchSize: 1000,
    batchTimeoutMicros: 0,
    maxEnqueuedBatches: 10,
    numBatchThreads: 1,
    allowedBatchSizes: [],
    enableLargeBatchSplitting: false,
    maxExecutionBatchSize: 1000,
    padVariableLengthInputs: false,
    batchPaddingPolicy: 'PAD_UP',
  });
  const merged = normalizeBatchingParameters({ maxBatchSize: 8, batchTimeoutMicros: 5 }, { maxBatchSize: 4 });
  assert.equal(merged.maxBatchSize, 4, 'the model overrides');
  assert.equal(merged.batchTimeoutMicros, 5, 'the server-wide value stays');
  const bad = (p: unknown, re: RegExp) => assert.throws(() => normalizeBatchingParameters(p), (e: unknown) => e instanceof ServingError && e.code === 'INVALID_ARGUMENT' && re.test(e.message));
  bad({ allowedBatchSizes: [2, 4], maxBatchSize: 8 }, /allowedBatchSizes: the last entry must match maxBatchSize; last entry was 4; expected 8/);
  bad({ allowedBatchSizes: [4, 2], maxBatchSize: 2 }, /allowedBatchSizes entries must be monotonically increasing/);
  bad({ maxBatchSize: 0 }, /maxBatchSize must be an integer ≥ 1, got 0/);
  bad({ batchTimeoutMicros: -1 }, /batchTimeoutMicros must be a non-negative number/);
  bad({ maxEnqueuedBatches: 1.5 }, /maxEnqueuedBatches must be an integer/);
  bad({ enableLargeBatchSplitting: 'yes' }, /enableLargeBatchSplitting must be true or false/);
  bad({ maxBatchSzie: 3 }, /maxBatchSzie is not a batching parameter/);
  bad({ maxBatchSize: 4, maxExecutionBatchSize: 8, enableLargeBatchSplitting: true }, /maxExecutionBatchSize \(8\) must be at most maxBatchSize \(4\)/);
  bad({ maxBatchSize: 8, maxExecutionBatchSize: 4, enableLargeBatchSplitting: true, allowedBatchSizes: [2, 8] }, /last entry must match maxExecutionBatchSize; last entry was 8; expected 4/);
  bad('big', /batchingParameters must be an object/);
  bad({ batchPaddingPolicy: 'DOWN' }, /batchPaddingPolicy must be "PAD_UP" or "BATCH_DOWN", got "DOWN"/);
  assert.equal(paddedBatchSize(3, [2, 4, 8]), 4);
  assert.equal(paddedBatchSize(4, [2, 4, 8]), 4);
  assert.equal(paddedBatchSize(1, [2, 4, 8]), 2);
  assert.equal(paddedBatchSize(3, []), 3);
});
