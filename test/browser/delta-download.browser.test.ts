/**
 * Content-addressed weights in headless Chromium, the library bundle in worker mode with its default
 * IndexedDB store: emotion v1 and then a v2 whose last layer alone changed, both published with
 * `shardByWeight` to a repository on a real HTTP server. Version 2 fetches only the changed shards, and
 * once version 1 is deleted IndexedDB holds exactly version 2's blobs.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { ServerResponse } from 'node:http';
import { browserSkipReason } from './harness.js';
import { openLibraryPage } from './library-page.js';
import { publishGraphModel } from '../../src/repository/publish.js';
import { shardBaseName } from '../../src/repository/weight-sharding.js';
import { removeTempDirs, tempDir } from '../helpers/models.js';
import { EMOTION_HEAD, writeFineTunedEmotion } from '../helpers/fine-tuned-emotion.js';

const skip = await browserSkipReason();

type Win = Window & { lib: typeof import('../../src/browser.js'); server: import('../../src/browser.js').ModelServer };

describe('delta download in the browser (worker, IndexedDB)', { skip: skip ?? false, timeout: 180_000 }, () => {
  let repoDir: string;
  before(async () => {
    repoDir = await tempDir('delta-repo');
  });
  after(removeTempDirs);

  test('emotion v2 with only its last layer changed fetches ≤ 10% of v1; IndexedDB keeps only the blobs v2 lists', async () => {
    const modelDir = join(repoDir, 'emotion');
    await publishGraphModel(await writeFineTunedEmotion(await tempDir('emotion-v1'), 0), modelDir, { shardByWeight: true });
    const app = await openLibraryPage(repoDir);
    // Count the body bytes the repository sends, per path.
    const sent: { path: string; bytes: number }[] = [];
    app.server.hook((req, res) => {
      if (!req.url?.startsWith('/repo/')) return false;
      const end = res.end.bind(res) as (...args: unknown[]) => ServerResponse;
      res.end = ((...args: unknown[]) => {
        const body = args[0];
        sent.push({ path: req.url ?? '', bytes: body instanceof Uint8Array ? body.byteLength : typeof body === 'string' ? Buffer.byteLength(body) : 0 });
        return end(...args);
      }) as typeof res.end;
      return false;
    });
    const total = () => sent.reduce((s, r) => s + r.bytes, 0);
    try {
      const v1 = await app.page.evaluate(async () => {
        const w = window as unknown as Win;
        w.server = await w.lib.ModelServer.start({ modelConfigList: [{ name: 'emotion', basePath: '/repo/emotion' }], pollIntervalMs: 0, backends: ['wasm'] });
        const data = new Float32Array(64 * 64).map((_, i) => (i % 256) / 255);
        const r = await w.server.predict({ model: 'emotion', inputs: { 'input_1:0': { shape: [1, 64, 64, 1], data } } });
        return { mode: w.server.mode, version: r.model.version, out: [...(r.outputs['Identity:0']!.data as Float32Array)] };
      });
      assert.equal(v1.mode, 'worker');
      assert.equal(v1.version, 1);
      const v1Bytes = total();
      const before2 = sent.length;

      const p2 = await publishGraphModel(await writeFineTunedEmotion(await tempDir('emotion-v2'), 1), modelDir, { shardByWeight: true });
      const v2 = await app.page.evaluate(async () => {
        const w = window as unknown as Win;
        await w.server.pollNow();
        const deadline = Date.now() + 30_000;
        while ((await w.server.getModelStatus('emotion', 2)).model_version_status[0]?.state !== 'AVAILABLE') {
          if (Date.now() > deadline) throw new Error('version 2 did not become AVAILABLE');
          await new Promise((r) => setTimeout(r, 50));
        }
        const data = new Float32Array(64 * 64).map((_, i) => (i % 256) / 255);
        const r = await w.server.predict({ model: 'emotion', version: 2, inputs: { 'input_1:0': { shape: [1, 64, 64, 1], data } } });
        return { version: r.model.version, out: [...(r.outputs['Identity:0']!.data as Float32Array)] };
      });
      const v2Bytes = total() - v1Bytes;
      const ratio = v2Bytes / v1Bytes;
      process.stderr.write(`[delta-download.browser] emotion v1 ${v1Bytes} bytes fetched, v2 ${v2Bytes} bytes (${(100 * ratio).toFixed(1)}%)\n`);
      assert.ok(ratio <= 0.1, `v2 fetched ${v2Bytes} bytes, ${(100 * ratio).toFixed(1)}% of v1's ${v1Bytes}`);
      const fetched = sent.slice(before2).map((r) => r.path).filter((p) => p.startsWith('/repo/emotion/2/')).sort();
      assert.deepEqual(fetched, EMOTION_HEAD.map((n) => `/repo/emotion/2/${shardBaseName(n)}.bin`).sort());
      assert.equal(v2.version, 2);
      assert.ok(v2.out.some((v, i) => Math.abs(v - v1.out[i]!) > 1e-4), 'v2 answers with its own weights');

      // Version 1 is deleted once unloaded; the blobs v2 shares stay, v1's own head goes.
      const wanted = [...new Set(p2.files.map((f) => f.sha256))].sort();
      const keys = await app.page.evaluate(async (expected) => {
        const deadline = Date.now() + 20_000;
        for (;;) {
          const keys = await new Promise<unknown[][]>((resolve, reject) => {
            const open = indexedDB.open('tfjs-serving');
            open.onerror = () => reject(open.error);
            open.onsuccess = () => {
              const db = open.result;
              const req = db.transaction('models', 'readonly').objectStore('models').getAllKeys();
              req.onsuccess = () => {
                db.close();
                resolve(req.result as unknown[][]);
              };
              req.onerror = () => reject(req.error);
            };
          });
          const blobs = keys.filter((k) => k[0] === 'blob').map((k) => String(k[1])).sort();
          const versions = keys.filter((k) => k[0] === 'version').map((k) => `${k[1]}/${k[2]}`);
          if ((versions.join() === 'emotion/2' && blobs.join() === expected.join()) || Date.now() > deadline) return { blobs, versions, other: keys.filter((k) => k[0] !== 'blob' && k[0] !== 'version') };
          await new Promise((r) => setTimeout(r, 100));
        }
      }, wanted);
      assert.deepEqual(keys.versions, ['emotion/2']);
      assert.deepEqual(keys.blobs, wanted, 'IndexedDB holds exactly the blobs of version 2');
      assert.deepEqual(keys.other, [], 'no staging markers or files of the older layout left');
      await app.page.evaluate(() => (window as unknown as Win).server.close());
    } finally {
      await app.close();
    }
  });
});
