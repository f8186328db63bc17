// inferenceWorkers: predictions spread over several worker threads, each a whole server loading the
// same models (real emotion model, wasm backend, a real model directory polled by each thread, a shared
// file-system store); a new version reaches every thread; metrics are summed; bad values are refused.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { cp, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { LocalModelServer } from '../../src/node.js';
import type { ServingError } from '../../src/core/status.js';
import { NodeWorkerModelServer } from '../../src/worker-client/node-worker-model-server.js';
import type { WorkerModelServer } from '../../src/worker-client/worker-model-server.js';
import { humanModel, removeTempDirs, tempDir } from '../helpers/models.js';

after(() => removeTempDirs());

async function emotionVersion(base: string, version: number): Promise<void> {
  await mkdir(join(base, String(version)), { recursive: true });
  await cp(humanModel('emotion'), join(base, String(version), 'model.json'));
  await cp(humanModel('emotion').replace(/\.json$/, '.bin'), join(base, String(version), 'emotion.bin'));
}

const image = (seed: number) => ({ 'input_1:0': { shape: [1, 64, 64, 1], data: Float32Array.from({ length: 4096 }, (_, i) => ((i * seed) % 97) / 97) } });

test('predictions spread over two worker threads; both give the same answers; a new version reaches both; metrics are summed', async () => {
  const root = await tempDir('inference-workers');
  const base = join(root, 'repo', 'emotion');
  await emotionVersion(base, 1);
  const server = await NodeWorkerModelServer.start(
    { modelConfigList: [{ name: 'emotion', basePath: base }], backends: ['wasm'], pollIntervalMs: 0, inferenceWorkers: 2 },
    { storeDir: join(root, 'store') },
  );
  // NodeWorkerModelServer wraps the WorkerModelServer that owns the threads.
  const client = (server as unknown as { inner: WorkerModelServer }).inner;
  // The serving worker's own metrics (its private call), to see that it did not run everything.
  const servingMetrics = () => (client as unknown as { call(method: 'metrics', args: []): Promise<Record<string, { samples: Array<{ labels: Record<string, string>; value: number }> }>> }).call('metrics', []);
  try {
    assert.equal(client.inferenceWorkers, 2);
    assert.equal(client.liveWorkers, 2);
    const answers = await Promise.all(Array.from({ length: 8 }, (_, i) => server.predict({ model: 'emotion', inputs: image(i + 1) })));
    for (const [i, a] of answers.entries()) {
      assert.deepEqual(a.outputs['Identity:0']?.shape, [1, 7]);
      // One at a time, every request goes to the serving worker (the least busy on a tie): the same answer.
      const again = await server.predict({ model: 'emotion', inputs: image(i + 1) });
      assert.deepEqual([...(again.outputs['Identity:0']?.data as Float32Array)], [...(a.outputs['Identity:0']?.data as Float32Array)], 'either worker gives the same answer');
    }
    const count = (m: Record<string, { samples: Array<{ labels: Record<string, string>; value: number }> }>) =>
      m['/tensorflow/serving/request_count']?.samples.find((s) => s.labels.model_name === 'emotion' && s.labels.status === 'OK')?.value ?? 0;
    const merged = await client.metrics();
    assert.equal(count(merged as never), 16, 'the metrics count every prediction, whichever worker ran it');
    const servingOnly = count(await servingMetrics());
    assert.ok(servingOnly > 0 && servingOnly < 16, `the serving worker ran ${servingOnly} of 16: the other ran the rest`);
    // A scrape may answer from the last snapshot when the workers are slow to answer (LatestAnswer): ask until fresh.
    let text = '';
    for (const end = Date.now() + 10_000; !/status="OK"\} 16\n/.test(text) && Date.now() < end; await new Promise((r) => setTimeout(r, 50))) text = await server.prometheusMetrics();
    assert.match(text, /:tensorflow:serving:request_count\{model_name="emotion",status="OK"\} 16\n/);

    // A new version: every worker polls and loads it; requests then answer from it, on either worker.
    await emotionVersion(base, 2);
    await server.pollNow();
    const after2 = await Promise.all(Array.from({ length: 8 }, (_, i) => server.predict({ model: 'emotion', inputs: image(i + 1) })));
    assert.deepEqual(new Set(after2.map((a) => a.model.version)), new Set([2]));
    const pinned = await Promise.all(Array.from({ length: 4 }, () => server.predict({ model: 'emotion', version: 2, inputs: image(3) })));
    assert.ok(pinned.every((a) => a.model.version === 2));
  } finally {
    await server.close();
  }
  assert.equal(client.liveWorkers, 0, 'every worker was terminated');
});

test('inferenceWorkers is checked: an integer from 1 to 16, worker mode only, not with fresh-worker swaps', async () => {
  const options = { modelConfigList: [{ name: 'm', basePath: '/nowhere' }] };
  for (const bad of [0, 1.5, 17, '2']) {
    await assert.rejects(NodeWorkerModelServer.start({ ...options, inferenceWorkers: bad as number }), (e: ServingError) => e.code === 'INVALID_ARGUMENT' && /inferenceWorkers must be an integer from 1 to 16/.test(e.message));
  }
  await assert.rejects(NodeWorkerModelServer.start({ ...options, inferenceWorkers: 2, swapMode: 'fresh-worker' }), (e: ServingError) => e.code === 'INVALID_ARGUMENT' && /cannot be combined with swapMode "fresh-worker"/.test(e.message));
  await assert.rejects(LocalModelServer.start({ ...options, inferenceWorkers: 2 }), (e: ServingError) => e.code === 'INVALID_ARGUMENT' && /needs worker mode/.test(e.message));
});
