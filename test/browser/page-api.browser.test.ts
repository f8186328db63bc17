/**
 * The page-side API as a web app under a subpath uses it: the built bundle imported by a page at
 * /app/index.html, a relative basePath (`models/m`), the Manager in a module Web Worker, a real
 * repository over HTTP on 127.0.0.1, headless Chromium; TF.js loaded on the page only to make a real
 * tf.Tensor (the bundle does not load it on the page).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { browserSkipReason, REPO_ROOT } from './harness.js';
import { openLibraryPage } from './library-page.js';
import { publishGraphModel } from '../../src/repository/publish.js';
import { denseExpected, denseModel, removeTempDirs, tempDir } from '../helpers/models.js';

const skip = await browserSkipReason();

type Lib = typeof import('../../src/browser.js');
type Win = Window & { lib: Lib; server: import('../../src/browser.js').ModelServer; seen: string[]; tf?: { tensor2d(v: number[][]): { dispose(): void; isDisposed: boolean } } };

/** tsx keeps function names with a `__name` helper that the page does not have: give it one. */
const KEEP_NAMES = 'window.__name = (f) => f';

const APP = { pagePath: '/app/index.html', repoMount: '/app/models/', mounts: { '/tfjs/': join(REPO_ROOT, 'node_modules', '@tensorflow', 'tfjs', 'dist') } };

describe('the page-side API in a page under /app/, the Manager in a worker', { skip: skip ?? false, timeout: 180_000 }, () => {
  let repoDir: string;

  before(async () => {
    repoDir = await tempDir('page-api-repo');
    await publishGraphModel(await denseModel(2, 0), join(repoDir, 'm'), { version: 1 });
  });
  after(removeTempDirs);

  test('relative basePath resolves against the page; progress phases and totalprogress reach the page; bare, typed-array and tf.Tensor inputs; inputs copied by default', async () => {
    const app = await openLibraryPage(repoDir, APP);
    try {
      await app.page.evaluate(KEEP_NAMES);
      await app.page.addScriptTag({ url: '/tfjs/tf.min.js' });
      const started = await app.page.evaluate(async () => {
        const w = window as unknown as Win;
        w.seen = [];
        const phases: string[] = [];
        let total = { percent: -1, done: -1, versions: [] as readonly string[] };
        w.server = await w.lib.ModelServer.start({
          modelConfigList: [{ name: 'm', basePath: 'models/m' }],
          pollIntervalMs: 0,
          backends: ['wasm'],
          listeners: {
            progress: (e) => {
              if (phases.at(-1) !== e.phase) phases.push(e.phase);
            },
            totalprogress: (e) => {
              total = { percent: e.percent, done: e.done, versions: e.versions };
            },
          },
        });
        return { mode: w.server.mode, basePath: (await w.server.sourceState('m')).basePath, phases, total };
      });
      assert.equal(started.mode, 'worker');
      assert.equal(started.basePath, `${app.server.origin}/app/models/m`, 'resolved against the page, not the worker script under /lib/');
      assert.deepEqual(started.phases.filter((p) => p !== 'verify' && p !== 'download'), ['load', 'warmup']);
      assert.ok(started.phases.includes('download') && started.phases.includes('verify'), started.phases.join(' '));
      assert.deepEqual(started.total, { percent: 100, done: 1, versions: ['m@1'] });

      const answers = await app.page.evaluate(async () => {
        const w = window as unknown as Win;
        const y = (r: { output?: { data: ArrayLike<unknown> } }) => Number(r.output?.data[0]);
        const bare = await w.server.predict({ model: 'm', inputs: [[3]] });
        const data = new Float32Array([4]);
        const typed = await w.server.predict({ model: 'm', inputs: { 'dense_dense1_input:0': { shape: [1, 1], data } } });
        const t = w.tf!.tensor2d([[5]]);
        const tensor = await w.server.predict({ model: 'm', inputs: t as never });
        const named = await w.server.predict({ model: 'm', inputs: { 'dense_dense1_input:0': t as never } });
        const tensorAlive = !t.isDisposed;
        t.dispose();
        return { bare: y(bare), typed: y(typed), tensor: y(tensor), named: y(named), dataKept: data.byteLength === 4 && data[0] === 4, tensorAlive };
      });
      assert.ok(Math.abs(answers.bare - denseExpected(2, 0, 3)) < 1e-5);
      assert.ok(Math.abs(answers.typed - denseExpected(2, 0, 4)) < 1e-5);
      assert.ok(Math.abs(answers.tensor - denseExpected(2, 0, 5)) < 1e-5);
      assert.ok(Math.abs(answers.named - denseExpected(2, 0, 5)) < 1e-5);
      assert.equal(answers.dataKept, true, "the caller's typed array is copied, not detached");
      assert.equal(answers.tensorAlive, true);
      await app.page.evaluate(() => (window as unknown as Win).server.close());
    } finally {
      await app.close();
    }
  });

  test('AbortSignal and timeoutMs cross as a cancel message and a deadline: queued requests never run', async () => {
    const app = await openLibraryPage(repoDir, APP);
    try {
      await app.page.evaluate(KEEP_NAMES);
      const r = await app.page.evaluate(async () => {
        const w = window as unknown as Win;
        w.server = await w.lib.ModelServer.start({
          modelConfigList: [{ name: 'm', basePath: 'models/m' }],
          pollIntervalMs: 0,
          backends: ['wasm'],
          enableBatching: true,
          batchingParameters: { maxBatchSize: 64, batchTimeoutMicros: 400_000 },
        });
        const runs = async () => {
          const m = (await w.server.metrics()) as unknown as Record<string, { samples: Array<{ value?: number }> } | undefined>;
          return (m['/tensorflow/serving/batching_session/wrapped_run_count']?.samples ?? []).reduce((s, x) => s + (x.value ?? 0), 0);
        };
        const outcome = async (p: Promise<unknown>, t0: number) => {
          try {
            await p;
            return { code: 'OK', ms: performance.now() - t0, message: '' };
          } catch (e) {
            return { code: (e as { code: string }).code, ms: performance.now() - t0, message: (e as Error).message, isServingError: e instanceof w.lib.ServingError };
          }
        };
        const before = await runs();
        const c = new AbortController();
        let t0 = performance.now();
        const queued = w.server.predict({ model: 'm', inputs: [[1]] }, { signal: c.signal });
        c.abort(); // a lone request runs on the worker's next turn (issue 11): abort while the message is on its way

        const cancelled = await outcome(queued, t0);
        t0 = performance.now();
        const late = await outcome(w.server.predict({ model: 'm', inputs: [[1]] }, { deadline: Date.now() }), t0);
        const already = await outcome(w.server.predict({ model: 'm', inputs: [[1]] }, { signal: AbortSignal.abort() }), performance.now());
        await new Promise((r) => setTimeout(r, 600)); // past the batch timeout
        const afterDropped = await runs();
        const ok = await w.server.predict({ model: 'm', inputs: [[2]] }, { signal: new AbortController().signal, timeoutMs: 5000 });
        const counts = (await w.server.metrics())['/tensorflow/serving/request_count']!.samples.map((s) => `${s.labels.status}=${(s as { value?: number }).value}`).sort();
        await w.server.close();
        return { cancelled, late, already, ranDropped: afterDropped - before, ok: Number(ok.output?.data[0]), counts };
      });
      assert.equal(r.cancelled.code, 'CANCELLED');
      assert.equal(r.cancelled.isServingError, true);
      assert.ok(r.cancelled.ms < 300, `the page hears at once (${r.cancelled.ms} ms)`);
      assert.equal(r.late.code, 'DEADLINE_EXCEEDED');
      assert.ok(r.late.ms < 300, `answered at the deadline (${r.late.ms} ms), not when the batch would have run`);
      assert.equal(r.already.code, 'CANCELLED');
      assert.ok(Math.abs(r.ok - denseExpected(2, 0, 2)) < 1e-5);
      // The page enforced the cancel and the deadline itself; the worker answered the request that went on.
      assert.ok(r.counts.some((c) => c.startsWith('OK=')), r.counts.join(', '));
    } finally {
      await app.close();
    }
  });

  test('a repository that does not exist: one console warning, NOT_FOUND with the source error, failIfNoModelVersionsFound rejects start()', async () => {
    const app = await openLibraryPage(repoDir, APP);
    try {
      await app.page.evaluate(KEEP_NAMES);
      const r = await app.page.evaluate(async () => {
        const w = window as unknown as Win;
        w.server = await w.lib.ModelServer.start({ modelConfigList: [{ name: 'ghost', basePath: 'models/ghost' }], pollIntervalMs: 0, backends: ['wasm'] });
        await w.server.pollNow('ghost');
        await w.server.pollNow('ghost');
        let predictError = '';
        try {
          await w.server.predict({ model: 'ghost', inputs: [[1]] });
        } catch (e) {
          predictError = `${(e as { code: string }).code}: ${(e as Error).message}`;
        }
        await w.server.close();
        let startError = '';
        try {
          await w.lib.ModelServer.start({ modelConfigList: [{ name: 'ghost', basePath: 'models/ghost' }], pollIntervalMs: 0, backends: ['wasm'], failIfNoModelVersionsFound: true });
        } catch (e) {
          startError = `${(e as { code: string }).code}: ${(e as Error).message}`;
        }
        return { predictError, startError };
      });
      const url = `${app.server.origin}/app/models/ghost/manifest.json`;
      assert.ok(
        r.predictError.startsWith(`NOT_FOUND: Servable not found for request: Latest(ghost); the source of ghost reports: NOT_FOUND: GET ${url} returned HTTP 404`),
        r.predictError,
      );
      assert.ok(r.startError.startsWith(`NOT_FOUND: failIfNoModelVersionsFound: model ghost (basePath ${app.server.origin}/app/models/ghost) has no versions: NOT_FOUND: GET ${url} returned HTTP 404`), r.startError);
      const warnings = app.logs.filter((l) => l.startsWith('[warning] tfjs-serving: the source of model ghost'));
      // Three polls of the first server failed the same way: said once. The second server (a new client) says it once too.
      assert.deepEqual(warnings, Array(2).fill(`[warning] tfjs-serving: the source of model ghost reports NOT_FOUND: GET ${url} returned HTTP 404 Not Found`), app.logs.join('\n'));
    } finally {
      await app.close();
    }
  });
});
