/**
 * `inferenceWorkers: 2` in the built bundle: a real model (emotion) in a repository over HTTP on
 * 127.0.0.1, versions in real IndexedDB, two workers in headless Chromium, each a whole server.
 * Predictions under load spread over both; a new version reaches both with no failed request; the page
 * hears each version's states once; metrics are summed; the weights of a version are downloaded once.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { browserSkipReason } from './harness.js';
import { openLibraryPage } from './library-page.js';
import { startLoad, startSwapServer, stopLoad } from './swap-driver.js';
import { publishGraphModel } from '../../src/repository/publish.js';
import { humanModel, removeTempDirs, tempDir } from '../helpers/models.js';

const skip = await browserSkipReason();

describe('inferenceWorkers: 2 in a page', { skip: skip ?? false, timeout: 300_000 }, () => {
  after(removeTempDirs);

  test('two workers share the load and a swap; events once; metrics summed; one download per version', async () => {
    const repoDir = await tempDir('pool-repo');
    const publish = (version: number) => publishGraphModel(humanModel('emotion'), join(repoDir, 'emotion'), { version });
    await publish(1);
    const app = await openLibraryPage(repoDir);
    // Every weight file fetched, by URL: each must be fetched once, by one of the two workers.
    const weightFetches = new Map<string, number>();
    app.server.hook((req) => {
      if (/^\/repo\/emotion\/\d+\/.*\.bin/.test(req.url ?? '')) weightFetches.set(req.url ?? '', (weightFetches.get(req.url ?? '') ?? 0) + 1);
      return false;
    });
    try {
      await startSwapServer(app.page, 'emotion', 'in-place', { inferenceWorkers: 2 });
      const started = await app.page.evaluate(() => {
        const s = (window as unknown as { server: { inferenceWorkers: number; liveWorkers: number } }).server;
        return { pool: s.inferenceWorkers, live: s.liveWorkers };
      });
      assert.deepEqual(started, { pool: 2, live: 2 });
      assert.equal(app.page.workers().length, 2, 'Chromium sees two dedicated workers');

      await startLoad(app.page, 'emotion', 8);
      await new Promise((r) => setTimeout(r, 1000));
      await publish(2);
      // The serving worker downloads it; the other hears of the commit and loads it from IndexedDB.
      await app.page.evaluate(() => (window as unknown as { server: { pollNow(): Promise<void> } }).server.pollNow());
      await new Promise((r) => setTimeout(r, 1000));
      const load = await stopLoad(app.page);
      assert.deepEqual(load.failures, []);
      assert.ok((load.byVersion['1'] ?? 0) > 0 && (load.byVersion['2'] ?? 0) > 0, JSON.stringify(load.byVersion));

      const after = await app.page.evaluate(async () => {
        const w = window as unknown as {
          server: import('../../src/browser.js').ModelServer;
          events: string[];
        };
        const input = { 'input_1:0': { shape: [1, 64, 64, 1], data: new Float32Array(4096).fill(0.25) } };
        const answers = await Promise.all(Array.from({ length: 8 }, () => w.server.predict({ model: 'emotion', inputs: input })));
        const metrics = (await w.server.metrics()) as unknown as Record<string, { samples: Array<{ labels: Record<string, string>; value: number }> }>;
        const ok = metrics['/tensorflow/serving/request_count']?.samples.find((s) => s.labels.status === 'OK')?.value;
        return { versions: answers.map((a) => a.model.version), outputs: answers.map((a) => Array.from(a.outputs['Identity:0']?.data as Float32Array)), ok, events: w.events };
      });
      assert.deepEqual(new Set(after.versions), new Set([2]));
      for (const o of after.outputs) assert.deepEqual(o, after.outputs[0], 'both workers give the same answer');
      const total = (load.byVersion['1'] ?? 0) + (load.byVersion['2'] ?? 0) + 8;
      assert.equal(after.ok, total, 'the metrics count every prediction, whichever worker ran it');
      assert.deepEqual(after.events, ['1:START', '1:LOADING', '1:AVAILABLE', '2:START', '2:LOADING', '2:AVAILABLE', '1:UNLOADING', '1:END'], 'each state once, from the serving worker');
      assert.ok(weightFetches.size > 0);
      const twice = [...weightFetches].filter(([, n]) => n > 1);
      assert.deepEqual(twice, [], 'no weight file was downloaded twice (the other worker loads from IndexedDB)');
    } finally {
      await app.close();
    }
  });
});
