// NodeWorkerModelServer in this process: the serving core in a real worker_threads thread with a real
// model. Versions go to a FileSystemModelStore (storeDir); inputs are transferred; a deadline is kept
// on this side; a thread that crashes is restarted and serving goes on; status comes from the mirror.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { cp, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { FileSystemModelStore } from '../../src/node.js';
import { NodeWorkerModelServer } from '../../src/worker-client/node-worker-model-server.js';
import { DENSE_BIAS, DENSE_KERNEL, DENSE_MODEL_DIR, denseExpected, removeTempDirs, tempDir } from '../helpers/models.js';

after(() => removeTempDirs());

test('a worker thread serves, stores in storeDir, transfers inputs, keeps deadlines, and comes back after a crash', async () => {
  const root = await tempDir('node-worker');
  const base = join(root, 'repo', 'm');
  await mkdir(base, { recursive: true });
  await cp(DENSE_MODEL_DIR, join(base, '1'), { recursive: true });
  const storeDir = join(root, 'store');
  const states: string[] = [];
  const restarts: string[] = [];
  const server = await NodeWorkerModelServer.start(
    { modelConfigList: [{ name: 'm', basePath: base }], backends: ['cpu'], pollIntervalMs: 0, transferInputs: true, listeners: { statechange: (e) => states.push(`${e.version}:${e.state}`), workerrestart: (e) => restarts.push(e.reason) } },
    { storeDir },
  );
  try {
    assert.equal(server.mode, 'worker');
    assert.deepEqual(states.slice(-2), ['1:LOADING', '1:AVAILABLE']);
    assert.equal((await server.getModelStatus('m')).model_version_status[0]?.state, 'AVAILABLE');
    await assert.rejects(server.getModelStatus('nope'), /Could not find any versions of model nope/);
    // The worker's store is the directory: the version was committed there.
    assert.deepEqual(await new FileSystemModelStore(storeDir).listVersions('m'), [1]);

    const data = new Float32Array([1, 2, 3]);
    const r = await server.predict({ model: 'm', inputs: { 'dense_dense1_input:0': { shape: [3, 1], data } } });
    assert.equal(data.length, 0, 'transferInputs: the input buffer moved to the thread');
    const y = [...(Object.values(r.outputs)[0]?.data as Float32Array)];
    assert.deepEqual(y, [1, 2, 3].map((x) => denseExpected(DENSE_KERNEL, DENSE_BIAS, x)));
    // A deadline already past: DEADLINE_EXCEEDED without the thread.
    await assert.rejects(server.predict({ model: 'm', inputs: { 'dense_dense1_input:0': [[1]] } }, { deadline: Date.now() - 1 }), (e: Error & { code?: string }) => e.code === 'DEADLINE_EXCEEDED');
    const metrics = await server.prometheusMetrics();
    assert.match(metrics, /:tensorflow:serving:request_count\{model_name="m",status="OK"\} 1/);

    // The thread dies: it is restarted, loads the version again (from the store), and serves.
    const restarted = new Promise<void>((resolve) => server.addEventListener('available', () => resolve(), { once: true }));
    server.crashWorkerForTesting('crash requested by the test');
    await restarted;
    assert.equal((await server.getModelStatus('m')).model_version_status[0]?.state, 'AVAILABLE');
    assert.equal(server.workerRestarts, 1);
    assert.match(restarts[0] ?? '', /crash requested by the test/);
    const again = await server.predict({ model: 'm', inputs: { 'dense_dense1_input:0': [[2]] } });
    assert.deepEqual([...(Object.values(again.outputs)[0]?.data as Float32Array)], [denseExpected(DENSE_KERNEL, DENSE_BIAS, 2)]);
  } finally {
    await server.close();
  }
});

test('a start that fails in the thread (a label on a missing version) rejects with its code, and the thread ends', async () => {
  const base = join(await tempDir('node-worker'), 'm');
  await mkdir(base, { recursive: true });
  await cp(DENSE_MODEL_DIR, join(base, '1'), { recursive: true });
  await assert.rejects(
    NodeWorkerModelServer.start({ modelConfigList: [{ name: 'm', basePath: base, versionLabels: { stable: 7 } }], backends: ['cpu'], pollIntervalMs: 0 }),
    (e: Error & { code?: string }) => e.code === 'FAILED_PRECONDITION' && /stable/.test(e.message),
  );
});
