/**
 * TF Serving's REST API on the device: the bundle's Service Worker route hands `fetch('/v1/models/…')`
 * to the page, whose ModelServer (in its Web Worker) answers — online and offline.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { browserSkipReason } from './harness.js';
import { openLibraryPage } from './library-page.js';
import { publishGraphModel } from '../../src/cli/publish.js';
import { denseExpected, denseModel, removeTempDirs, tempDir } from '../helpers/models.js';

const skip = await browserSkipReason();

describe('REST API through the Service Worker', { skip: skip ?? false, timeout: 120_000 }, () => {
  let repoDir: string;
  before(async () => {
    repoDir = await tempDir('sw-repo');
    await publishGraphModel(await denseModel(1.5, 0), join(repoDir, 'm'), { version: 7 });
  });
  after(removeTempDirs);

  test('fetch("/v1/models/m:predict") is answered on the device, offline too; errors are TF Serving\'s', async () => {
    const app = await openLibraryPage(repoDir);
    try {
      await app.page.evaluate(async () => {
        const w = window as unknown as { lib: typeof import('../../src/browser.js'); server: unknown };
        const server = await w.lib.ModelServer.start({ modelConfigList: [{ name: 'm', basePath: '/repo/m' }], pollIntervalMs: 0, backends: ['wasm'] });
        w.lib.answerServiceWorkerRequests(server);
        await w.lib.registerRestServiceWorker('/lib/tfjs-serving.sw.js');
        w.server = server;
      });
      const call = (path: string, body?: unknown) =>
        app.page.evaluate(
          async ({ path, body }) => {
            const res = await fetch(path, body === undefined ? undefined : { method: 'POST', body: JSON.stringify(body), headers: { 'Content-Type': 'application/json' } });
            return { status: res.status, type: res.headers.get('content-type'), json: await res.json() };
          },
          { path, body },
        );
      const predicted = await call('/v1/models/m:predict', { instances: [[1], [2]] });
      assert.equal(predicted.status, 200);
      assert.deepEqual(predicted.json, { predictions: [[denseExpected(1.5, 0, 1)], [denseExpected(1.5, 0, 2)]] });
      const columnar = await call('/v1/models/m/versions/7:predict', { inputs: { 'dense_dense1_input:0': [[4]] } });
      assert.deepEqual(columnar.json, { outputs: [[denseExpected(1.5, 0, 4)]] });
      const status = await call('/v1/models/m');
      assert.deepEqual(status.json, { model_version_status: [{ version: '7', state: 'AVAILABLE', status: { error_code: 'OK', error_message: '' } }] });
      const repoRequests = app.server.requests.length;

      await app.browser.context.setOffline(true);
      const offline = await call('/v1/models/m:predict', { instances: [[3]] });
      assert.deepEqual(offline.json, { predictions: [[denseExpected(1.5, 0, 3)]] });
      const notFound = await call('/v1/models/nope:predict', { instances: [[3]] });
      assert.equal(notFound.status, 404);
      assert.match(notFound.json.error, /Servable not found for request: Latest\(nope\)/);
      const bad = await call('/v1/models/m:predict', { instances: [[3]], inputs: [[3]] });
      assert.equal(bad.status, 400);
      assert.equal(typeof bad.json.error, 'string');
      const malformed = await call('/v1/models/m/versions/x:predict', { instances: [[3]] });
      assert.equal(malformed.status, 400);
      assert.equal(app.server.requests.length, repoRequests, 'offline: nothing reached the network');
      await app.browser.context.setOffline(false);
    } finally {
      await app.close();
    }
  });
});
