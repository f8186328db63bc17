/**
 * swapMode 'fresh-worker' in the built bundle: a real model (emotion, from `@vladmandic/human`) in a
 * repository over HTTP on 127.0.0.1, versions in real IndexedDB, workers in headless Chromium. Each new
 * version loads in a fresh worker; requests move to it once it is AVAILABLE; the old worker is terminated.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { browserSkipReason } from './harness.js';
import { openLibraryPage } from './library-page.js';
import { runSwaps, sampleMemory, startLoad, startSwapServer, stopLoad } from './swap-driver.js';
import { publishGraphModel } from '../../src/repository/publish.js';
import { humanModel, removeTempDirs, tempDir } from '../helpers/models.js';
import type { Page } from 'playwright-core';

/** One prediction of `model` in the page; the version that answered. */
function predictVersion(page: Page, model: string): Promise<number> {
  return page.evaluate(async (model) => {
    const server = (window as unknown as { server: import('../../src/browser.js').ModelServer }).server;
    const r = await server.predict({ model, inputs: { 'input_1:0': { shape: [1, 64, 64, 1], data: new Float32Array(64 * 64) } } });
    return r.model.version;
  }, model);
}

const skip = await browserSkipReason();
const SWAPS = 20;

describe("swapMode 'fresh-worker' in a page", { skip: skip ?? false, timeout: 300_000 }, () => {
  after(removeTempDirs);

  test(`${SWAPS} swaps of emotion under a request loop: zero failures, old workers terminated, memory flat`, async () => {
    const repoDir = await tempDir('fresh-swap-repo');
    const publish = (version: number) => publishGraphModel(humanModel('emotion'), join(repoDir, 'emotion'), { version });
    await publish(1);
    const app = await openLibraryPage(repoDir);
    // Chromium's own account of the page's dedicated workers: each one started, and each one terminated.
    let started = 0;
    let terminated = 0;
    app.page.on('worker', (w) => {
      started++;
      w.on('close', () => terminated++);
    });
    try {
      await startSwapServer(app.page, 'emotion', 'fresh-worker');
      const run = await runSwaps(app.page, 'emotion', SWAPS, publish);
      assert.deepEqual(run.failures, []);
      assert.equal(run.freshWorkerSwaps, SWAPS);
      assert.ok(Object.keys(run.byVersion).length >= SWAPS / 2, `requests were answered across the swaps: ${JSON.stringify(run.byVersion)}`);
      assert.equal(await predictVersion(app.page, 'emotion'), SWAPS + 1, 'the last version serves');
      // One coherent stream, each version reported once: v1 loads; then each swap's new version loads and the old one leaves.
      const expected = ['1:START', '1:LOADING', '1:AVAILABLE'];
      for (let v = 2; v <= SWAPS + 1; v++) expected.push(`${v}:START`, `${v}:LOADING`, `${v}:AVAILABLE`, `${v - 1}:UNLOADING`, `${v - 1}:END`);
      assert.deepEqual(run.events, expected);
      // Old workers are terminated once drained: the page has one worker left.
      await app.page.waitForFunction(() => (window as unknown as { server: { liveWorkers: number } }).server.liveWorkers === 1);
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(app.page.workers().length, 1, 'Chromium sees one dedicated worker');
      assert.deepEqual({ started, terminated }, { started: SWAPS + 1, terminated: SWAPS }, 'a fresh worker per swap, every old one terminated');
      // Memory stays flat: every worker holds one version of the model, in a fresh WASM heap.
      const first = run.samples[0]!;
      const last = run.samples.at(-1)!;
      assert.equal(first.backend, 'wasm');
      assert.ok(first.wasmHeapBytes! > 0);
      for (const s of run.samples) {
        assert.equal(s.numTensors, first.numTensors, `numTensors after swap ${s.swap}`);
        assert.ok(s.wasmHeapBytes! <= first.wasmHeapBytes!, `WASM heap after swap ${s.swap}: ${s.wasmHeapBytes} > ${first.wasmHeapBytes}`);
      }
      assert.equal(last.numBytes, first.numBytes);
      // Only one worker downloaded each version: no file of a version was fetched twice.
      const fileGets = app.server.requests.filter((r) => /^GET \/repo\/emotion\/\d+\//.test(r));
      assert.ok(fileGets.length > 0);
      assert.deepEqual(fileGets.filter((r, i) => fileGets.indexOf(r) !== i), [], 'fetched twice');
    } finally {
      await app.close();
    }
  });

  test('a version that fails to load in the fresh worker: the old worker keeps serving, nothing lost', async () => {
    const repoDir = await tempDir('fresh-swap-bad');
    await publishGraphModel(humanModel('emotion'), join(repoDir, 'emotion'), { version: 1 });
    // Version 2's graph has an op TF.js does not know: it downloads and verifies, then fails to load.
    const broken = await tempDir('broken-emotion');
    const json = JSON.parse(await readFile(humanModel('emotion'), 'utf8')) as { modelTopology: { node: Array<{ op: string }> } };
    const conv = json.modelTopology.node.find((n) => n.op === '_FusedConv2D');
    assert.ok(conv);
    conv.op = 'NoSuchOp';
    await writeFile(join(broken, 'emotion.json'), JSON.stringify(json));
    await writeFile(join(broken, 'emotion.bin'), await readFile(humanModel('emotion').replace(/\.json$/, '.bin')));
    const app = await openLibraryPage(repoDir);
    try {
      await startSwapServer(app.page, 'emotion', 'fresh-worker', { maxNumLoadRetries: 0 });
      const before = await sampleMemory(app.page, 0);
      await startLoad(app.page, 'emotion', 2);
      await publishGraphModel(join(broken, 'emotion.json'), join(repoDir, 'emotion'), { version: 2 });
      await app.page.evaluate(() => (window as unknown as { server: { pollNow(): Promise<void> } }).server.pollNow());
      const { byVersion, failures } = await stopLoad(app.page);
      assert.deepEqual(failures, []);
      assert.deepEqual(Object.keys(byVersion), ['1'], 'version 1 answered every request');
      const state = await app.page.evaluate(() => {
        const w = window as unknown as { server: { freshWorkerSwaps: number; liveWorkers: number; getModelStatus(m: string): Promise<unknown> }; events: string[] };
        return w.server.getModelStatus('emotion').then((status) => ({ swaps: w.server.freshWorkerSwaps, live: w.server.liveWorkers, events: w.events, status }));
      });
      assert.equal(state.swaps, 0);
      assert.equal(state.live, 1, 'the fresh worker was terminated');
      assert.deepEqual(state.events.slice(0, 3), ['1:START', '1:LOADING', '1:AVAILABLE']);
      assert.ok(state.events.includes('2:END') && !state.events.includes('2:AVAILABLE') && !state.events.includes('1:END'), state.events.join(' '));
      assert.deepEqual(state.status, { model_version_status: [{ version: '1', state: 'AVAILABLE', status: { error_code: 'OK', error_message: '' } }] });
      const after = await sampleMemory(app.page, 1);
      assert.equal(after.numTensors, before.numTensors, 'the old worker loaded nothing more');
      // The same versions are not tried again on the next poll.
      await app.page.evaluate(() => (window as unknown as { server: { pollNow(): Promise<void> } }).server.pollNow());
      assert.equal(await app.page.evaluate(() => (window as unknown as { events: string[] }).events.filter((e) => e === '2:START').length), 1);
    } finally {
      await app.close();
    }
  });

  test('two models: a swap of one moves both to the fresh worker; the other is not reported twice and keeps answering', async () => {
    const repoDir = await tempDir('fresh-swap-two');
    for (const m of ['a', 'b']) await publishGraphModel(humanModel('emotion'), join(repoDir, m), { version: 1 });
    const app = await openLibraryPage(repoDir);
    try {
      await startSwapServer(app.page, 'a', 'fresh-worker', { modelConfigList: [{ name: 'a', basePath: '/repo/a' }, { name: 'b', basePath: '/repo/b' }] });
      await app.page.evaluate(() => {
        const w = window as unknown as { server: EventTarget; named: string[] };
        w.named = [];
        w.server.addEventListener('statechange', (e) => w.named.push(`${(e as unknown as { model: string }).model}${(e as unknown as { version: number }).version}:${(e as unknown as { state: string }).state}`));
      });
      await startLoad(app.page, 'b', 2);
      await publishGraphModel(humanModel('emotion'), join(repoDir, 'a'), { version: 2 });
      await app.page.evaluate(() => (window as unknown as { server: { pollNow(): Promise<void> } }).server.pollNow());
      const { failures, byVersion } = await stopLoad(app.page);
      assert.deepEqual(failures, []);
      assert.ok((byVersion['1'] ?? 0) > 0);
      const named = await app.page.evaluate(() => (window as unknown as { named: string[] }).named);
      assert.deepEqual(named, ['a2:START', 'a2:LOADING', 'a2:AVAILABLE', 'a1:UNLOADING', 'a1:END']);
      assert.deepEqual(await Promise.all([predictVersion(app.page, 'a'), predictVersion(app.page, 'b')]), [2, 1]);
      const swaps = await app.page.evaluate(() => (window as unknown as { server: { freshWorkerSwaps: number } }).server.freshWorkerSwaps);
      assert.equal(swaps, 1);
    } finally {
      await app.close();
    }
  });
});
