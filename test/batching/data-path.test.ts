// The batched data path on a real model (emotion, a CNN from @vladmandic/human, wasm backend): with
// two batches in flight and padding to allowed sizes, every request gets its own rows (equal to an
// unbatched run), as views of one readback per batch; the phases are recorded; a bad request fails
// alone; no tensor is left behind.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { harness } from '../helpers/serving.js';
import { humanModel } from '../helpers/models.js';
import { publishGraphModel } from '../../src/repository/publish.js';
import { METRIC_NAMES, ServingError } from '../../src/index.js';
import type { HistogramSnapshot, LocalModelServer, PredictResponse } from '../../src/index.js';

test('emotion, 2 batches in flight, padded: own rows, one buffer per batch output, phases recorded, bad request alone, no leaks', async () => {
  const h = await harness();
  try {
    await publishGraphModel(humanModel('emotion'), join(h.repoDir, 'emotion'), { version: 1 });
    let seed = 11;
    const random = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
    const images = Array.from({ length: 45 }, () => Float32Array.from({ length: 64 * 64 }, random));
    const predict = (server: LocalModelServer, data: Float32Array) => server.predict({ model: 'emotion', inputs: { 'input_1:0': { shape: [1, 64, 64, 1], data } } });

    const plainServer = await h.start({ models: ['emotion'] });
    const plain: PredictResponse[] = [];
    for (const data of images) plain.push(await predict(plainServer, data));
    await plainServer.close();

    const server = await h.start({
      models: ['emotion'],
      enableBatching: true,
      batchingParameters: { maxBatchSize: 16, batchTimeoutMicros: 1000, numBatchThreads: 2, allowedBatchSizes: [4, 8, 16] },
    });
    await predict(server, images[0]!); // load the version and make the first batch's tensors
    const baseline = tf.memory().numTensors;
    const bad = server.predict({ model: 'emotion', inputs: { 'input_1:0': { shape: [1, 64, 64, 2], data: new Float32Array(64 * 64 * 2) } } });
    // 45 requests: batches of 16, 16 and 13 (padded to 16), two of them in flight at a time.
    const batched = await Promise.all(images.map((data) => predict(server, data)));
    await assert.rejects(bad, (e: unknown) => e instanceof ServingError && e.code === 'INVALID_ARGUMENT');
    for (const [i, r] of batched.entries()) {
      for (const [key, a] of Object.entries(plain[i]!.outputs)) {
        const b = r.outputs[key]!;
        assert.deepEqual(b.shape, a.shape);
        for (let j = 0; j < a.data.length; j++) {
          const [x, y] = [(a.data as Float32Array)[j]!, (b.data as Float32Array)[j]!];
          assert.ok(Math.abs(x - y) <= 1e-4 + 1e-4 * Math.abs(x), `image ${i} ${key}[${j}]: ${x} vs ${y}`);
        }
      }
    }
    const key = Object.keys(batched[0]!.outputs)[0]!;
    const buffers = new Set(batched.map((r) => (r.outputs[key]!.data as Float32Array).buffer));
    assert.ok(buffers.size <= 4, `45 requests in a few batches share their batch's one readback buffer (${buffers.size} buffers)`);
    const snap = await server.metrics();
    const phases = snap[METRIC_NAMES.batchPhaseLatency] as HistogramSnapshot;
    const counts = Object.fromEntries(phases.samples.map((s) => [s.labels.phase, s.count]));
    for (const phase of ['concat', 'execute', 'readback', 'split']) assert.ok((counts[phase] ?? 0) >= 3, `phase ${phase} recorded per batch: ${JSON.stringify(counts)}`);
    assert.equal(tf.memory().numTensors, baseline, 'no tensor left by the batches');
  } finally {
    await h.close();
  }
});
