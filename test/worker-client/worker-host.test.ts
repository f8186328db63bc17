// The worker host in a real worker_threads thread (the entry `serve` uses), spoken to in raw protocol
// messages: a prediction is answered straight from the server; a predict message the protocol does not
// allow (args that are not a list) is answered with an error and the worker goes on serving. And the
// client's side: requests made together leave as one bundle; one that cannot be posted fails alone.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { nodeWorkerEntryUrl, nodeWorkerSpawner } from '../../src/worker-client/node-worker-spawner.js';
import type { ClientMessage, WorkerMessage } from '../../src/worker-client/protocol.js';
import { WorkerModelServer } from '../../src/worker-client/worker-model-server.js';
import type { WorkerLike, WorkerSpawner } from '../../src/worker-client/worker-supervisor.js';
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

test('predictions made together reach the worker as one bundle; one that cannot be posted fails alone', { timeout: 120_000 }, async () => {
  const repo = await tempDir('bundle-repo');
  await publishGraphModel(await denseModel(3, 1), join(repo, 'm'), { version: 1 });
  // The real thread, with every message the client posts to it noted.
  const posted: string[] = [];
  const spawn: WorkerSpawner = (url) => {
    const thread = nodeWorkerSpawner({ storeDir: '' })(url);
    const noting: WorkerLike = {
      postMessage(message, transfer) {
        posted.push(message.kind === 'bundle' ? `bundle of ${message.messages.length}` : message.kind);
        thread.postMessage(message, transfer);
      },
      addEventListener: thread.addEventListener.bind(thread),
      terminate: () => thread.terminate(),
    };
    return noting;
  };
  const server = await WorkerModelServer.start({ modelConfigList: [{ name: 'm', basePath: join(repo, 'm') }], pollIntervalMs: 0, backends: ['cpu'], workerUrl: nodeWorkerEntryUrl().href }, spawn);
  try {
    posted.length = 0;
    const x = (v: number) => ({ model: 'm', inputs: { 'dense_dense1_input:0': [[v]] } });
    // The middle one holds a function: it cannot be cloned to the worker.
    const answers = await Promise.allSettled([server.predict(x(1)), server.predict(x((() => 1) as never)), server.predict(x(2))]);
    assert.deepEqual(posted, ['bundle of 3', 'call', 'call', 'call'], 'one bundle tried; it could not be cloned, so each was tried alone');
    assert.deepEqual(answers.map((a) => a.status), ['fulfilled', 'rejected', 'fulfilled']);
    const [one, bad, two] = answers;
    assert.deepEqual([one, two].map((a) => (a?.status === 'fulfilled' ? Array.from(a.value.output!.data as Float32Array) : [])), [[denseExpected(3, 1, 1)], [denseExpected(3, 1, 2)]]);
    assert.equal(bad?.status === 'rejected' ? (bad.reason as { code?: string }).code : undefined, 'INVALID_ARGUMENT');
    // All three cloneable: one message.
    posted.length = 0;
    await Promise.all([1, 2, 3].map((v) => server.predict(x(v))));
    assert.deepEqual(posted, ['bundle of 3']);
  } finally {
    await server.close();
  }
});
