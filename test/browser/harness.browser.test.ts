/** The browser harness end to end: TF.js bundled by vite runs in headless Chromium; offline mode; WebGPU flags. */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { REPO_ROOT, browserSkipReason, buildBrowserBundle, launchBrowser, openTestPage, withPage } from './harness.js';
import type { BrowserBundle, LaunchedBrowser, TestPage } from './harness.js';

const skip = await browserSkipReason();
const wasmDir = join(REPO_ROOT, 'node_modules/@tensorflow/tfjs-backend-wasm/dist');

describe('browser harness', { skip: skip ?? false, timeout: 60_000 }, () => {
  let bundle: BrowserBundle;
  let browser: LaunchedBrowser;
  let p: TestPage;

  before(async () => {
    bundle = await buildBrowserBundle('test/browser/entries/tfjs-smoke.entry.ts');
    browser = await launchBrowser();
    p = await openTestPage({ bundle, browser, mounts: { '/wasm/': wasmDir } });
  });

  after(async () => {
    await p?.close();
    await browser?.close();
  });

  test('TF.js bundled with vite runs on the cpu and wasm backends', async () => {
    for (const backend of ['cpu', 'wasm']) {
      const r = await p.run<{ backend: string; version: string; values: number[] }>('matMul', backend);
      assert.equal(r.backend, backend);
      assert.equal(r.version, '4.22.0');
      assert.deepEqual(r.values, [19, 22, 43, 50]);
    }
    assert.ok(p.server.requests.some((r) => /^GET \/wasm\/tfjs-backend-wasm.*\.wasm$/.test(r)), 'the wasm binary came from the static server');
  });

  test('without the WebGPU flags there is no GPU adapter', async () => {
    assert.equal(await p.run('gpuAdapter'), null);
  });

  test('context.setOffline cuts the page off the static server and back', async () => {
    assert.equal((await p.run<{ status: number }>('fetchText', '/bundle/tfjs-smoke.entry.js')).status, 200);
    await p.context.setOffline(true);
    try {
      await assert.rejects(p.run('fetchText', '/bundle/tfjs-smoke.entry.js'), /Failed to fetch/);
    } finally {
      await p.context.setOffline(false);
    }
    assert.equal((await p.run<{ status: number }>('fetchText', '/bundle/tfjs-smoke.entry.js')).status, 200);
  });

  test('withPage({webgpu: true}) gives a SwiftShader adapter and the webgpu backend initialises', async () => {
    await withPage({ bundle, webgpu: true }, async (gpuPage) => {
      const adapter = await gpuPage.run<{ vendor: string; architecture: string } | null>('gpuAdapter');
      assert.ok(adapter, 'requestAdapter() returned an adapter');
      assert.equal(adapter.architecture, 'swiftshader');
      const r = await gpuPage.run<{ backend: string; values: number[] }>('matMul', 'webgpu', 45_000);
      assert.equal(r.backend, 'webgpu');
      assert.deepEqual(r.values, [19, 22, 43, 50]);
    });
  });
});
