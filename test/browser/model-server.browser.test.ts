/**
 * The ModelServer in real headless Chromium: a repository on a real HTTP server, versions downloaded into
 * real IndexedDB, an offline start from IndexedDB, and a storage quota that refuses a version while the
 * old one keeps serving.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { browserSkipReason, buildBrowserBundle, launchBrowser, openTestPage, startStaticServer, REPO_ROOT } from './harness.js';
import type { BrowserBundle, LaunchedBrowser } from './harness.js';
import { publishGraphModel } from '../../src/repository/publish.js';
import { denseExpected, denseModel, humanModel, removeTempDirs, tempDir } from '../helpers/models.js';

const skip = await browserSkipReason();
const WASM = join(REPO_ROOT, 'node_modules', '@tensorflow', 'tfjs-backend-wasm', 'dist');

describe('ModelServer in headless Chromium with IndexedDB', { skip: skip ?? false, timeout: 120_000 }, () => {
  let browser: LaunchedBrowser;
  let bundle: BrowserBundle;
  let repoDir: string;

  before(async () => {
    bundle = await buildBrowserBundle('test/browser/entries/model-server.entry.ts');
    browser = await launchBrowser();
    repoDir = await tempDir('browser-repo');
  });

  after(async () => {
    await browser?.close();
    await removeTempDirs();
  });

  const publishDense = async (version: number) => publishGraphModel(await denseModel(version, 0), join(repoDir, 'm'), { version });

  test('downloads into IndexedDB, swaps v1 → v2, then starts offline from IndexedDB', async () => {
    await publishDense(1);
    const server = await startStaticServer({ mounts: { '/bundle/': bundle.dir, '/wasm/': WASM, '/repo/': repoDir } });
    const p = await openTestPage({ bundle, browser, server });
    try {
      const started = await p.run<{ backend: string; store: string; status: unknown }>('start', { basePath: '/repo/m' });
      assert.equal(started.backend, 'wasm');
      assert.equal(started.store, 'indexeddb');
      assert.deepEqual(await p.run('predict', 3), { version: 1, y: denseExpected(1, 0, 3) });
      assert.deepEqual(await p.run('errorShape'), { isServingError: true, code: 'INVALID_ARGUMENT' });

      await publishDense(2);
      const polled = await p.run<{ stored: number[] }>('pollNow');
      assert.deepEqual(polled.stored, [2], 'v1 deleted from IndexedDB after it was unloaded');
      assert.deepEqual(await p.run('predict', 3), { version: 2, y: denseExpected(2, 0, 3) });
      // (Listeners attach after start resolves, so v1's own loading happened before them.)
      assert.deepEqual(await p.run('close'), ['2:START:OK', '2:LOADING:OK', '2:AVAILABLE:OK', '1:UNLOADING:OK', '1:END:OK', '2:UNLOADING:OK', '2:END:OK']);

      // Offline: a new server in the page starts from IndexedDB with no network at all.
      await p.context.setOffline(true);
      const repoRequests = server.requests.filter((r) => r.includes(' /repo/')).length;
      const offline = await p.run<{ status: { model_version_status: Array<{ version: string; state: string }> } }>('start', { basePath: '/repo/m' });
      assert.deepEqual(offline.status.model_version_status.map((s) => `${s.version}:${s.state}`), ['2:AVAILABLE']);
      assert.deepEqual(await p.run('predict', 4), { version: 2, y: denseExpected(2, 0, 4) });
      const afterOffline = await p.run<{ source: { lastError: { code: string } } }>('pollNow');
      assert.equal(afterOffline.source.lastError.code, 'UNAVAILABLE');
      assert.equal(server.requests.filter((r) => r.includes(' /repo/')).length, repoRequests, 'nothing reached the server');
      await p.context.setOffline(false);
      await p.run('close');
    } finally {
      await p.close();
      await server.close();
    }
  });

  test('a version over the storage quota gets RESOURCE_EXHAUSTED and the old version keeps serving', async () => {
    const quotaRepo = await tempDir('browser-quota-repo');
    await publishGraphModel(await denseModel(1, 0), join(quotaRepo, 'm'), { version: 1 });
    await publishGraphModel(humanModel('emotion'), join(quotaRepo, 'm'), { version: 2 }); // ~820 KB
    // A fresh origin (new port): Chromium caches an origin's allowed space once it has been used.
    const server = await startStaticServer({ mounts: { '/bundle/': bundle.dir, '/wasm/': WASM, '/repo/': quotaRepo } });
    const p = await openTestPage({ bundle, browser, server });
    const cdp = await p.cdp();
    try {
      await cdp.send('Storage.overrideQuotaForOrigin', { origin: server.origin, quotaSize: 300 * 1024 });
      await p.run('start', { basePath: '/repo/m', modelVersionPolicy: { specific: { versions: [1] } } });
      assert.equal((await p.run<{ version: number }>('predict', 1)).version, 1);
      await p.run('close');
      const started = await p.run<{ status: { model_version_status: Array<{ version: string; state: string; status: { error_code: string; error_message: string } }> } }>('start', { basePath: '/repo/m' });
      const [v2, v1] = started.status.model_version_status;
      assert.equal(v2!.version, '2');
      assert.equal(v2!.state, 'START');
      assert.equal(v2!.status.error_code, 'RESOURCE_EXHAUSTED');
      assert.match(v2!.status.error_message, /quota exceeded/);
      assert.equal(v1!.state, 'AVAILABLE');
      assert.deepEqual(await p.run('predict', 2), { version: 1, y: denseExpected(1, 0, 2) });
      const polled = await p.run<{ stored: number[] }>('pollNow');
      assert.deepEqual(polled.stored, [1], 'nothing of v2 stays in IndexedDB');
      await p.run('close');
    } finally {
      await cdp.send('Storage.overrideQuotaForOrigin', { origin: server.origin }).catch(() => undefined);
      await p.close();
      await server.close();
    }
  });
});
