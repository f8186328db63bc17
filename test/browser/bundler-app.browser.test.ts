/**
 * A web app that imports `tfjs-serving/browser` through a bundler, the way most apps are built: Vite's
 * production build and its dev server, and webpack 5's production build, with the package laid out in
 * the app's node_modules as npm installs it. The app must bundle the worker (with what it imports) and ship the WASM binaries, so
 * `ModelServer.start` serves in a worker on wasm from the app's own output. (Before, Vite copied the
 * worker file alone, its chunks were missing and the worker never started.)
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cp, mkdir, readdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { REPO_ROOT, browserSkipReason, launchBrowser, startStaticServer } from './harness.js';
import type { LaunchedBrowser } from './harness.js';
import { BUNDLE_DIR, ensureLibraryBundle } from './library-page.js';
import { publishGraphModel } from '../../src/repository/publish.js';
import { denseExpected, denseModel, removeTempDirs, tempDir } from '../helpers/models.js';

const skip = await browserSkipReason();

const MAIN = `import { ModelServer } from 'tfjs-serving/browser';
async function serve(worker) {
  try {
    const server = await ModelServer.start({ modelConfigList: [{ name: 'm', basePath: '/repo/m' }], pollIntervalMs: 0, backends: ['wasm'], worker });
    const r = await server.predict({ model: 'm', inputs: { 'dense_dense1_input:0': [[2], [-5]] } });
    await server.close();
    return { mode: server.mode, backend: server.backend, y: Array.from(r.output.data) };
  } catch (e) {
    return { error: String((e && e.message) || e) };
  }
}
window.result = (async () => [await serve(true), await serve(false)])();
`;

describe('an app built with a bundler (Vite, webpack 5) that imports tfjs-serving/browser', { skip: skip ?? false, timeout: 180_000 }, () => {
  let app: string;
  let browser: LaunchedBrowser;
  const y = [denseExpected(3, 1, 2), denseExpected(3, 1, -5)];
  // In a worker, then with worker: false (TF.js and its WASM on the page).
  const expected = [
    { mode: 'worker', backend: 'wasm', y },
    { mode: 'local', backend: 'wasm', y },
  ];

  before(async () => {
    await ensureLibraryBundle();
    app = await tempDir('vite-app');
    await writeFile(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module', dependencies: { 'tfjs-serving': '*' } }));
    await writeFile(join(app, 'index.html'), '<!doctype html>\n<meta charset="utf-8">\n<title>app</title>\n<script type="module" src="/main.js"></script>\n');
    await writeFile(join(app, 'main.js'), MAIN);
    // The package as installed: its package.json (the exports map) and the browser bundle it points to.
    const pkg = join(app, 'node_modules', 'tfjs-serving');
    await mkdir(join(pkg, 'dist'), { recursive: true });
    await cp(join(REPO_ROOT, 'package.json'), join(pkg, 'package.json'));
    await cp(BUNDLE_DIR, join(pkg, 'dist', 'browser'), { recursive: true });
    // The app's model repository, served from its public/ directory.
    await publishGraphModel(await denseModel(3, 1), join(app, 'public', 'repo', 'm'), { version: 1 });
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    await removeTempDirs();
  });

  const resultAt = async (origin: string) => {
    const page = await browser.context.newPage();
    try {
      await page.goto(`${origin}/index.html`);
      return await page.evaluate(() => (window as unknown as { result: Promise<unknown> }).result);
    } finally {
      await page.close();
    }
  };

  test('vite build: the worker is bundled, the WASM binaries shipped, and it serves in a worker and on the page', async () => {
    const { build } = await import('vite');
    const outDir = join(app, 'dist');
    await build({ root: app, configFile: false, logLevel: 'silent', build: { outDir, emptyOutDir: true } });
    const assets = await readdir(join(outDir, 'assets'));
    assert.ok(assets.some((f) => /^tfjs-serving\.worker-.*\.js$/.test(f)), `a bundled worker among ${assets.join(', ')}`);
    assert.ok(assets.some((f) => /^tfjs-backend-wasm-simd-.*\.wasm$/.test(f)) && assets.some((f) => /^tfjs-backend-wasm-[^s].*\.wasm$/.test(f)), `both WASM binaries among ${assets.join(', ')}`);
    const server = await startStaticServer({ roots: [outDir] });
    try {
      assert.deepEqual(await resultAt(server.origin), expected);
      assert.ok(!server.requests.some((r) => r.includes('node_modules')), 'everything came from the app\'s own output');
    } finally {
      await server.close();
    }
  });

  test('webpack 5 production build: serves in a worker and on the page', async () => {
    const { default: webpack } = await import('webpack');
    const outDir = join(app, 'webpack-dist');
    const stats = await new Promise<import('webpack').Stats>((resolve, reject) =>
      webpack({ mode: 'production', context: app, entry: './main.js', output: { path: outDir, publicPath: 'auto', clean: true }, performance: { hints: false } }, (err, s) => (err || !s ? reject(err ?? new Error('webpack gave no stats')) : resolve(s))),
    );
    assert.ok(!stats.hasErrors(), stats.toString('errors-only'));
    const files = await readdir(outDir);
    assert.equal(files.filter((f) => f.endsWith('.wasm')).length, 2, `both WASM binaries among ${files.join(', ')}`);
    await cp(join(app, 'public', 'repo'), join(outDir, 'repo'), { recursive: true });
    await writeFile(join(outDir, 'index.html'), '<!doctype html>\n<meta charset="utf-8">\n<title>app</title>\n<script src="/main.js"></script>\n');
    const server = await startStaticServer({ roots: [outDir] });
    try {
      assert.deepEqual(await resultAt(server.origin), expected);
    } finally {
      await server.close();
    }
  });

  test("an app's own Service Worker, built by Vite with tfjs-serving/sw-route, answers a REST predict through the page's server", async () => {
    const pwa = await tempDir('vite-pwa');
    await cp(join(app, 'node_modules'), join(pwa, 'node_modules'), { recursive: true });
    await cp(join(app, 'public'), join(pwa, 'public'), { recursive: true });
    await writeFile(join(pwa, 'package.json'), JSON.stringify({ name: 'pwa', private: true, type: 'module' }));
    await writeFile(join(pwa, 'index.html'), '<!doctype html>\n<meta charset="utf-8">\n<title>pwa</title>\n<script type="module" src="/main.js"></script>\n');
    await writeFile(
      join(pwa, 'main.js'),
      `import { ModelServer, answerServiceWorkerRequests, registerRestServiceWorker } from 'tfjs-serving/browser';
window.result = (async () => {
  try {
    const server = await ModelServer.start({ modelConfigList: [{ name: 'm', basePath: '/repo/m' }], pollIntervalMs: 0, backends: ['wasm'] });
    answerServiceWorkerRequests(server);
    await registerRestServiceWorker('/sw.js');
    const res = await fetch('/v1/models/m:predict', { method: 'POST', body: JSON.stringify({ instances: [[2], [-5]] }) });
    return { status: res.status, body: await res.json() };
  } catch (e) {
    return { error: String((e && e.message) || e) };
  }
})();
`,
    );
    // The app's Service Worker: the three lines of docs/service-worker.md, the route imported by package name.
    await writeFile(
      join(pwa, 'sw.js'),
      `import { registerModelServerRoute } from 'tfjs-serving/sw-route';
registerModelServerRoute();
self.addEventListener('install', () => self.skipWaiting());
self.addEventListener('activate', (event) => event.waitUntil(self.clients.claim()));
`,
    );
    const { build } = await import('vite');
    const outDir = join(pwa, 'dist');
    await build({ root: pwa, configFile: false, logLevel: 'silent', build: { outDir, emptyOutDir: true } });
    // The Service Worker as one file at the root scope, the way a PWA build emits it.
    await build({ root: pwa, configFile: false, logLevel: 'silent', publicDir: false, build: { outDir, emptyOutDir: false, lib: { entry: join(pwa, 'sw.js'), formats: ['es'], fileName: () => 'sw.js' } } });
    const server = await startStaticServer({ roots: [outDir] });
    try {
      assert.deepEqual(await resultAt(server.origin), { status: 200, body: { predictions: [[denseExpected(3, 1, 2)], [denseExpected(3, 1, -5)]] } });
    } finally {
      await server.close();
    }
  });

  test("the root import (the unbundled build) in a Vite app: a failed worker start names 'tfjs-serving/browser'", async () => {
    // Another app whose tfjs-serving is the whole package (dist/src and dist/worker too, its dependencies beside it).
    const root = await tempDir('vite-root-app');
    await writeFile(join(root, 'package.json'), JSON.stringify({ name: 'root-app', private: true, type: 'module' }));
    await writeFile(join(root, 'index.html'), '<!doctype html>\n<meta charset="utf-8">\n<title>app</title>\n<script type="module" src="/main.js"></script>\n');
    await writeFile(join(root, 'main.js'), MAIN.replace("from 'tfjs-serving/browser'", "from 'tfjs-serving'"));
    const pkg = join(root, 'node_modules', 'tfjs-serving');
    await mkdir(pkg, { recursive: true });
    await cp(join(REPO_ROOT, 'package.json'), join(pkg, 'package.json'));
    for (const dir of ['src', 'worker']) await cp(join(REPO_ROOT, 'dist', dir), join(pkg, 'dist', dir), { recursive: true });
    await symlink(join(REPO_ROOT, 'node_modules'), join(pkg, 'node_modules'), 'dir');
    await cp(join(app, 'public'), join(root, 'public'), { recursive: true });
    const { build } = await import('vite');
    const outDir = join(root, 'dist');
    await build({ root, configFile: false, logLevel: 'silent', build: { outDir, emptyOutDir: true } });
    const server = await startStaticServer({ roots: [outDir] });
    try {
      const [inWorker] = (await resultAt(server.origin)) as Array<{ error?: string }>;
      assert.match(inWorker?.error ?? '', /could not start .*import ModelServer from 'tfjs-serving\/browser'/);
    } finally {
      await server.close();
    }
  });

  test('vite dev server: serves the same', async () => {
    const { createServer } = await import('vite');
    const dev = await createServer({ root: app, configFile: false, logLevel: 'silent', server: { host: '127.0.0.1', port: 0, strictPort: false, hmr: false } });
    await dev.listen();
    try {
      const { port } = dev.httpServer!.address() as AddressInfo; // listening on a TCP port, just above
      assert.deepEqual(await resultAt(`http://127.0.0.1:${port}`), expected);
    } finally {
      await dev.close();
    }
  });
});
