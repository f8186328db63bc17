// When the batch scheduler starts a batch: at once when a request finds the queue empty and no batch
// in flight (the timeout is a maximum wait), never more than numBatchThreads in flight, and BATCH_DOWN
// choosing the batch size from what is queued. On a fake clock: no time passes unless a test says so.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { flush } from './fake-clock.js';
import { recorder } from './recorder.js';

test('a request that finds the queue empty and no batch in flight runs at once, with those made in the same tick', async () => {
  const r = recorder({ maxBatchSize: 8, batchTimeoutMicros: 1e9 });
  r.scheduler.schedule('a', 1);
  r.scheduler.schedule('b', 2);
  assert.deepEqual(r.batches, [], 'not synchronously: requests made together share the batch');
  await flush();
  assert.deepEqual(r.batches, [['a', 'b']], 'ran with no clock time passing');
  assert.equal(r.clock.t, 0);
});

test('a request that finds the thread busy waits for batch-mates up to the timeout, as before', async () => {
  const r = recorder({ maxBatchSize: 8, batchTimeoutMicros: 10_000 });
  r.scheduler.schedule('a', 1);
  await flush();
  r.scheduler.schedule('b', 1);
  await flush();
  await r.finishAll();
  assert.deepEqual(r.batches, [['a']], 'b found the only thread busy: it waits, though the thread is free now');
  await r.clock.advance(3);
  r.scheduler.schedule('c', 1);
  await r.clock.advance(6.9);
  assert.equal(r.batches.length, 1);
  await r.clock.advance(0.1);
  assert.deepEqual(r.batches, [['a'], ['b', 'c']], 'b and c ran 10 ms after b arrived');
  await r.finishAll();
  r.scheduler.schedule('d', 1);
  await flush();
  assert.deepEqual(r.batches.at(-1), ['d'], 'the queue is empty and the thread idle again: d runs at once');
});

test('numBatchThreads 2: with a batch in flight, the next one waits for mates up to the timeout, then runs beside it; never more than 2', async () => {
  const r = recorder({ maxBatchSize: 4, numBatchThreads: 2, batchTimeoutMicros: 10_000 });
  r.scheduler.schedule('a', 4);
  await flush();
  r.scheduler.schedule('b', 1);
  await r.clock.advance(9.9);
  assert.deepEqual(r.batches, [['a']], 'a is in flight: b waits for batch-mates, though a thread is idle');
  r.scheduler.schedule('c', 1);
  await r.clock.advance(0.1);
  assert.deepEqual(r.batches, [['a'], ['b', 'c']], 'after the timeout b and c run while a is still in flight');
  assert.equal(r.scheduler.numRunningBatches, 2);
  r.scheduler.schedule('d', 4);
  r.scheduler.schedule('e', 4);
  await flush();
  assert.equal(r.batches.length, 2, 'both threads busy: full batches wait');
  assert.equal(r.scheduler.numEnqueuedBatches, 2);
  r.finish.shift()!(); // a finishes
  await flush();
  assert.deepEqual(r.batches.at(-1), ['d']);
  assert.equal(r.scheduler.numRunningBatches, 2, 'never more than two in flight');
  await r.finishAll();
  assert.deepEqual(r.batches, [['a'], ['b', 'c'], ['d'], ['e']]);
});

test('PAD_UP (default) runs everything queued padded up; BATCH_DOWN runs the largest allowed size and leaves the rest', async () => {
  const sizes = (r: ReturnType<typeof recorder>) => r.batches;
  const up = recorder({ maxBatchSize: 8, allowedBatchSizes: [1, 2, 4, 8], batchTimeoutMicros: 1e9 });
  for (const [t, n] of [['a', 2], ['b', 2], ['c', 1]] as const) up.scheduler.schedule(t, n);
  await flush();
  assert.deepEqual(sizes(up), [['a', 'b', 'c']], '5 rows, one batch (padded to 8 by the session)');

  const down = recorder({ maxBatchSize: 8, allowedBatchSizes: [1, 2, 4, 8], batchPaddingPolicy: 'BATCH_DOWN', batchTimeoutMicros: 1e9 });
  for (const [t, n] of [['a', 2], ['b', 2], ['c', 1]] as const) down.scheduler.schedule(t, n);
  await flush();
  assert.deepEqual(sizes(down), [['a', 'b']], '4 rows run; c stays queued');
  assert.equal(down.scheduler.numEnqueuedRows, 1);
  await down.finishAll();
  assert.deepEqual(sizes(down), [['a', 'b'], ['c']], 'the rest was due at once: it ran when the thread freed, without the timeout');

  const whole = recorder({ maxBatchSize: 8, allowedBatchSizes: [1, 2, 4, 8], batchPaddingPolicy: 'BATCH_DOWN', batchTimeoutMicros: 1e9 });
  whole.scheduler.schedule('a', 3);
  whole.scheduler.schedule('b', 2);
  await flush();
  assert.deepEqual(sizes(whole), [['a']], 'pieces stay whole: 3 rows (padded to 4), b left for the next batch');
  await whole.finishAll();
  assert.deepEqual(sizes(whole), [['a'], ['b']]);
});

test('an eager batch takes every request of its turn, even when they arrive over longer than the timeout', async () => {
  const r = recorder({ maxBatchSize: 8, batchTimeoutMicros: 1000 });
  r.scheduler.schedule('a', 1);
  await Promise.resolve(); // the microtask after a's schedule: a is not due yet
  r.clock.t += 3; // validating and copying the next requests took 3 ms of this turn
  r.scheduler.schedule('b', 1);
  await Promise.resolve();
  r.scheduler.schedule('c', 1);
  await flush();
  assert.deepEqual(r.batches, [['a', 'b', 'c']], 'one batch at the end of the turn, not [a] on timeout');
  assert.equal(r.clock.pending, 0, 'no timer for an eager batch');
});

test('an eager batch waits while requests already queued keep arriving turn after turn (a worker gets one message each), up to the timeout', async () => {
  const r = recorder({ maxBatchSize: 8, batchTimeoutMicros: 2000 });
  // b's task is in the event loop before a's end-of-turn check; c's is queued by b's, before the next check.
  setImmediate(() => {
    r.scheduler.schedule('b', 1);
    setImmediate(() => r.scheduler.schedule('c', 1));
  });
  r.scheduler.schedule('a', 1);
  await flush();
  assert.deepEqual(r.batches, [['a', 'b', 'c']], 'one batch once a turn passed with no arrival');
  await r.finishAll();

  setImmediate(() => {
    r.clock.t += 2; // the timeout passes while requests keep coming
    r.scheduler.schedule('e', 1);
    setImmediate(() => r.scheduler.schedule('f', 1));
  });
  r.scheduler.schedule('d', 1);
  await flush();
  assert.deepEqual(r.batches.at(-1), ['d', 'e'], 'at the timeout it stops waiting for more');
  await r.finishAll();
  await r.clock.advance(2);
  assert.deepEqual(r.batches.at(-1), ['f'], 'f came while d+e were in flight: it waited for mates up to the timeout');
});
