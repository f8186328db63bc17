// The worker host in a real worker_threads thread (the entry `serve` uses), spoken to in raw protocol
// messages: a prediction is answered straight from the server; a predict message the protocol does not
// allow (args that are not a list) is answered with an error and the worker goes on serving.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { nodeWorkerEntryUrl, nodeWorkerSpawner } from '../../src/worker-client/node-worker-spawner.js';
import type { ClientMessage, WorkerMessage } from '../../src/worker-client/protocol.js';
import { publishGraphModel } from '../../src/repository/publish.js';
import { denseExpected, denseModel, removeTempDirs, tempDir } from '../helpers/models.js';

after(removeTempDirs);

test('a predict whose args are not a list gets an error; the worker keeps answering', { timeout: 120_000 }, async () => {
  const repo = await tempDir('host-repo');
  await publishGraphModel(await denseModel(3, 1), join(repo, 'm'), { version: 1 });
  const worker = nodeWorkerSpawner({ storeDir: await tempDir('host-store') })(nodeWorkerEntryUrl());
  const answers = new Map<number, (m: WorkerMessage) => void>();
  worker.addEventListener('message', (e) => {
    const messages = e.data.kind === 'bundle' ? e.data.messages : [e.data];
    for (const m of messages) if ('id' in m) answers.get(m.id)?.(m);
  });
  const ask = (msg: ClientMessage & { id: number }) =>
    new Promise<WorkerMessage>((resolve) => {
      answers.set(msg.id, resolve);
      worker.postMessage(msg, []);
    });
  try {
    const ready = await ask({ kind: 'start', id: 1, options: { modelConfigList: [{ name: 'm', basePath: join(repo, 'm') }], pollIntervalMs: 0, backends: ['cpu'] } });
    assert.equal(ready.kind, 'ready');
    // Not what the client sends: a hostile or broken page. (The protocol types args as a list.)
    const bad = await ask({ kind: 'call', id: 2, method: 'predict', args: 42 as never });
    assert.equal(bad.kind, 'error');
    const good = await ask({ kind: 'call', id: 3, method: 'predict', args: [{ model: 'm', inputs: { 'dense_dense1_input:0': [[2]] } }, {}] });
    assert.equal(good.kind, 'result');
    const value = (good as { value: { output: { data: Float32Array } } }).value; // a predict's result is a PredictResponse
    assert.deepEqual(Array.from(value.output.data), [denseExpected(3, 1, 2)]);
  } finally {
    worker.terminate();
  }
});
