/** Page entry for test/browser/indexed-db-store.browser.test.ts. */
import { IndexedDbModelStore } from '../../../src/storage/indexed-db-model-store.js';
import { sha256Hex, sha256HexFallback } from '../../../src/storage/sha256.js';
import { describeFiles, putVersion, randomBytes } from '../../storage/store-conformance-cases.js';
import { bytesEqual, deepEqual, equal, ok, rejectsWithCode } from '../../helpers/portable-assert.js';
import { registerPageTests } from '../page-runtime.js';
import { deleteDatabase, rawKeys, runConformanceCase } from './idb-harness.js';

const enc = new TextEncoder();
const dec = new TextDecoder();

registerPageTests({
  conformance: (name) => runConformanceCase(String(name), 'page'),

  /** Runs every conformance case in a module worker; resolves with the worker's report. */
  'conformance-in-worker': () =>
    new Promise((resolve, reject) => {
      // The worker is a sibling entry of this bundle (built together by buildBrowserBundle).
      const worker = new Worker(import.meta.url.replace(/[^/]*$/, 'idb-store.worker.js'), { type: 'module' });
      const timer = setTimeout(() => {
        worker.terminate();
        reject(new Error('worker did not answer within 20 s'));
      }, 20_000);
      worker.onerror = (e) => {
        clearTimeout(timer);
        worker.terminate();
        reject(new Error(`worker error: ${e.message}`));
      };
      worker.onmessage = (e) => {
        if (e.data === 'ready') return worker.postMessage('conformance');
        clearTimeout(timer);
        worker.terminate();
        resolve(e.data);
      };
    }),

  env: async () => {
    const store = new IndexedDbModelStore({ dbName: 'env-probe' });
    const persisted = await store.persisted;
    await store.close();
    await deleteDatabase('env-probe');
    const bytes = randomBytes(100_000);
    equal(await sha256Hex(bytes), sha256HexFallback(bytes), 'WebCrypto and the fallback agree');
    return { persisted, secure: globalThis.isSecureContext, subtle: typeof crypto.subtle?.digest === 'function' };
  },

  /**
   * With a tiny quota set through CDP: a 3 MB version fails with RESOURCE_EXHAUSTED, abort removes what
   * was written, and the small version committed before stays readable.
   */
  quota: async () => {
    const dbName = 'quota-test';
    await deleteDatabase(dbName);
    const store = new IndexedDbModelStore({ dbName, persist: false });
    const small = { 'model.json': enc.encode('{"small":true}'), 'w.bin': randomBytes(10_000) };
    await putVersion(store, 'm', 1, small);
    const writer = await store.beginVersion('m', 2);
    const shards = [0, 1, 2].map(() => randomBytes(1024 * 1024));
    let written = 0;
    const err = await rejectsWithCode(
      (async () => {
        for (const [i, shard] of shards.entries()) {
          await writer.writeFile(`group1-shard${i + 1}of3.bin`, shard);
          written++;
        }
        return writer.commit(await describeFiles(Object.fromEntries(shards.map((s, i) => [`group1-shard${i + 1}of3.bin`, s]))));
      })(),
      'RESOURCE_EXHAUSTED',
    );
    ok(err.message.startsWith('storing m version 2: quota exceeded'), `message: ${err.message}`);
    // Version 1 holds two blobs; whatever else is there was written for version 2 (blobs and its staging marker).
    const before = (await rawKeys(dbName)).filter((k) => k[0] !== 'version').length - 2;
    await writer.abort();
    const after = await rawKeys(dbName);
    deepEqual(after.filter((k) => k[0] !== 'version').length, 2, 'nothing of version 2 is left after abort: only the two blobs of version 1');
    deepEqual(after.filter((k) => k[0] === 'version'), [['version', 'm', 1]]);
    deepEqual(await store.listVersions('m'), [1]);
    equal(dec.decode(await store.readFile('m', 1, 'model.json')), '{"small":true}');
    bytesEqual(await store.readFile('m', 1, 'w.bin'), small['w.bin']);
    await store.close();
    await deleteDatabase(dbName);
    return { message: err.message, shardsWrittenBeforeFailure: written, keysOfVersion2BeforeAbort: before };
  },

  'persist-write': async () => {
    const store = new IndexedDbModelStore({ dbName: 'reload-test' });
    const bytes = randomBytes(200_000);
    await putVersion(store, 'reload', 5, { 'model.json': enc.encode('{"v":5}'), 'w.bin': bytes });
    await store.close();
    return { sha256: await sha256Hex(bytes) };
  },

  'persist-read': async () => {
    const store = new IndexedDbModelStore({ dbName: 'reload-test' });
    deepEqual(await store.listVersions('reload'), [5]);
    const record = await store.getVersion('reload', 5);
    equal(dec.decode(await store.readFile('reload', 5, 'model.json')), '{"v":5}');
    const w = await store.readFile('reload', 5, 'w.bin');
    equal(await sha256Hex(w), record?.files.find((f) => f.path === 'w.bin')?.sha256, 'sha256 after reload');
    await store.close();
    await deleteDatabase('reload-test');
    return { sha256: await sha256Hex(w) };
  },
});
