// The request side of the page API on a real server (wasm, a real HTTP repository on 127.0.0.1):
// input forms (bare values, typed arrays, tf.Tensors), `response.output`, AbortSignal and deadlines
// through the batching queue, and what a missing repository says.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { harness, valueOf } from '../helpers/serving.js';
import { denseExpected } from '../helpers/models.js';
import { LocalModelServer, METRIC_NAMES, MemoryModelStore, ServingError } from '../../src/index.js';
import type { ModelServer } from '../../src/index.js';

const IN = 'dense_dense1_input:0';

async function rejection(p: Promise<unknown>): Promise<ServingError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof ServingError, `expected a ServingError, got ${String(e)}`);
    return e;
  }
  assert.fail('expected a rejection');
}

/** How many times the model ran on a batch (TF Serving's wrapped_run_count). */
async function wrappedRuns(server: ModelServer): Promise<number> {
  const m = (await server.metrics()) as unknown as Record<string, { samples: Array<{ value?: number }> } | undefined>;
  return (m[METRIC_NAMES.wrappedRunCount]?.samples ?? []).reduce((s, x) => s + (x.value ?? 0), 0);
}

test('inputs: a bare nested array, a typed array, {shape, data} and a tf.Tensor for a one-input signature; response.output; caller data untouched; no leaks', async () => {
  const h = await harness();
  try {
    await h.publishDense('m', 3);
    const server = await h.start({});
    const baseline = tf.memory().numTensors;
    const expected = denseExpected(3, 0, 2);

    const bare = await server.predict({ model: 'm', inputs: [[2]] });
    assert.ok(Math.abs(valueOf(bare) - expected) < 1e-5);
    assert.equal(bare.output, bare.outputs['Identity:0'], 'the one output is also response.output');

    const data = new Float32Array([2, 4]);
    const typed = await server.predict({ model: 'm', inputs: { shape: [2, 1], data } });
    assert.deepEqual([...(typed.output!.data as Float32Array)].map((v) => Math.round(v * 1e4) / 1e4), [2, 4].map((x) => Math.round(denseExpected(3, 0, x) * 1e4) / 1e4));
    assert.equal(data.byteLength, 8, "the caller's typed array is not detached");

    const t = tf.tensor2d([[2]]);
    const afterTensor = tf.memory().numTensors;
    const fromTensor = await server.predict({ model: 'm', inputs: t });
    assert.ok(Math.abs(valueOf(fromTensor) - expected) < 1e-5);
    const named = await server.predict({ model: 'm', inputs: { [IN]: t } });
    assert.ok(Math.abs(valueOf(named) - expected) < 1e-5);
    assert.equal(t.isDisposed, false, "the caller's tensor is the caller's");
    assert.equal(tf.memory().numTensors, afterTensor, 'predict made no tensor it left behind');
    t.dispose();
    assert.equal(tf.memory().numTensors, baseline);

    // A typed array alone is a vector: the graph wants rank 2, and the error says so by name.
    const vector = await rejection(server.predict({ model: 'm', inputs: new Float32Array([1]) }));
    assert.equal(vector.code, 'INVALID_ARGUMENT');
    assert.match(vector.message, /input "dense_dense1_input:0" has rank 1 \(shape \[1\]\), but the graph's placeholder expects rank 2/);
    const disposed = tf.tensor2d([[1]]);
    disposed.dispose();
    const gone = await rejection(server.predict({ model: 'm', inputs: disposed }));
    assert.equal(gone.code, 'INVALID_ARGUMENT');
    assert.match(gone.message, /input "dense_dense1_input:0" is a tf.Tensor that cannot be read/);
  } finally {
    await h.close();
  }
});

test('cancellation: aborted before it starts, aborted while queued (never runs), aborted while running (answer dropped) → CANCELLED', async () => {
  const h = await harness();
  try {
    await h.publishDense('m', 1);
    // Requests wait up to 400 ms in the batching queue for batch-mates.
    const server = await h.start({ enableBatching: true, batchingParameters: { maxBatchSize: 64, batchTimeoutMicros: 400_000 } });
    const runsBefore = await wrappedRuns(server);

    const already = AbortSignal.abort('gone');
    const before = await rejection(server.predict({ model: 'm', inputs: [[1]] }, { signal: already }));
    assert.equal(before.code, 'CANCELLED');
    assert.match(before.message, /cancelled .*gone/);

    const c = new AbortController();
    const started = Date.now();
    const queued = server.predict({ model: 'm', inputs: [[1]] }, { signal: c.signal });
    // A lone request runs on the next turn (nothing in flight: issue 11), so it is aborted in this one,
    // while it waits in the queue.
    c.abort();
    const err = await rejection(queued);
    assert.equal(err.code, 'CANCELLED');
    assert.ok(Date.now() - started < 350, 'the caller hears at once, not when the batch would have run');
    await new Promise((r) => setTimeout(r, 500)); // past the batch timeout
    assert.equal(await wrappedRuns(server), runsBefore, 'the cancelled request left the queue without running');

    // Still serving; a request that is not cancelled runs.
    const ok = await server.predict({ model: 'm', inputs: [[2]] }, { signal: new AbortController().signal });
    assert.ok(Math.abs(valueOf(ok) - denseExpected(1, 0, 2)) < 1e-5);
    assert.equal(await wrappedRuns(server), runsBefore + 1);
    const counts = (await server.metrics())['/tensorflow/serving/request_count']!.samples.map((s) => `${s.labels.status}=${(s as { value?: number }).value}`).sort();
    assert.deepEqual(counts, ['CANCELLED=2', 'OK=1']);
  } finally {
    await h.close();
  }

  const h2 = await harness();
  try {
    await h2.publishDense('m', 1);
    const server = await h2.start({});
    const baseline = tf.memory().numTensors;
    const c = new AbortController();
    // Unbatched, the graph runs as predict is called; the abort comes while its outputs are read.
    const running = server.predict({ model: 'm', inputs: [[1]] }, { signal: c.signal });
    c.abort();
    assert.equal((await rejection(running)).code, 'CANCELLED');
    await server.whenIdle();
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(tf.memory().numTensors, baseline, 'the dropped run disposed what it made');
    await server.close(); // the dropped run released its version: close does not hang
  } finally {
    await h2.close();
  }
});

test('deadlines: timeoutMs past while queued → DEADLINE_EXCEEDED and the request never runs; an ended deadline never starts', async () => {
  const h = await harness();
  try {
    await h.publishDense('m', 1);
    const server = await h.start({ enableBatching: true, batchingParameters: { maxBatchSize: 64, batchTimeoutMicros: 400_000 } });
    const runsBefore = await wrappedRuns(server);
    const started = Date.now();
    // A deadline that ends while the request waits in the queue (it waits until the end of this turn).
    const late = await rejection(server.predict({ model: 'm', inputs: [[1]] }, { deadline: Date.now() }));
    assert.equal(late.code, 'DEADLINE_EXCEEDED');
    assert.ok(Date.now() - started < 350, 'answered at the deadline, not when the batch ran');
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(await wrappedRuns(server), runsBefore, 'the expired request left the queue without running');

    const past = await rejection(server.predict({ model: 'm', inputs: [[1]] }, { deadline: Date.now() - 1 }));
    assert.equal(past.code, 'DEADLINE_EXCEEDED');
    // A generous deadline does not get in the way; the earlier of deadline and timeoutMs counts.
    const fine = await server.predict({ model: 'm', inputs: [[3]] }, { timeoutMs: 5000, deadline: Date.now() + 60_000 });
    assert.ok(Math.abs(valueOf(fine) - denseExpected(1, 0, 3)) < 1e-5);
    // No deadline at all, and one beyond setTimeout's range (which would fire at once if set as is).
    for (const timeoutMs of [Number.POSITIVE_INFINITY, 2 ** 40]) {
      const far = await server.predict({ model: 'm', inputs: [[3]] }, { timeoutMs });
      assert.ok(Math.abs(valueOf(far) - denseExpected(1, 0, 3)) < 1e-5, `timeoutMs ${timeoutMs}`);
    }
    const bad = await rejection(server.predict({ model: 'm', inputs: [[3]] }, { timeoutMs: 'soon' as never }));
    assert.equal(bad.code, 'INVALID_ARGUMENT');
    assert.match(bad.message, /timeoutMs must be a number of ms, got "soon"/);
  } finally {
    await h.close();
  }
});

test('a repository that does not exist: NOT_FOUND says what the source saw; failIfNoModelVersionsFound makes start() reject naming it', async () => {
  const h = await harness();
  try {
    const warnings: string[] = [];
    const server = await h.start({ models: ['ghost'] });
    server.addEventListener('sourceerror', (e) => warnings.push(`${e.model}: ${e.code}`));
    const err = await rejection(server.predict({ model: 'ghost', inputs: [[1]] }));
    assert.equal(err.code, 'NOT_FOUND');
    assert.match(err.message, /Servable not found for request: Latest\(ghost\); the source of ghost reports: NOT_FOUND: GET http:\/\/127\.0\.0\.1:\d+\/ghost\/manifest\.json returned HTTP 404/);
    await server.pollNow('ghost');
    assert.deepEqual(warnings, ['ghost: NOT_FOUND'], 'every failed poll fires sourceerror (what the CLI and the page log once)');

    const refused = await rejection(h.start({ models: ['ghost'], failIfNoModelVersionsFound: true }));
    assert.equal(refused.code, 'NOT_FOUND');
    assert.match(refused.message, /failIfNoModelVersionsFound: model ghost \(basePath http:\/\/127\.0\.0\.1:\d+\/ghost\/?\) has no versions: NOT_FOUND: GET .*\/ghost\/manifest\.json returned HTTP 404/);

    // A repository that exists starts fine with the option on.
    await h.publishDense('m', 1);
    const good = await h.start({ models: ['m'], failIfNoModelVersionsFound: true });
    assert.deepEqual(await good.modelNames(), ['m']);
    // reloadConfig judges the models it adds, not the ones it keeps.
    const m = { name: 'm', basePath: h.repo.modelUrl('m') };
    const added = await rejection(good.reloadConfig({ modelConfigList: [m, { name: 'ghost', basePath: h.repo.modelUrl('ghost') }] }));
    assert.equal(added.code, 'NOT_FOUND');
    assert.match(added.message, /^failIfNoModelVersionsFound: model ghost \(basePath [^)]*\) has no versions: NOT_FOUND: GET [^;]*HTTP 404[^;]*$/);
    await good.reloadConfig({ modelConfigList: [m] });
    assert.ok(Math.abs(valueOf(await good.predict({ model: 'm', inputs: [[2]] })) - denseExpected(1, 0, 2)) < 1e-5);
  } finally {
    await h.close();
  }
});

test('failIfNoModelVersionsFound names a wrong local directory (Node, FileSystemSource)', async () => {
  const { registerFileSystemSource } = await import('../../src/server/file-system-source-factory.js');
  registerFileSystemSource();
  const refused = await rejection(
    LocalModelServer.start({
      modelConfigList: [{ name: 'nowhere', basePath: '/nonexistent/tfjs-serving-test/nowhere' }],
      store: new MemoryModelStore(),
      backends: ['cpu'],
      pollIntervalMs: 0,
      failIfNoModelVersionsFound: true,
    }),
  );
  assert.equal(refused.code, 'NOT_FOUND');
  assert.match(refused.message, /model nowhere \(basePath \/nonexistent\/tfjs-serving-test\/nowhere\) has no versions: NOT_FOUND: .*\/nonexistent\/tfjs-serving-test\/nowhere/);
});
