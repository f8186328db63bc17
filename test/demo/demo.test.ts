// The main job (`npm start`) as a user meets it: the demo server in a child process, its page in headless
// Chromium on a fresh profile, visited ONCE online: a photo (sample, file picker, fake camera) with the face
// mesh drawn and its emotion, live latency/throughput plots, the latest-only slider, a version published
// from the page and swapped in live (download progress in the table, the swap marked on the plot), the
// REST API on the device; then, with the network off, the page opens again from the Service Worker's
// precache and serves from IndexedDB, with publishing disabled and saying why. Screenshots are written to
// a temp dir (TFJS_SERVING_SCREENSHOTS to choose it) and printed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
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

interface DemoState {
  ready: boolean;
  photo?: { source: string; emotion: string; emotionVersion: number; meshPoints: number; faceScore: number; facemeshVersion: number };
  progress: Array<{ model: string; version: number; loaded: number; total: number; state: string }>;
  loadingRows: Array<{ model: string; version: number; download: string }>;
  swaps: Array<{ t: number; label: string }>;
  points: Array<{ t: number; p50: number | null; p99: number | null; rps: number }>;
  renderedSeqs: number[];
  slider: { seq: number; shown: number; inFlight: boolean; pending: unknown; inputs: number; sent: number; superseded: number; stale: number };
}

const state = (page: Page) => page.evaluate(() => {
  const d = (window as unknown as { demo: DemoState }).demo;
  return JSON.parse(JSON.stringify({ ...d, server: undefined })) as DemoState;
});
const waitDemo = (page: Page, fn: string, timeout = 60_000) => page.waitForFunction(`(() => { const demo = window.demo; return !!demo && (${fn}); })()`, null, { timeout });

/** Pixels of the face mesh's colour drawn over the photo. */
const meshPixels = (page: Page) =>
  page.evaluate(() => {
    const c = document.querySelector('#photo') as HTMLCanvasElement;
    const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
    let n = 0;
    for (let i = 0; i < d.length; i += 4) if (Math.abs(d[i]! - 72) < 40 && d[i + 1]! > 215 && Math.abs(d[i + 2]! - 160) < 40) n++;
    return n;
  });

test('npm start: one visit online, then the demo opens offline; photo + mesh, plots, latest-only slider, live swap with progress', { skip: skip ?? false, timeout: 240_000 }, async () => {
  await ensureLibraryBundle();
  const shots = process.env.TFJS_SERVING_SCREENSHOTS ?? (await mkdtemp(join(tmpdir(), 'tfjs-serving-demo-shots-')));
  await mkdir(shots, { recursive: true });
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
  // A fresh profile (launchBrowser makes one per call): nothing cached, no Service Worker yet. A fake camera.
  const browser = await launchBrowser({ args: ['--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream'] });
  try {
    const deadline = Date.now() + 60_000;
    while (!output.includes('Ctrl-C to stop')) {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`the demo did not start:\n${output}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.match(output, /its Service Worker precaches \d+ files/);
    const origin = `http://127.0.0.1:${port}`;
    await browser.context.grantPermissions(['camera'], { origin });
    const page = await browser.context.newPage();
    await page.setViewportSize({ width: 1100, height: 1000 });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));

    // --- The one online visit.
    const first = await page.goto(`${origin}/`);
    assert.equal(first?.fromServiceWorker(), false);
    await waitDemo(page, 'demo.ready === true');
    assert.equal(await page.textContent('#mode'), 'Web Worker');
    assert.match((await page.textContent('#precache')) ?? '', /^\d+ files precached$/);

    // A photo: a bundled sample face, the 468 mesh points drawn over it, and its emotion.
    let s = await state(page);
    assert.equal(s.photo?.source, 'sample face 1');
    assert.equal(s.photo?.meshPoints, 468);
    assert.ok(s.photo!.faceScore > 0.5, `face score ${s.photo!.faceScore} on a real face`);
    assert.match((await page.textContent('#photo-meta')) ?? '', /sample face 1: [a-z]+ \d+% \(emotion v1, [\d.]+ ms\) · 468 mesh points, face score [\d.]+ \(facemesh v1/);
    assert.ok((await meshPixels(page)) > 300, 'mesh points are drawn over the photo');
    assert.equal(await page.$$eval('#photo-bars .bar', (els) => els.length), 7);
    await page.locator('#image-section').screenshot({ path: join(shots, '1-photo-sample.png') });

    await page.click('button.sample[title="sample face 2"]');
    await waitDemo(page, "demo.photo.source === 'sample face 2'");
    s = await state(page);
    assert.equal(s.photo?.emotion, 'happy', 'the smiling sample face reads as happy');
    assert.ok(s.photo!.faceScore > 0.5);
    await page.setInputFiles('#file', join(REPO_ROOT, 'demo', 'public', 'samples', 'face-1.jpg'));
    await waitDemo(page, "demo.photo.source === 'face-1.jpg'");
    assert.equal((await state(page)).photo?.meshPoints, 468);
    // The camera (Chromium's fake device): frames go through both models one at a time.
    await page.click('#camera');
    await waitDemo(page, "demo.photo.source === 'camera'", 30_000);
    assert.equal(await page.textContent('#camera'), 'Stop the camera');
    await page.locator('#image-section').screenshot({ path: join(shots, '2-photo-camera.png') });
    await page.click('#camera');
    assert.equal(await page.textContent('#camera-reason'), '');

    // Live plots: per-second p50/p99 and throughput from the page's traffic.
    await waitDemo(page, 'demo.points.filter((p) => p.rps > 0).length >= 3', 30_000);
    assert.match((await page.textContent('#plot-legend')) ?? '', /last second: p50 [\d.]+ ms · p99 [\d.]+ ms · \d+ predictions\/s/);

    // The slider: 40 inputs in one go → only the latest is sent after the one in flight, answers in order.
    await waitDemo(page, '!demo.slider.inFlight && !demo.slider.pending');
    const before = (await state(page)).slider;
    await page.evaluate(() => {
      const input = document.querySelector('#smile') as HTMLInputElement;
      for (let i = 0; i < 40; i++) {
        input.value = String(-1 + i * 0.05);
        input.dispatchEvent(new Event('input'));
      }
    });
    await waitDemo(page, '!demo.slider.inFlight && !demo.slider.pending && demo.slider.shown === demo.slider.seq', 30_000);
    s = await state(page);
    assert.equal(s.slider.inputs - before.inputs, 40);
    assert.ok(s.slider.sent - before.sent <= 3, `40 quick inputs sent ${s.slider.sent - before.sent} requests (only the latest should go)`);
    assert.ok(s.slider.superseded - before.superseded >= 37);
    assert.deepEqual(s.renderedSeqs, [...s.renderedSeqs].sort((a, b) => a - b), 'results render in order');
    assert.equal(s.renderedSeqs.at(-1), s.slider.seq, 'the last input is what is shown');
    assert.match((await page.textContent('#slider-stats')) ?? '', /\d+ inputs → \d+ requests sent, \d+ replaced before sending, 0 stale answers dropped; showing input #\d+/);

    // Publish from the page: the new version downloads (progress in the table), swaps in, and the swap is
    // marked on the plots' timeline while traffic keeps flowing.
    assert.equal(await page.isDisabled('#publish'), false);
    await page.click('#publish');
    await page.waitForFunction(() => /served by version 2/.test(document.querySelector('#emotion-meta')?.textContent ?? ''), null, { timeout: 60_000 });
    await waitDemo(page, 'demo.swaps.length >= 1');
    s = await state(page);
    assert.deepEqual(s.swaps.map((w) => w.label), ['emotion v1 → v2']);
    assert.match((await page.textContent('#swaps')) ?? '', /[\d.]+ s: emotion v1 → v2/);
    const progress = s.progress.filter((p) => p.model === 'emotion' && p.version === 2);
    assert.ok(progress.length >= 1, 'progress events for the new version');
    assert.ok(progress.every((p, i) => i === 0 || p.loaded >= progress[i - 1]!.loaded), 'bytes only grow');
    assert.equal(progress.at(-1)!.loaded, progress.at(-1)!.total);
    const whileLoading = s.loadingRows.find((r) => r.model === 'emotion' && r.version === 2);
    assert.match(whileLoading?.download ?? '', /^ ?\d+ KB \/ \d+ KB verified$/, 'the table shows the download while the version is LOADING');
    const bar = await page.$eval('#versions tr[data-model="emotion"][data-version="2"] progress', (p) => ({ value: (p as HTMLProgressElement).value, max: (p as HTMLProgressElement).max }));
    assert.ok(bar.max > 100_000 && bar.value === bar.max, JSON.stringify(bar));
    const states = await page.$$eval('#versions tbody tr', (rows) => rows.map((r) => [...r.querySelectorAll('td')].slice(0, 3).map((td) => td.textContent).join(' ')));
    assert.ok(states.includes('emotion 2 AVAILABLE'), states.join('; '));
    assert.ok(states.includes('emotion 1 END'), states.join('; '));
    // Points after the swap, so the marker sits inside the plotted data.
    const swapT = s.swaps[0]!.t;
    await waitDemo(page, `demo.points.filter((p) => p.t > ${swapT} && p.rps > 0).length >= 2`, 30_000);
    await page.screenshot({ path: join(shots, '3-after-swap.png'), fullPage: true });

    await page.click('#rest');
    await page.waitForFunction(() => /^HTTP 200/.test(document.querySelector('#rest-out')?.textContent ?? ''));
    assert.match((await page.textContent('#rest-out')) ?? '', /"predictions"/);

    // --- Network off, no second online visit: the page comes from the precache, models from IndexedDB.
    await browser.context.setOffline(true);
    const offline = await page.goto(`${origin}/`);
    assert.equal(offline?.fromServiceWorker(), true, 'the page comes from the Service Worker');
    await waitDemo(page, 'demo.ready === true');
    assert.equal(await page.textContent('#net'), 'offline: serving from IndexedDB');
    assert.match((await page.textContent('#emotion-meta')) ?? '', /served by version 2 in [\d.]+ ms/);
    assert.equal((await state(page)).photo?.meshPoints, 468);
    assert.equal(await page.isDisabled('#publish'), true);
    assert.match((await page.textContent('#publish-reason')) ?? '', /Offline: publishing runs tfjs-serving publish on the demo server/);
    assert.match((await page.getAttribute('#publish', 'title')) ?? '', /Offline/);
    await page.click('#rest');
    await page.waitForFunction(() => /^HTTP 200/.test(document.querySelector('#rest-out')?.textContent ?? ''));
    await page.screenshot({ path: join(shots, '4-offline.png'), fullPage: true });
    await browser.context.setOffline(false);

    const rest = await fetch(`http://127.0.0.1:${restPort}/v1/models/facemesh`);
    assert.equal(rest.status, 200);
    assert.equal(((await rest.json()) as { model_version_status: Array<{ state: string }> }).model_version_status[0]!.state, 'AVAILABLE');
    assert.deepEqual(errors, []);
    process.stderr.write(`[demo] screenshots in ${shots}\n`);
  } finally {
    await browser.close();
    child.kill('SIGTERM');
  }
  assert.equal(await exited, 0, output);
});
