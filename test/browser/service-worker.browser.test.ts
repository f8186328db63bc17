/**
 * TF Serving's REST API on the device: the bundle's Service Worker route hands `fetch('/v1/models/…')`
 * to the page, whose ModelServer (in its Web Worker) answers — online and offline.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { browserSkipReason } from './harness.js';
import { openLibraryPage } from './library-page.js';
import { publishGraphModel } from '../../src/repository/publish.js';
import { denseExpected, denseModel, removeTempDirs, tempDir } from '../helpers/models.js';
import { REPO_ROOT } from './harness.js';

const HALF_PLUS_TWO = join(REPO_ROOT, 'test', 'fixtures', 'savedmodels', 'tfserving', 'saved_model_half_plus_two_cpu', '00000123');

const skip = await browserSkipReason();

describe('REST API through the Service Worker', { skip: skip ?? false, timeout: 120_000 }, () => {
  let repoDir: string;
  before(async () => {
    repoDir = await tempDir('sw-repo');
    await publishGraphModel(await denseModel(1.5, 0), join(repoDir, 'm'), { version: 7 });
    // TF Serving's own test model, converted from its SavedModel by publish (every signature kept).
    await publishGraphModel(HALF_PLUS_TWO, join(repoDir, 'default'), { version: 123 });
  });
  after(removeTempDirs);

  test('fetch("/v1/models/…") is answered on the device, offline too: TF Serving\'s golden pairs on half_plus_two, and its errors', async () => {
    const app = await openLibraryPage(repoDir);
    try {
      await app.page.evaluate(async () => {
        const w = window as unknown as { lib: typeof import('../../src/browser.js'); server: unknown };
        const server = await w.lib.ModelServer.start({
          modelConfigList: [
            { name: 'm', basePath: '/repo/m' },
            { name: 'default', basePath: '/repo/default' },
          ],
          pollIntervalMs: 0,
          backends: ['wasm'],
        });
        w.lib.answerServiceWorkerRequests(server);
        await w.lib.registerRestServiceWorker('/lib/tfjs-serving.sw.js');
        w.server = server;
      });
      const call = (path: string, body?: unknown) =>
        app.page.evaluate(
          async ({ path, body }) => {
            const res = await fetch(path, body === undefined ? undefined : { method: 'POST', body: JSON.stringify(body), headers: { 'Content-Type': 'application/json' } });
            const text = await res.text();
            return { status: res.status, type: res.headers.get('content-type'), text, json: JSON.parse(text) };
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

      // TF Serving's golden request/response pairs (tensorflow_model_server_test.py), answered on the device.
      const golden: Array<[string, unknown, unknown]> = [
        ['/v1/models/default:predict', { instances: [2.0, 3.0, 4.0] }, { predictions: [3.0, 3.5, 4.0] }],
        ['/v1/models/default:predict', { inputs: [2.0, 3.0, 4.0] }, { outputs: [3.0, 3.5, 4.0] }],
        ['/v1/models/default:predict', { instances: [[1.0, 2.0], [3.0, 4.0]] }, { predictions: [[2.5, 3.0], [3.5, 4.0]] }],
        ['/v1/models/default:regress', { signature_name: 'regress_x_to_y', examples: [{ x: 2.0 }] }, { results: [3.0] }],
        ['/v1/models/default:regress', { signature_name: 'regress_x_to_y', examples: [{ x: 80.0 }] }, { results: [42] }],
        ['/v1/models/default:classify', { signature_name: 'classify_x_to_y', examples: [{ x: 2.0 }] }, { results: [[['', 3.0]]] }],
      ];
      for (const [path, body, expected] of golden) {
        const r = await call(path, body);
        assert.equal(r.status, 200, `${path} ${JSON.stringify(body)}: ${r.text}`);
        assert.deepEqual(r.json, expected, `${path} ${JSON.stringify(body)}`);
      }
      assert.match((await call('/v1/models/default:predict', { instances: [2.0, 3.0, 4.0] })).text.replace(/\s/g, ''), /^\{"predictions":\[3\.0,3\.5,4\.0\]\}$/);
      assert.deepEqual((await call('/v1/models/default')).json, {
        model_version_status: [{ version: '123', state: 'AVAILABLE', status: { error_code: 'OK', error_message: '' } }],
      });

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
