// swapMode 'fresh-worker' in Node, through the same WorkerSpawner seam: NodeWorkerModelServer's
// worker_threads threads, a real model directory polled by the file-system source, a file-system store.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { cp, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { NodeWorkerModelServer } from '../../src/worker-client/node-worker-model-server.js';
import { DENSE_MODEL_DIR, removeTempDirs, tempDir } from '../helpers/models.js';

after(() => removeTempDirs());

test('a new version loads in a fresh worker thread; requests move to it; events are told once', async () => {
  const root = await tempDir('node-fresh');
  const base = join(root, 'repo', 'm');
  await mkdir(base, { recursive: true });
  await cp(DENSE_MODEL_DIR, join(base, '1'), { recursive: true });
  const states: string[] = [];
  const server = await NodeWorkerModelServer.start(
    { modelConfigList: [{ name: 'm', basePath: base }], backends: ['cpu'], pollIntervalMs: 0, swapMode: 'fresh-worker', listeners: { statechange: (e) => states.push(`${e.version}:${e.state}`) } },
    { storeDir: join(root, 'store') },
  );
  try {
    const predict = () => server.predict({ model: 'm', inputs: { 'dense_dense1_input:0': [[1]] } });
    assert.equal((await predict()).model.version, 1);
    await cp(DENSE_MODEL_DIR, join(base, '2'), { recursive: true });
    const inFlight = Array.from({ length: 8 }, predict); // sent to the old thread before the move
    await server.pollNow();
    const answers = await Promise.all(inFlight);
    assert.ok(answers.every((a) => a.model.version === 1 || a.model.version === 2));
    assert.equal((await predict()).model.version, 2);
    // NodeWorkerModelServer wraps the WorkerModelServer that owns the threads (it does not re-export its swap count).
    const client = (server as unknown as { inner: { freshWorkerSwaps: number; liveWorkers: number } }).inner;
    assert.equal(client.freshWorkerSwaps, 1);
    for (let i = 0; i < 50 && client.liveWorkers > 1; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(client.liveWorkers, 1, 'the old thread was terminated');
    assert.deepEqual(states, ['1:START', '1:LOADING', '1:AVAILABLE', '2:START', '2:LOADING', '2:AVAILABLE', '1:UNLOADING', '1:END']);
  } finally {
    await server.close();
  }
});

test('a fresh worker that is not AVAILABLE within freshWorkerStartTimeoutMs is terminated; the old one keeps serving', async () => {
  const root = await tempDir('node-fresh-timeout');
  const base = join(root, 'repo', 'm');
  await mkdir(base, { recursive: true });
  await cp(DENSE_MODEL_DIR, join(base, '1'), { recursive: true });
  const states: string[] = [];
  await assert.rejects(
    NodeWorkerModelServer.start({ modelConfigList: [{ name: 'm', basePath: base }], swapMode: 'fresh-worker', freshWorkerStartTimeoutMs: 0 }),
    /freshWorkerStartTimeoutMs must be a positive number of milliseconds, got 0/,
  );
  const server = await NodeWorkerModelServer.start(
    {
      modelConfigList: [{ name: 'm', basePath: base }],
      backends: ['cpu'],
      pollIntervalMs: 0,
      swapMode: 'fresh-worker',
      // A thread cannot start, import TF.js and load a model in 5 ms: every fresh worker times out.
      freshWorkerStartTimeoutMs: 5,
      listeners: { statechange: (e) => states.push(`${e.version}:${e.state}:${e.status.error_code}`) },
    },
    { storeDir: join(root, 'store') },
  );
  try {
    const predict = () => server.predict({ model: 'm', inputs: { 'dense_dense1_input:0': [[1]] } });
    await cp(DENSE_MODEL_DIR, join(base, '2'), { recursive: true });
    const during = Array.from({ length: 8 }, predict);
    await server.pollNow();
    assert.ok((await Promise.all(during)).every((a) => a.model.version === 1));
    assert.equal((await predict()).model.version, 1, 'the serving worker keeps serving version 1');
    const client = (server as unknown as { inner: { freshWorkerSwaps: number; liveWorkers: number } }).inner;
    assert.equal(client.freshWorkerSwaps, 0);
    assert.equal(client.liveWorkers, 1, 'the fresh worker was terminated');
    assert.ok(states.includes('2:END:DEADLINE_EXCEEDED'), states.join(' '));
    const status = await server.getModelStatus('m');
    const v2 = status.model_version_status.find((s) => s.version === '2');
    assert.match(v2?.status.error_message ?? '', /did not have its versions AVAILABLE within freshWorkerStartTimeoutMs \(5 ms\)/);
  } finally {
    await server.close();
  }
});
