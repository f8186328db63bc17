// The REST-on-device route on a static host that cannot send `Service-Worker-Allowed`: registering the
// bundle's Service Worker from /lib/ for the root scope fails with a message that says what to do, and the
// documented alternative — the three-line /sw.js of docs/service-worker.md, at the root scope — works.
// Real Chromium, the built bundle, a static server on 127.0.0.1 that sends no special header.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT, browserSkipReason, launchBrowser, startStaticServer } from '../browser/harness.js';
import { BUNDLE_DIR, ensureLibraryBundle } from '../browser/library-page.js';

const skip = await browserSkipReason();

/** The root-scope Service Worker exactly as docs/service-worker.md gives it. */
function documentedRootServiceWorker(): string {
  const doc = readFileSync(join(REPO_ROOT, 'docs', 'service-worker.md'), 'utf8');
  const block = [...doc.matchAll(/```js\n([\s\S]*?)```/g)].map((m) => m[1] ?? '').find((b) => b.startsWith('// /sw.js'));
  assert.ok(block, 'docs/service-worker.md has the /sw.js block');
  return block;
}

const PAGE = `<!doctype html><meta charset="utf-8"><script type="module">
  import * as lib from '/lib/tfjs-serving.js';
  window.lib = lib;
  window.libReady = true;
</script>`;

type Outcome = { ok: true; status?: number; body?: string; controlled?: boolean } | { ok: false; code?: string; message: string };

test('a Service Worker below the scope it asks for: the error says to send Service-Worker-Allowed or serve /sw.js from the root; the documented /sw.js works', { skip: skip ?? false, timeout: 120_000 }, async () => {
  await ensureLibraryBundle();
  const server = await startStaticServer({
    mounts: { '/lib/': BUNDLE_DIR },
    routes: {
      '/index.html': { body: PAGE, type: 'text/html; charset=utf-8' },
      '/sw.js': { body: documentedRootServiceWorker(), type: 'text/javascript; charset=utf-8' },
    },
  });
  const browser = await launchBrowser();
  try {
    const page = await browser.context.newPage();
    await page.goto(`${server.origin}/index.html`);
    await page.waitForFunction(() => (window as unknown as { libReady?: boolean }).libReady === true);
    const register = (url: string) =>
      page.evaluate(async (url): Promise<Outcome> => {
        const lib = (window as unknown as { lib: { registerRestServiceWorker(u: string): Promise<unknown> } }).lib;
        try {
          await lib.registerRestServiceWorker(url);
          return { ok: true, controlled: !!navigator.serviceWorker.controller };
        } catch (e) {
          return { ok: false, code: (e as { code?: string }).code, message: (e as Error).message };
        }
      }, url);

    // The bundle's worker from /lib/, no header: refused, and the message says both ways out.
    const refused = await register('/lib/tfjs-serving.sw.js');
    assert.equal(refused.ok, false);
    if (refused.ok) return;
    assert.equal(refused.code, 'FAILED_PRECONDITION');
    assert.match(refused.message, /cannot register the Service Worker \/lib\/tfjs-serving\.sw\.js for scope \/: it lives in \/lib\/ but is asked to control \//);
    assert.match(refused.message, /"Service-Worker-Allowed: \/"/);
    assert.match(refused.message, /serve a Service Worker from the root scope instead: a file \/sw\.js that imports registerModelServerRoute from '\/lib\/tfjs-serving\.sw-route\.js'/);
    assert.match(refused.message, /docs\/service-worker\.md/);
    assert.match(refused.message, /The browser said: .*scope/);

    // A script that is not there: a different hint.
    const missing = await register('/missing-sw.js');
    assert.equal(missing.ok, false);
    if (!missing.ok) assert.match(missing.message, /check that http:\/\/127\.0\.0\.1:\d+\/missing-sw\.js is served \(HTTP 200\)/);

    // The documented alternative: /sw.js at the root scope, no header needed; it takes control and
    // answers TF Serving's REST API from the page's ModelServer.
    const registered = await register('/sw.js');
    assert.deepEqual(registered, { ok: true, controlled: true });
    const answer = await page.evaluate(async (): Promise<Outcome> => {
      const lib = (window as unknown as { lib: { ModelServer: { start(o: unknown): Promise<unknown> }; answerServiceWorkerRequests(s: unknown): void } }).lib;
      const server = await lib.ModelServer.start({ modelConfigList: [], backends: ['cpu'] });
      lib.answerServiceWorkerRequests(server);
      const res = await fetch('/v1/models/nope');
      return { ok: true, status: res.status, body: await res.text() };
    });
    assert.equal(answer.ok, true);
    if (answer.ok) {
      assert.equal(answer.status, 404);
      // TF Serving's error JSON from the page's server (the static server has no /v1/ and answers text).
      assert.match(answer.body ?? '', /^\{\s*"error": "Could not find any versions of model nope"/);
    }
    assert.ok(!server.requests.some((r) => r.includes('/v1/')), 'the REST request never reached the static server');
  } finally {
    await browser.close();
    await server.close();
  }
});
