/**
 * IndexedDbModelStore in real headless Chromium with real IndexedDB: the store conformance cases in a page
 * and in a module Web Worker, a quota overflow forced through CDP, and data surviving a reload.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { conformanceCases } from '../storage/store-conformance-cases.js';
import { SkippedInPage, browserSkipReason, buildBrowserBundle, launchBrowser, openTestPage, startStaticServer } from './harness.js';
import type { BrowserBundle, LaunchedBrowser, TestPage } from './harness.js';
import type { PageOutcome } from './page-runtime.js';

const skip = await browserSkipReason();

describe('IndexedDbModelStore in headless Chromium', { skip: skip ?? false, timeout: 60_000 }, () => {
  let browser: LaunchedBrowser;
  let p: TestPage;
  let bundle: BrowserBundle;

  before(async () => {
    bundle = await buildBrowserBundle(['test/browser/entries/idb-store.entry.ts', 'test/browser/entries/idb-store.worker.ts']);
    browser = await launchBrowser();
    p = await openTestPage({ bundle, entry: 'idb-store.entry', browser });
  });

  after(async () => {
    await p?.close();
    await browser?.close();
  });

  for (const c of conformanceCases) {
    test(`conformance: ${c.name}`, async (t) => {
      try {
        await p.run('conformance', c.name);
      } catch (e) {
        if (e instanceof SkippedInPage) return t.skip(e.message);
        throw e;
      }
    });
  }

  test('conformance cases pass in a module Web Worker (no window)', async () => {
    const report = await p.run<{ hasWindow: boolean; results: { name: string; outcome: PageOutcome }[] }>('conformance-in-worker');
    assert.equal(report.hasWindow, false);
    assert.equal(report.results.length, conformanceCases.length);
    const failed = report.results.filter((r) => r.outcome.status === 'fail');
    assert.deepEqual(failed, [], 'every case passes in the worker');
  });

  test('page is a secure context; WebCrypto and the JS fallback agree; persist() answers', async () => {
    const env = await p.run<{ persisted: unknown; secure: boolean; subtle: boolean }>('env');
    assert.equal(env.secure, true);
    assert.equal(env.subtle, true);
    assert.equal(typeof env.persisted, 'boolean');
  });

  test('a committed version survives a page reload', async () => {
    const written = await p.run<{ sha256: string }>('persist-write');
    await p.reload();
    const read = await p.run<{ sha256: string }>('persist-read');
    assert.equal(read.sha256, written.sha256);
  });

  test('over quota: RESOURCE_EXHAUSTED, abort removes the partial version, the older version stays', async () => {
    // A fresh origin (new port): Chromium caches an origin's allowed IndexedDB space for a while, so an
    // override set after earlier writes on the same origin may not bite at once.
    const server = await startStaticServer({ mounts: { '/bundle/': bundle.dir } });
    const cdp = await p.cdp();
    await cdp.send('Storage.overrideQuotaForOrigin', { origin: server.origin, quotaSize: 1.5 * 1024 * 1024 });
    const q = await openTestPage({ bundle, entry: 'idb-store.entry', browser, server });
    try {
      const result = await q.run<{ message: string; shardsWrittenBeforeFailure: number; keysOfVersion2BeforeAbort: number }>('quota');
      assert.match(result.message, /^storing m version 2: quota exceeded/);
      assert.ok(result.shardsWrittenBeforeFailure < 3, `the 3 MB version cannot fit (${result.shardsWrittenBeforeFailure} shards written)`);
      log(`quota: ${result.shardsWrittenBeforeFailure} of 3 shards written, ${result.keysOfVersion2BeforeAbort} keys of version 2 before abort; ${result.message}`);
    } finally {
      await cdp.send('Storage.overrideQuotaForOrigin', { origin: server.origin }).catch(() => undefined);
      await q.close();
      await server.close();
    }
  });
});

function log(msg: string): void {
  process.stderr.write(`[indexed-db-store.browser] ${msg}\n`);
}
