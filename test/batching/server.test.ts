// Dynamic batching end to end: a real LocalModelServer (wasm backend) serving real graph models from a
// real HTTP repository, with enableBatching.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { harness, predictDense, valueOf } from '../helpers/serving.js';
import { denseExpected, denseModel, humanModel } from '../helpers/models.js';
import { publishGraphModel } from '../../src/repository/publish.js';
import { ServingError } from '../../src/index.js';
import type { HistogramSnapshot, LocalModelServer, MetricsSnapshot, PredictResponse, VersionStateEvent } from '../../src/index.js';

const IN = 'dense_dense1_input:0';

function histogram(snapshot: MetricsSnapshot, name: string, labels: Record<string, string>) {
  const m = snapshot[`/tensorflow/serving/${name}`] as HistogramSnapshot;
  return m.samples.find((s) => Object.entries(labels).every(([k, v]) => s.labels[k] === v));
}

function rowsOf(server: LocalModelServer, rows: number[], model = 'm'): Promise<PredictResponse> {
  return server.predict({ model, inputs: { [IN]: { shape: [rows.length, 1], data: rows } } });
}

function codeOf(e: unknown): string {
  return e instanceof ServingError ? e.code : `not a ServingError: ${e}`;
}

test('32 concurrent predictions batch together and equal the unbatched answers; a bad request fails alone', async () => {
  const h = await harness();
  try {
    await h.publishDense('m', 1, 1.5);
    const server = await h.start({ enableBatching: true, batchingParameters: { maxBatchSize: 32 } });
    const xs = Array.from({ length: 32 }, (_, i) => i * 0.37 - 3);
    const results = await Promise.all(xs.map((x) => predictDense(server, x)));
    for (const [i, r] of results.entries()) {
      assert.equal(r.model.version, 1);
      assert.deepEqual(r.outputs['Identity:0']!.shape, [1, 1]);
      assert.ok(Math.abs(valueOf(r) - denseExpected(1.5, 0, xs[i]!)) < 1e-6, `row ${i}: ${valueOf(r)}`);
    }
    let m = await server.metrics();
    const sizes = histogram(m, 'batching_session/input_batch_size', { model_name: 'm' })!;
    assert.ok(sizes.count < 32 && sizes.sum === 32, `32 rows in ${sizes.count} batches`);
    assert.ok(sizes.sum / sizes.count > 1, 'batches of more than one');

    // One bad request among 8 batch-mates: INVALID_ARGUMENT for it alone, before it joins a batch.
    const mixed = await Promise.allSettled(
      Array.from({ length: 8 }, (_, i) => (i === 3 ? server.predict({ model: 'm', inputs: { [IN]: [[1, 2]] } }) : predictDense(server, i))),
    );
    for (const [i, r] of mixed.entries()) {
      if (i === 3) {
        assert.equal(r.status, 'rejected');
        assert.equal(codeOf((r as PromiseRejectedResult).reason), 'INVALID_ARGUMENT');
        assert.match(String((r as PromiseRejectedResult).reason.message), /dimension 1 must be 1/);
      } else {
        assert.equal(r.status, 'fulfilled', `request ${i}`);
        assert.equal(valueOf((r as PromiseFulfilledResult<PredictResponse>).value), denseExpected(1.5, 0, i));
      }
    }
    m = await server.metrics();
    assert.equal(histogram(m, 'batching_session/input_batch_size', { model_name: 'm' })!.sum, 32 + 7, 'the bad request never joined a batch');
    assert.ok(histogram(m, 'batching_session/queuing_latency', { model_name: 'm' })!.count >= 39);
  } finally {
    await h.close();
  }
});

test('emotion (a real CNN): 32 batched predictions equal unbatched ones row for row', async () => {
  const h = await harness();
  try {
    await publishGraphModel(humanModel('emotion'), join(h.repoDir, 'emotion'), { version: 1 });
    let seed = 7;
    const random = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
    const images = Array.from({ length: 32 }, () => Float32Array.from({ length: 64 * 64 }, random));
    const predictAll = (server: LocalModelServer) =>
      Promise.all(images.map((data) => server.predict({ model: 'emotion', inputs: { 'input_1:0': { shape: [1, 64, 64, 1], data } } })));
    const batchedServer = await h.start({ models: ['emotion'], enableBatching: true, batchingParameters: { maxBatchSize: 32, batchTimeoutMicros: 2000 } });
    const batched = await predictAll(batchedServer);
    const sizes = histogram(await batchedServer.metrics(), 'batching_session/processed_batch_size', { model_name: 'emotion' })!;
    assert.ok(sizes.count < 32, `batched: ${sizes.count} runs for 32 requests`);
    await batchedServer.close();
    const plainServer = await h.start({ models: ['emotion'] });
    const plain = await predictAll(plainServer);
    for (let i = 0; i < 32; i++) {
      for (const key of Object.keys(plain[i]!.outputs)) {
        const a = plain[i]!.outputs[key]!;
        const b = batched[i]!.outputs[key]!;
        assert.deepEqual(b.shape, a.shape);
        for (let j = 0; j < a.data.length; j++) {
          const x = (a.data as Float32Array)[j]!;
          const y = (b.data as Float32Array)[j]!;
          assert.ok(Math.abs(x - y) <= 1e-4 + 1e-4 * Math.abs(x), `image ${i} ${key}[${j}]: ${x} vs ${y}`);
        }
      }
    }
  } finally {
    await h.close();
  }
});

test('queue full → UNAVAILABLE at once (TF Serving\'s message); the queued requests still succeed', async () => {
  const h = await harness();
  try {
    await h.publishDense('m', 1);
    // Batches of 2 that are full at once; two may wait; a long timeout keeps anything under-full waiting.
    const server = await h.start({ enableBatching: true, batchingParameters: { maxBatchSize: 2, maxEnqueuedBatches: 2, batchTimeoutMicros: 60_000_000 } });
    const calls = [1, 2, 3, 4, 5].map((x) => predictDense(server, x));
    const settled = await Promise.allSettled(calls);
    assert.deepEqual(settled.map((s) => s.status), ['fulfilled', 'fulfilled', 'fulfilled', 'fulfilled', 'rejected']);
    const err = (settled[4] as PromiseRejectedResult).reason;
    assert.equal(codeOf(err), 'UNAVAILABLE');
    assert.match(err.message, /The batch scheduling queue to which this task was submitted is full/);
    const m = await server.metrics();
    const counts = Object.fromEntries((m['/tensorflow/serving/request_count']!.samples as Array<{ labels: Record<string, string>; value: number }>).map((s) => [s.labels.status, s.value]));
    assert.deepEqual(counts, { OK: 4, UNAVAILABLE: 1 });
  } finally {
    await h.close();
  }
});

test('allowed batch sizes: 3 rows are padded to 4 and the padding dropped; over maxBatchSize → INVALID_ARGUMENT', async () => {
  const h = await harness();
  try {
    await h.publishDense('m', 1, 2);
    const server = await h.start({ enableBatching: true, batchingParameters: { maxBatchSize: 4, allowedBatchSizes: [2, 4], batchTimeoutMicros: 1000 } });
    const [a, b] = await Promise.all([rowsOf(server, [1, 2]), rowsOf(server, [3])]);
    assert.deepEqual(a.outputs['Identity:0']!.shape, [2, 1]);
    assert.deepEqual([...(a.outputs['Identity:0']!.data as Float32Array)], [2, 4]);
    assert.deepEqual(b.outputs['Identity:0']!.shape, [1, 1]);
    assert.deepEqual([...(b.outputs['Identity:0']!.data as Float32Array)], [6]);
    const m = await server.metrics();
    assert.equal(histogram(m, 'batching_session/input_batch_size', { model_name: 'm' })!.sum, 3);
    assert.equal(histogram(m, 'batching_session/processed_batch_size', { model_name: 'm' })!.sum, 4);
    assert.equal(histogram(m, 'batching_session/padding_size', { model_name: 'm', execution_batch_size: '4' })!.sum, 1);
    await assert.rejects(rowsOf(server, [1, 2, 3, 4, 5]), (e: unknown) => codeOf(e) === 'INVALID_ARGUMENT' && /Task size 5 is larger than maximum input batch size 4/.test((e as Error).message));
  } finally {
    await h.close();
  }
});

test('large batch splitting (per-model parameters): a request is split into executed batches and joined back', async () => {
  const h = await harness();
  try {
    await h.publishDense('m', 1, 3);
    await h.publishDense('n', 1, 3);
    const server = await h.start({
      models: [],
      modelConfigList: [
        { name: 'm', basePath: h.repo.modelUrl('m'), batchingParameters: { enableLargeBatchSplitting: true, maxExecutionBatchSize: 2 } },
        { name: 'n', basePath: h.repo.modelUrl('n') },
      ],
      enableBatching: true,
      batchingParameters: { maxBatchSize: 8 },
    });
    const r = await rowsOf(server, [1, 2, 3, 4, 5]);
    assert.deepEqual(r.outputs['Identity:0']!.shape, [5, 1]);
    assert.deepEqual([...(r.outputs['Identity:0']!.data as Float32Array)], [3, 6, 9, 12, 15]);
    const m = await server.metrics();
    const processed = histogram(m, 'batching_session/processed_batch_size', { model_name: 'm' })!;
    assert.equal(processed.count, 3, 'executed as 2 + 2 + 1');
    assert.equal(processed.sum, 5);
    await assert.rejects(rowsOf(server, new Array(9).fill(1)), (e: unknown) => codeOf(e) === 'INVALID_ARGUMENT');
    const n = await rowsOf(server, [1, 2, 3, 4, 5], 'n');
    assert.deepEqual([...(n.outputs['Identity:0']!.data as Float32Array)], [3, 6, 9, 12, 15]);
    assert.equal(histogram(await server.metrics(), 'batching_session/processed_batch_size', { model_name: 'n' })!.count, 1, 'n does not split');
    await assert.rejects(
      server.reloadConfig({ modelConfigList: [{ name: 'm', basePath: h.repo.modelUrl('m'), batchingParameters: { allowedBatchSizes: [2, 4] } }] }),
      (e: unknown) => codeOf(e) === 'INVALID_ARGUMENT' && /model m: batchingParameters\.allowedBatchSizes: the last entry must match maxBatchSize/.test((e as Error).message),
    );
    await assert.rejects(
      h.start({ enableBatching: true, batchingParameters: { maxEnqueuedBatches: 0 } }),
      (e: unknown) => codeOf(e) === 'INVALID_ARGUMENT' && /batchingParameters\.maxEnqueuedBatches must be an integer ≥ 1/.test((e as Error).message),
    );
  } finally {
    await h.close();
  }
});

test('a model whose placeholder has a fixed batch dimension ([1,1]) is not batched', async () => {
  const h = await harness();
  try {
    const dir = await denseModel(2, 0);
    const json = JSON.parse(await readFile(join(dir, 'model.json'), 'utf8'));
    const placeholder = json.modelTopology.node.find((n: { op: string }) => n.op === 'Placeholder');
    placeholder.attr.shape.shape.dim = [{ size: '1' }, { size: '1' }];
    await writeFile(join(dir, 'model.json'), JSON.stringify(json));
    await publishGraphModel(dir, join(h.repoDir, 'm'), { version: 1 });
    const server = await h.start({ enableBatching: true, batchingParameters: { maxBatchSize: 8, batchTimeoutMicros: 1000 } });
    const results = await Promise.all([1, 2, 3, 4].map((x) => predictDense(server, x)));
    assert.deepEqual(results.map(valueOf), [2, 4, 6, 8]);
    assert.equal(histogram(await server.metrics(), 'batching_session/input_batch_size', { model_name: 'm' }), undefined, 'no batch ran');
  } finally {
    await h.close();
  }
});

test('a version unloading while requests wait in its queue: they complete on it, then it unloads; no tensor leaks', async () => {
  const h = await harness();
  try {
    await h.publishDense('m', 1);
    // The requests wait 0.6 s for batch-mates: v2 loads and v1 starts unloading meanwhile.
    const server = await h.start({ enableBatching: true, batchingParameters: { maxBatchSize: 64, batchTimeoutMicros: 600_000 } });
    const baseline = tf.memory().numTensors;
    let completed = 0;
    let completedAtUnloading = -1;
    let v1End = false;
    server.addEventListener('unloading', (e) => {
      if ((e as VersionStateEvent).version === 1) completedAtUnloading = completed;
    });
    server.addEventListener('end', (e) => {
      if ((e as VersionStateEvent).version === 1) v1End = true;
    });
    // A full batch first, so the four find the queue busy: a request that finds the queue empty and
    // the batch thread idle would run at once instead of waiting for the timeout.
    const full = rowsOf(server, Array.from({ length: 64 }, (_, i) => i));
    const waiting = [1, 2, 3, 4].map((x) => predictDense(server, x).finally(() => completed++));
    await full;
    await h.publishDense('m', 2);
    const swap = server.pollNow('m');
    const done = await Promise.all(waiting);
    assert.equal(completedAtUnloading, 0, 'v1 began unloading while all four requests waited in its queue');
    for (const [i, r] of done.entries()) {
      assert.equal(r.model.version, 1);
      assert.equal(valueOf(r), denseExpected(1, 0, i + 1), 'answered by v1, which stayed loaded for them');
    }
    await swap;
    await server.whenIdle();
    assert.equal(v1End, true);
    // Batched work (full batches of 64 rows, so no waiting) on v2 leaves no tensor behind.
    for (let round = 0; round < 10; round++) {
      const rs = await Promise.all(Array.from({ length: 32 }, (_, i) => rowsOf(server, [i, i + 1])));
      assert.ok(rs.every((r, i) => r.model.version === 2 && (r.outputs['Identity:0']!.data as Float32Array)[1] === denseExpected(2, 0, i + 1)));
    }
    assert.equal(tf.memory().numTensors, baseline, 'one version loaded, as before; nothing left by batches');
    await server.close();
    assert.equal(tf.memory().numTensors, baseline - 2, 'closing disposes the last version');
  } finally {
    await h.close();
  }
});

test('a swap under batching load: 8 looping callers, zero failures', async () => {
  const h = await harness();
  try {
    await h.publishDense('m', 1);
    const server = await h.start({ enableBatching: true, batchingParameters: { maxBatchSize: 8, batchTimeoutMicros: 500 } });
    let stop = false;
    let failures = 0;
    const seen = new Set<number>();
    const callers = Array.from({ length: 8 }, async (_, i) => {
      while (!stop) {
        try {
          const r = await predictDense(server, i + 1);
          assert.equal(valueOf(r), denseExpected(r.model.version, 0, i + 1));
          seen.add(r.model.version);
        } catch (e) {
          failures++;
          console.error(e);
        }
        await new Promise((r) => setImmediate(r));
      }
    });
    await new Promise((r) => setTimeout(r, 30));
    await h.publishDense('m', 2);
    await server.pollNow('m');
    await server.whenIdle();
    await new Promise((r) => setTimeout(r, 30));
    stop = true;
    await Promise.all(callers);
    assert.equal(failures, 0);
    assert.deepEqual([...seen].sort(), [1, 2]);
    const sizes = histogram(await server.metrics(), 'batching_session/input_batch_size', { model_name: 'm' })!;
    assert.ok(sizes.sum / sizes.count > 1, `batched under load (${sizes.sum} rows in ${sizes.count} batches)`);
  } finally {
    await h.close();
  }
});
