// The main job (`npm start`) as a user meets it: the demo server in a child process, its page in headless
// Chromium (the bundle, the worker, IndexedDB), a version published from the page and swapped in live,
// and the REST edge answering TF Serving's API.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { REPO_ROOT, browserSkipReason, launchBrowser } from '../browser/harness.js';
import { ensureLibraryBundle } from '../browser/library-page.js';

const skip = await browserSkipReason();

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

test('npm start: the demo page serves real models through the worker, swaps a published version live, and opens offline', { skip: skip ?? false, timeout: 120_000 }, async () => {
  await ensureLibraryBundle();
  const [port, restPort] = [await freePort(), await freePort()];
  const child = spawn(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'demo', 'serve.ts')], {
    cwd: REPO_ROOT,
    env: { ...process.env, PORT: String(port), REST_PORT: String(restPort) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const browser = await launchBrowser();
  try {
    const deadline = Date.now() + 60_000;
    while (!output.includes('Ctrl-C to stop')) {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`the demo did not start:\n${output}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const page = await browser.context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`http://127.0.0.1:${port}/`);
    await page.waitForFunction(() => (window as unknown as { demo?: { ready: boolean } }).demo?.ready === true, null, { timeout: 60_000 });
    assert.equal(await page.textContent('#mode'), 'Web Worker');
    assert.match((await page.textContent('#emotion-meta')) ?? '', /served by version 1 in [\d.]+ ms/);
    assert.match((await page.textContent('#facemesh-meta')) ?? '', /version 1 answered in [\d.]+ ms: output_mesh \[1×1404\]/);
    const bars = await page.$$eval('#emotion-bars .bar', (els) => els.length);
    assert.equal(bars, 7);

    await page.click('#publish');
    await page.waitForFunction(() => /served by version 2/.test(document.querySelector('#emotion-meta')?.textContent ?? ''), null, { timeout: 30_000 });
    const states = await page.$$eval('#versions tbody tr', (rows) => rows.map((r) => [...r.querySelectorAll('td')].slice(0, 3).map((td) => td.textContent).join(' ')));
    assert.ok(states.includes('emotion 2 AVAILABLE'), states.join('; '));
    assert.ok(states.includes('emotion 1 END'), states.join('; '));

    await page.click('#rest');
    await page.waitForFunction(() => /^HTTP 200/.test(document.querySelector('#rest-out')?.textContent ?? ''));
    assert.match((await page.textContent('#rest-out')) ?? '', /"predictions"/);

    // An offline PWA: one more visit online lets the Service Worker cache the whole app (page, bundle,
    // worker, WASM); then, with the network off, the demo opens and serves from IndexedDB.
    await browser.context.setOffline(true);
    await page.goto(`http://127.0.0.1:${port}/`);
    await page.waitForFunction(() => (window as unknown as { demo?: { ready: boolean } }).demo?.ready === true, null, { timeout: 60_000 });
    assert.equal(await page.textContent('#net'), 'offline: serving from IndexedDB');
    assert.match((await page.textContent('#emotion-meta')) ?? '', /served by version 2 in [\d.]+ ms/);
    await page.click('#rest');
    await page.waitForFunction(() => /^HTTP 200/.test(document.querySelector('#rest-out')?.textContent ?? ''));
    await browser.context.setOffline(false);

    const rest = await fetch(`http://127.0.0.1:${restPort}/v1/models/facemesh`);
    assert.equal(rest.status, 200);
    assert.equal(((await rest.json()) as { model_version_status: Array<{ state: string }> }).model_version_status[0]!.state, 'AVAILABLE');
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
    child.kill('SIGTERM');
  }
  assert.equal(await exited, 0, output);
});
