/**
 * On-demand loading in headless Chromium, the way a web app uses it: the built bundle, the manager in
 * its Web Worker, versions in IndexedDB, three real dense graph models in a repository served over HTTP
 * on 127.0.0.1, and a budget that fits two of them.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { browserSkipReason } from './harness.js';
import { openLibraryPage } from './library-page.js';
import { publishGraphModel } from '../../src/repository/publish.js';
import { denseExpected, denseModel, removeTempDirs, tempDir } from '../helpers/models.js';

const skip = await browserSkipReason();

type Win = Window & { lib: typeof import('../../src/browser.js') };
const KERNELS: Record<string, number> = { a: 2, b: 3, c: 5 };

describe('on-demand loading in the browser (worker mode)', { skip: skip ?? false, timeout: 120_000 }, () => {
  let repoDir: string;
  let estimate: number;
  before(async () => {
    repoDir = await tempDir('on-demand-repo');
    for (const [name, kernel] of Object.entries(KERNELS)) await publishGraphModel(await denseModel(kernel, 0), join(repoDir, name), { version: 1 });
    const manifest = JSON.parse(await readFile(join(repoDir, 'a', 'manifest.json'), 'utf8')) as { versions: Array<{ files: Array<{ size: number }> }> };
    estimate = Math.ceil(1.2 * manifest.versions[0]!.files.reduce((s, f) => s + f.size, 0));
  });
  after(removeTempDirs);

  test('models load when asked, the least recently used is evicted, and the metrics count loads, evictions, hits and misses', async () => {
    const app = await openLibraryPage(repoDir);
    try {
      const out = await app.page.evaluate(async ({ budget }) => {
        const w = window as unknown as Win;
        const server = await w.lib.ModelServer.start({
          modelConfigList: ['a', 'b', 'c'].map((name) => ({ name, basePath: `/repo/${name}` })),
          pollIntervalMs: 0,
          backends: ['wasm'],
          modelLoading: 'on-demand',
          totalModelMemoryLimitBytes: budget,
        });
        // No named functions in here: tsx would wrap them in a helper the page does not have.
        const answers: string[] = [];
        const stored: Record<string, readonly number[]> = {};
        for (const m of ['a', 'b', 'c']) stored[m] = (await server.sourceState(m)).storedVersions;
        const states: string[] = [];
        // a, b, a (a hit), c (b, the least recently used, goes); then three concurrent first requests
        // for b share one load, and a (now the least recently used) goes.
        for (const round of [[['a', 1]], [['b', 2]], [['a', 3]], [['c', 4]], 'states', [['b', 5], ['b', 6], ['b', 7]]] as const) {
          if (round === 'states') {
            await server.whenIdle();
            for (const m of ['a', 'b', 'c']) states.push(`${m}:${(await server.getModelStatus(m)).model_version_status[0]?.state}`);
            continue;
          }
          const replies = await Promise.all(round.map(([model, x]) => server.predict({ model, inputs: { 'dense_dense1_input:0': [[x]] } }, { timeoutMs: 30_000 })));
          round.forEach(([model, x], i) => answers.push(`${model}(${x})=${(replies[i]!.outputs['Identity:0']!.data as Float32Array)[0]}`));
        }
        const metrics = await server.metrics();
        const counts: string[] = [];
        for (const key of ['/tfjs_serving/on_demand/load_count', '/tfjs_serving/on_demand/eviction_count', '/tfjs_serving/on_demand/request_count']) {
          const metric = metrics[key];
          if (metric?.type !== 'counter') continue;
          for (const s of metric.samples) counts.push(`${key.split('/').pop()} ${s.labels.model_name}${s.labels.result ? `/${s.labels.result}` : ''}=${s.value}`);
        }
        const mode = server.mode;
        await server.close();
        return { mode, stored, answers, states, counts: counts.sort() };
      }, { budget: Math.floor(2.5 * estimate) });
      assert.equal(out.mode, 'worker');
      assert.deepEqual(out.stored, { a: [1], b: [1], c: [1] }, 'every model is downloaded into IndexedDB; only loading is lazy');
      const expected = (m: string, x: number) => `${m}(${x})=${denseExpected(KERNELS[m]!, 0, x)}`;
      assert.deepEqual(out.answers.slice(0, 4), [expected('a', 1), expected('b', 2), expected('a', 3), expected('c', 4)]);
      assert.deepEqual([...out.answers.slice(4)].sort(), [expected('b', 5), expected('b', 6), expected('b', 7)]);
      assert.deepEqual(out.states, ['a:AVAILABLE', 'b:END', 'c:AVAILABLE']);
      assert.deepEqual(out.counts, [
        'eviction_count a=1', 'eviction_count b=1',
        'load_count a=1', 'load_count b=2', 'load_count c=1',
        'request_count a/hit=1', 'request_count a/miss=1', 'request_count b/miss=4', 'request_count c/miss=1',
      ]);
    } finally {
      await app.close();
    }
  });
});
