/**
 * The browser runtime as a web app uses it: the built bundle imported by a plain page, the Manager in a
 * module Web Worker, real IndexedDB, a real repository over HTTP on 127.0.0.1, headless Chromium.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { browserSkipReason } from './harness.js';
import { openLibraryPage } from './library-page.js';
import type { LibraryPage } from './library-page.js';
import { publishGraphModel } from '../../src/repository/publish.js';
import { denseExpected, denseModel, removeTempDirs, tempDir } from '../helpers/models.js';

const skip = await browserSkipReason();

type Win = Window & { lib: typeof import('../../src/browser.js'); server: import('../../src/browser.js').ModelServer; events: string[] };

/** Starts a ModelServer (worker mode by default) in the page; returns its mode and backend. */
function startServer(page: Page, options: Record<string, unknown> = {}) {
  return page.evaluate(async (opts) => {
    const w = window as unknown as Win;
    w.events = [];
    w.server = await w.lib.ModelServer.start({
      modelConfigList: [{ name: 'm', basePath: '/repo/m' }],
      pollIntervalMs: 0,
      ...opts,
    } as never);
    for (const type of ['statechange', 'workerrestart']) {
      w.server.addEventListener(type, (e) => {
        const ev = e as unknown as { version?: number; state?: string; reason?: string };
        w.events.push(type === 'statechange' ? `${ev.version}:${ev.state}` : `restart:${ev.reason}`);
      });
    }
    return { mode: w.server.mode, backend: w.server.backend };
  }, options);
}

function predict(page: Page, x: number) {
  return page.evaluate(async (x) => {
    const w = window as unknown as Win;
    const data = new Float32Array([x]);
    const r = await w.server.predict({ model: 'm', inputs: { 'dense_dense1_input:0': { shape: [1, 1], data } } });
    return { version: r.model.version, y: (r.outputs['Identity:0']!.data as Float32Array)[0]!, inputDetached: data.byteLength === 0 };
  }, x);
}

/** `callers` loops of predictions until `stop()` is evaluated; returns counts by version and failures. */
function startLoad(page: Page, callers: number) {
  return page.evaluate((callers) => {
    const w = window as unknown as Win & { load: Promise<unknown>; stopLoad: boolean };
    w.stopLoad = false;
    const byVersion: Record<string, number> = {};
    const failures: string[] = [];
    w.load = Promise.all(
      Array.from({ length: callers }, async (_, i) => {
        while (!w.stopLoad) {
          try {
            const r = await w.server.predict({ model: 'm', inputs: { 'dense_dense1_input:0': [[i + 1]] } });
            const y = (r.outputs['Identity:0']!.data as Float32Array)[0]!;
            if (Math.abs(y - r.model.version * (i + 1)) > 1e-5) failures.push(`wrong answer ${y} from v${r.model.version}`);
            byVersion[r.model.version] = (byVersion[r.model.version] ?? 0) + 1;
          } catch (e) {
            failures.push(`${(e as { code?: string }).code}: ${(e as Error).message}`);
          }
        }
      }),
    ).then(() => ({ byVersion, failures }));
  }, callers);
}

function stopLoad(page: Page): Promise<{ byVersion: Record<string, number>; failures: string[] }> {
  return page.evaluate(async () => {
    const w = window as unknown as Win & { load: Promise<{ byVersion: Record<string, number>; failures: string[] }>; stopLoad: boolean };
    w.stopLoad = true;
    return w.load;
  });
}

describe('the bundle in a page, the Manager in a Web Worker', { skip: skip ?? false, timeout: 180_000 }, () => {
  let repoDir: string;
  const publish = async (version: number) => publishGraphModel(await denseModel(version, 0), join(repoDir, 'm'), { version });

  before(async () => {
    repoDir = await tempDir('worker-repo');
    await publish(1);
  });
  after(removeTempDirs);

  test('predict on wasm through the worker; inputs are transferred with transferInputs: true; errors keep their code', async () => {
    const app = await openLibraryPage(repoDir);
    try {
      assert.deepEqual(await startServer(app.page, { backends: ['wasm'], transferInputs: true }), { mode: 'worker', backend: 'wasm' });
      assert.deepEqual(await predict(app.page, 3), { version: 1, y: denseExpected(1, 0, 3), inputDetached: true });
      const err = await app.page.evaluate(async () => {
        const w = window as unknown as Win;
        try {
          await w.server.predict({ model: 'm', inputs: { nope: [[1]] } });
        } catch (e) {
          return { isServingError: e instanceof w.lib.ServingError, code: (e as { code: string }).code, message: (e as Error).message };
        }
        return null;
      });
      assert.equal(err?.isServingError, true);
      assert.equal(err?.code, 'INVALID_ARGUMENT');
      assert.match(err!.message, /input "nope" is not an input of signature "serving_default"/);
      const status = await app.page.evaluate(() => (window as unknown as Win).server.getModelStatus('m'));
      assert.deepEqual(status, { model_version_status: [{ version: '1', state: 'AVAILABLE', status: { error_code: 'OK', error_message: '' } }] });
      // Metrics cross the worker boundary too, in JSON and in Prometheus text.
      const metrics = await app.page.evaluate(async () => {
        const s = (window as unknown as Win).server;
        const m = (await s.metrics()) as unknown as Record<string, { samples: Array<{ labels: Record<string, string>; value?: number }> }>;
        return { counts: m['/tensorflow/serving/request_count']!.samples.map((x) => `${x.labels.status}=${x.value}`).sort(), text: await s.prometheusMetrics() };
      });
      assert.deepEqual(metrics.counts, ['INVALID_ARGUMENT=1', 'OK=1']);
      assert.match(metrics.text, /:tensorflow:serving:request_count\{model_name="m",status="OK"\} 1/);
      assert.match(metrics.text, /:tensorflow:serving:backend\{backend="wasm"\} 1/);
      await app.page.evaluate(() => (window as unknown as Win).server.close());
    } finally {
      await app.close();
    }
  });

  test('a worker that cannot start fails start() with UNAVAILABLE naming its URL (no restart loop)', async () => {
    const app = await openLibraryPage(repoDir);
    try {
      const err = await app.page.evaluate(async () => {
        const w = window as unknown as Win;
        try {
          await w.lib.ModelServer.start({ modelConfigList: [{ name: 'm', basePath: '/repo/m' }], workerUrl: '/lib/no-such-worker.js' });
          return null;
        } catch (e) {
          return { code: (e as { code: string }).code, message: (e as Error).message };
        }
      });
      assert.equal(err?.code, 'UNAVAILABLE');
      assert.match(err!.message, /the tfjs-serving worker could not start from http:\/\/127\.0\.0\.1:\d+\/lib\/no-such-worker\.js/);
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(app.server.requests.filter((r) => r.includes('no-such-worker')).length, 1, 'tried once, not in a loop');
    } finally {
      await app.close();
    }
  });

  test('predict on WebGPU (SwiftShader) through the worker', async () => {
    const app = await openLibraryPage(repoDir, { webgpu: true });
    try {
      assert.deepEqual(await startServer(app.page, { backends: ['webgpu', 'wasm'] }), { mode: 'worker', backend: 'webgpu' });
      const r = await predict(app.page, 3);
      assert.equal(r.version, 1);
      assert.ok(Math.abs(r.y - denseExpected(1, 0, 3)) < 1e-5);
    } finally {
      await app.close();
    }
  });

  test('falls back to wasm when WebGPU is unavailable (inputs copied by default)', async () => {
    const app = await openLibraryPage(repoDir);
    try {
      assert.equal(await app.page.evaluate(async () => !!(await (navigator as unknown as { gpu?: { requestAdapter(): Promise<unknown> } }).gpu?.requestAdapter())), false);
      assert.deepEqual(await startServer(app.page, { backends: ['webgpu', 'wasm', 'cpu'] }), { mode: 'worker', backend: 'wasm' });
      const r = await predict(app.page, 2);
      assert.equal(r.y, denseExpected(1, 0, 2));
      assert.equal(r.inputDetached, false, "the caller's typed arrays are copied unless transferInputs: true");
    } finally {
      await app.close();
    }
  });

  test('a version swap under 16 concurrent callers has zero failures; events reach the page', async () => {
    const app = await openLibraryPage(repoDir);
    try {
      await startServer(app.page, { backends: ['wasm'] });
      await startLoad(app.page, 16);
      await publish(2);
      await app.page.evaluate(() => (window as unknown as Win).server.pollNow());
      await new Promise((r) => setTimeout(r, 200));
      const { byVersion, failures } = await stopLoad(app.page);
      assert.deepEqual(failures, []);
      assert.ok((byVersion['1'] ?? 0) > 0 && (byVersion['2'] ?? 0) > 0, JSON.stringify(byVersion));
      assert.deepEqual(await app.page.evaluate(() => (window as unknown as Win).events), ['2:START', '2:LOADING', '2:AVAILABLE', '1:UNLOADING', '1:END']);
    } finally {
      await app.close();
    }
  });

  test('offline restart: the page reloads with the network gone and serves from IndexedDB', async () => {
    const app = await openLibraryPage(repoDir, { cacheable: true });
    try {
      await startServer(app.page, { backends: ['wasm'] });
      const online = await predict(app.page, 5);
      await app.page.evaluate(() => (window as unknown as Win).server.close());
      const repoRequests = app.server.requests.filter((r) => r.includes(' /repo/')).length;
      await app.browser.context.setOffline(true);
      await app.page.goto(`${app.server.origin}/index.html`); // a navigation may use the HTTP cache; a reload revalidates
      await app.page.waitForFunction(() => (window as unknown as { libReady?: boolean }).libReady === true);
      await startServer(app.page, { backends: ['wasm'] });
      assert.deepEqual(await predict(app.page, 5), online);
      const source = await app.page.evaluate(() => (window as unknown as Win).server.sourceState('m'));
      assert.equal(source.lastError?.code, 'UNAVAILABLE');
      assert.equal(app.server.requests.filter((r) => r.includes(' /repo/')).length, repoRequests, 'no request reached the repository');
      await app.browser.context.setOffline(false);
    } finally {
      await app.close();
    }
  });

  test('the worker dies: calls in flight fail UNAVAILABLE, a new worker loads from IndexedDB and serving goes on', async () => {
    const app = await openLibraryPage(repoDir);
    try {
      await startServer(app.page, { backends: ['wasm'] });
      await startLoad(app.page, 8);
      await new Promise((r) => setTimeout(r, 100));
      await app.page.evaluate(() => ((window as unknown as Win).server as unknown as { crashWorkerForTesting(): void }).crashWorkerForTesting());
      await app.page.waitForFunction(() => (window as unknown as Win).events.some((e) => e.startsWith('restart:')));
      await new Promise((r) => setTimeout(r, 300));
      const { byVersion, failures } = await stopLoad(app.page);
      assert.ok(failures.every((f) => f.startsWith('UNAVAILABLE: ')), failures.join('\n'));
      assert.ok(failures.length <= 8, `only calls in flight failed (${failures.length})`);
      const served = Object.values(byVersion).reduce((a, b) => a + b, 0);
      assert.ok(served > 0, 'predictions succeeded before and after the crash');
      const before = await app.page.evaluate(() => (window as unknown as Win).events.filter((e) => e.endsWith(':AVAILABLE')).length);
      assert.ok(before >= 1, 'the new worker loaded the version again (AVAILABLE forwarded)');
      const after = await predict(app.page, 2);
      assert.equal(after.y, denseExpected(after.version, 0, 2));
      assert.equal(await app.page.evaluate(() => ((window as unknown as Win).server as unknown as { workerRestarts: number }).workerRestarts), 1);
    } finally {
      await app.close();
    }
  });

  test('a worker that keeps dying is not restarted forever: calls then fail with UNAVAILABLE saying why', async () => {
    const app = await openLibraryPage(repoDir);
    try {
      await startServer(app.page, { backends: ['wasm'] });
      for (let i = 1; i <= 6; i++) {
        await app.page.evaluate(() => ((window as unknown as Win).server as unknown as { crashWorkerForTesting(): void }).crashWorkerForTesting());
        if (i <= 5) await app.page.waitForFunction((n) => (window as unknown as Win).events.filter((e) => e.startsWith('restart:')).length >= n, i);
        await new Promise((r) => setTimeout(r, 50));
      }
      // The 6th death lands once that worker has loaded and run the crash: poll until calls fail for good.
      const err = await app.page.evaluate(async () => {
        for (let i = 0; i < 100; i++) {
          try {
            await (window as unknown as Win).server.predict({ model: 'm', inputs: { 'dense_dense1_input:0': [[1]] } });
          } catch (e) {
            if (/not restarted again/.test((e as Error).message)) return { code: (e as { code: string }).code, message: (e as Error).message };
          }
          await new Promise((r) => setTimeout(r, 100));
        }
        return null;
      });
      assert.equal(err?.code, 'UNAVAILABLE');
      assert.match(err!.message, /died 6 times within 60 s and is not restarted again; last: .*crash requested by the client/);
      const restarts = await app.page.evaluate(() => (window as unknown as Win).events.filter((e) => e.startsWith('restart:')).length);
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(await app.page.evaluate(() => (window as unknown as Win).events.filter((e) => e.startsWith('restart:')).length), restarts, 'no more restarts');
    } finally {
      await app.close();
    }
  });

  test('WebGPU device lost: the worker reports it, a new worker (and device) takes over', async () => {
    const app = await openLibraryPage(repoDir, { webgpu: true });
    try {
      assert.equal((await startServer(app.page, { backends: ['webgpu'] })).backend, 'webgpu');
      const before = await predict(app.page, 2);
      await app.page.evaluate(() => ((window as unknown as Win).server as unknown as { crashWorkerForTesting(how: string): void }).crashWorkerForTesting('lose-gpu-device'));
      await app.page.waitForFunction(() => (window as unknown as Win).events.some((e) => e.startsWith('restart:')));
      const reason = await app.page.evaluate(() => (window as unknown as Win).events.find((e) => e.startsWith('restart:')));
      assert.match(reason!, /GPU device lost \(destroyed\)/);
      const after = await predict(app.page, 2);
      assert.equal(after.version, before.version);
      assert.ok(Math.abs(after.y - before.y) < 1e-5);
    } finally {
      await app.close();
    }
  });

  test('two tabs share one store: one downloads a new version, the other loads the commit; no duplicate downloads', async () => {
    const repo2 = await tempDir('tabs-repo');
    await publishGraphModel(await denseModel(1, 0), join(repo2, 'm'), { version: 1 });
    const app = await openLibraryPage(repo2);
    try {
      const tabB = await app.newTab();
      await startServer(app.page, { backends: ['wasm'] });
      await startServer(tabB, { backends: ['wasm'] });
      await publishGraphModel(await denseModel(2, 0), join(repo2, 'm'), { version: 2 });
      // Both tabs poll at once; the Web Lock lets one download, the broadcast makes the other load it.
      await Promise.all([app.page, tabB].map((p) => p.evaluate(() => (window as unknown as Win).server.pollNow())));
      await tabB.waitForFunction(() => (window as unknown as Win).events.includes('2:AVAILABLE'));
      assert.equal((await predict(app.page, 1)).version, 2);
      assert.equal((await predict(tabB, 1)).version, 2);
      // Only the kernel's shard changed (shards are per weight; the bias's is already stored).
      const shardGets = app.server.requests.filter((r) => r.startsWith('GET /repo/m/2/') && r.endsWith('.bin')).length;
      assert.equal(shardGets, 1, 'version 2 was downloaded once for both tabs');
    } finally {
      await app.close();
    }
  });
});
