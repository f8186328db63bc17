/**
 * Canary traffic in the browser bundle, worker mode: the Manager in a module Web Worker, the user id
 * made once and kept in real IndexedDB, a real repository over HTTP on 127.0.0.1, headless Chromium.
 * A user keeps their version across page reloads because the id in IndexedDB does.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { browserSkipReason } from './harness.js';
import { openLibraryPage } from './library-page.js';
import { publishGraphModel } from '../../src/repository/publish.js';
import { routesToCanary } from '../../src/core/canary.js';
import { DEVICE_USER_ID_DB, DEVICE_USER_ID_KEY, DEVICE_USER_ID_STORE } from '../../src/server/device-user-id.js';
import { denseModel, removeTempDirs, tempDir } from '../helpers/models.js';

const skip = await browserSkipReason();
const SPLIT = { version: 2, percent: 50 };

type Win = Window & { lib: typeof import('../../src/browser.js'); server: import('../../src/browser.js').ModelServer };

async function startServer(page: Page, canary: { version: number; percent: number }, userId?: string): Promise<string> {
  await page.waitForFunction(() => (window as unknown as { libReady?: boolean }).libReady === true);
  return page.evaluate(async ([canary, userId]) => {
    const w = window as unknown as Win;
    w.server = await w.lib.ModelServer.start({ modelConfigList: [{ name: 'm', basePath: '/repo/m', canary }], pollIntervalMs: 0, backends: ['wasm'], ...(userId ? { userId } : {}) });
    return w.server.mode;
  }, [canary, userId ?? ''] as const);
}

/** The versions that answer `n` predicts of x = 1 (y = v·1), with the given user ids or none (the stored id). */
function versions(page: Page, userIds: Array<string | undefined>): Promise<number[]> {
  return page.evaluate(async (ids) => {
    const w = window as unknown as Win;
    const out: number[] = [];
    for (const userId of ids) {
      const r = await w.server.predict({ model: 'm', inputs: { 'dense_dense1_input:0': [[1]] } }, userId === null ? {} : { userId });
      const y = (r.outputs['Identity:0']!.data as Float32Array)[0]!;
      if (y !== r.model.version) throw new Error(`v${r.model.version} answered ${y}`);
      out.push(r.model.version);
    }
    return out;
  }, userIds.map((u) => u ?? null));
}

/** Reads (or, with `replace`, overwrites) the id the bundle keeps in IndexedDB, from the page. */
function storedId(page: Page, replace?: string): Promise<string | undefined> {
  return page.evaluate(
    ([db, store, key, replace]) =>
      new Promise<string | undefined>((resolve, reject) => {
        const open = indexedDB.open(db!);
        open.onerror = () => reject(open.error);
        open.onsuccess = () => {
          const conn = open.result;
          if (!conn.objectStoreNames.contains(store!)) return resolve(undefined);
          const tx = conn.transaction(store!, 'readwrite');
          const req = replace ? tx.objectStore(store!).put(replace, key!) : tx.objectStore(store!).get(key!);
          tx.oncomplete = () => {
            conn.close();
            resolve(replace || (req.result as string | undefined));
          };
          tx.onerror = () => reject(tx.error);
        };
      }),
    [DEVICE_USER_ID_DB, DEVICE_USER_ID_STORE, DEVICE_USER_ID_KEY, replace ?? ''] as const,
  );
}

const expectedVersion = (id: string) => (routesToCanary(SPLIT, 'm', id) ? 2 : 1);

describe('canary traffic in worker mode', { skip: skip ?? false, timeout: 180_000 }, () => {
  let repoDir: string;

  before(async () => {
    repoDir = await tempDir('canary-repo');
    for (const v of [1, 2]) await publishGraphModel(await denseModel(v, 0), join(repoDir, 'm'), { version: v });
  });
  after(removeTempDirs);

  test('the id kept in IndexedDB picks the version, the same across reloads; another stored id moves the user; rollback moves everyone', async () => {
    const app = await openLibraryPage(repoDir);
    try {
      assert.equal(await startServer(app.page, SPLIT), 'worker');
      // Explicit ids split between both versions, as the hash says (the worker routes them).
      const ids = Array.from({ length: 40 }, (_, i) => `user-${i}`);
      assert.deepEqual(await versions(app.page, ids), ids.map(expectedVersion));
      assert.deepEqual(new Set(ids.map(expectedVersion)), new Set([1, 2]));

      // REST on the device (what the Service Worker route calls): the X-Tfjs-Serving-User header crosses to the worker.
      const overRest = await app.page.evaluate(async (users) => {
        const w = window as unknown as Win;
        const out: number[] = [];
        for (const u of users) {
          const res = await w.lib.handleRestRequest(w.server, new Request('/v1/models/m:predict', { method: 'POST', headers: { 'X-Tfjs-Serving-User': u }, body: JSON.stringify({ instances: [[1]] }) }));
          out.push(((await res.json()) as { predictions: number[][] }).predictions[0]![0]!);
        }
        return out;
      }, ids);
      assert.deepEqual(overRest, ids.map(expectedVersion));

      // Without an id, the worker made one, kept it in IndexedDB, and routes by it.
      const mine = await versions(app.page, [undefined, undefined, undefined]);
      const id = await storedId(app.page);
      assert.match(id ?? '', /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/, 'a random UUID');
      assert.deepEqual(mine, [1, 1, 1].map(() => expectedVersion(id!)));

      for (let i = 0; i < 2; i++) {
        await app.page.reload();
        assert.equal(await startServer(app.page, SPLIT), 'worker');
        assert.equal(await storedId(app.page), id, `reload ${i + 1}: the same id`);
        assert.deepEqual(await versions(app.page, [undefined, undefined]), [1, 1].map(() => expectedVersion(id!)), `reload ${i + 1}: the same version`);
      }

      // An id of the other group, stored in its place, moves this browser to the other version after a reload.
      const other = ids.find((u) => expectedVersion(u) !== expectedVersion(id!))!;
      await storedId(app.page, other);
      await app.page.reload();
      await startServer(app.page, SPLIT);
      assert.deepEqual(await versions(app.page, [undefined, undefined]), [1, 1].map(() => expectedVersion(other)));

      // The app's own id (the `userId` option, crossing to the worker) wins over the stored one.
      await app.page.reload();
      await startServer(app.page, SPLIT, id);
      assert.deepEqual(await versions(app.page, [undefined, undefined]), [1, 1].map(() => expectedVersion(id!)));

      // Rollback (percent 0) by reloadConfig: every user on v1 at once.
      await app.page.evaluate(() => (window as unknown as Win).server.reloadConfig({ modelConfigList: [{ name: 'm', basePath: '/repo/m', canary: { version: 2, percent: 0 } }] }));
      assert.deepEqual(new Set(await versions(app.page, [...ids, undefined])), new Set([1]));
      const errors = app.logs.filter((l) => l.startsWith('[pageerror]'));
      assert.deepEqual(errors, []);
    } finally {
      await app.close();
    }
  });
});
