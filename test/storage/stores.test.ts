import 'fake-indexeddb/auto'; // idb-keyval needs a global indexedDB; only this test file installs one
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createStore, keys, setMany } from 'idb-keyval';
import { MemoryModelStore } from '../../src/storage/memory-model-store.js';
import { FileSystemModelStore } from '../../src/storage/file-system-model-store.js';
import { IndexedDbModelStore } from '../../src/storage/indexed-db-model-store.js';
import { ServingError } from '../../src/core/status.js';
import { storeConformance } from './store-conformance.js';
import { describeFiles, putVersion, randomBytes } from './store-conformance-cases.js';

storeConformance('MemoryModelStore', async () => {
  const store = new MemoryModelStore();
  // Its backing storage is its private blob map: the harness looks inside, as the others read disk or IndexedDB.
  return { store, storedFileCount: async () => (store as unknown as { blobs: Map<string, Uint8Array> }).blobs.size };
});

storeConformance('FileSystemModelStore', async () => {
  const root = await mkdtemp(join(tmpdir(), 'tfjs-serving-store-'));
  return {
    store: new FileSystemModelStore(root),
    reopen: async () => new FileSystemModelStore(root, 0),
    storedFileCount: () => countFiles(root),
    dispose: () => rm(root, { recursive: true, force: true }),
  };
});

let dbCounter = 0;
storeConformance('IndexedDbModelStore (fake-indexeddb)', async () => {
  const dbName = `conformance-${++dbCounter}`;
  return {
    store: new IndexedDbModelStore({ dbName }),
    reopen: async () => new IndexedDbModelStore({ dbName, stagingTtlMs: 0 }),
    storedFileCount: async () => (await rawKeys(dbName)).filter((k) => k[0] === 'blob' || k[0] === 'file').length,
  };
});

/** Files under `root` (blobs, and files of the older layout), not counting commit records, pins nor the `.trash` the store empties lazily. */
async function countFiles(root: string): Promise<number> {
  let n = 0;
  for (const e of await readdir(root, { recursive: true, withFileTypes: true })) {
    const dir = e.parentPath ?? (e as { path?: string }).path ?? '';
    const bookkeeping = e.name === '.tfjs-serving-version.json' || e.name === '.tfjs-serving-staged.json' || e.name.startsWith('.tmp-');
    if (e.isFile() && !bookkeeping && !dir.split(/[\\/]/).includes('.trash')) n++;
  }
  return n;
}

async function rawKeys(dbName: string): Promise<unknown[][]> {
  return (await keys(createStore(dbName, 'models'))) as unknown[][];
}

const enc = new TextEncoder();
let n = 0;
const freshDb = () => `idb-specific-${++n}`;

test('IndexedDbModelStore: key layout: blobs by sha256, one record, a marker pinning the blobs only while writing', async () => {
  const dbName = freshDb();
  const store = new IndexedDbModelStore({ dbName });
  const files = { 'model.json': enc.encode('{}'), 'a/b.bin': new Uint8Array(8) };
  const [json, bin] = await describeFiles(files);
  const writer = await store.beginVersion('m', 4);
  await writer.writeFile('model.json', files['model.json']);
  await writer.writeFile('a/b.bin', files['a/b.bin']);
  let raw = await rawKeys(dbName);
  const marker = raw.find((k) => k[0] === 'staging');
  assert.ok(marker, 'a staging marker exists while writing');
  assert.deepEqual(raw.filter((k) => k[0] === 'version'), [], 'no record before commit');
  await writer.commit([json!, bin!]);
  raw = await rawKeys(dbName);
  const asSet = (ks: unknown[][]) => new Set(ks.map((k) => JSON.stringify(k)));
  assert.deepEqual(asSet(raw), asSet([['blob', bin!.sha256], ['blob', json!.sha256], ['version', 'm', 4]]));
  await store.deleteVersion('m', 4);
  assert.deepEqual(await rawKeys(dbName), []);
});

test('IndexedDbModelStore: versions stored by the older layout (files under their staging id) are read, swept and deleted', async () => {
  const dbName = freshDb();
  const idb = createStore(dbName, 'models');
  const bytes = { 'model.json': enc.encode('{"old":true}'), 'w.bin': randomBytes(300) };
  const record = { model: 'm', version: 1, files: await describeFiles(bytes), committedAt: new Date().toISOString(), stagingId: 'old1' };
  await setMany([
    [['version', 'm', 1], record],
    [['file', 'm', 1, 'old1', 'model.json'], bytes['model.json']],
    [['file', 'm', 1, 'old1', 'w.bin'], bytes['w.bin']],
    [['file', 'm', 2, 'crashed', 'w.bin'], randomBytes(10)], // an older release's abandoned download
  ], idb);
  const store = new IndexedDbModelStore({ dbName, stagingTtlMs: 0 });
  assert.deepEqual(await store.listVersions('m'), [1]);
  assert.equal(new TextDecoder().decode(await store.readFile('m', 1, 'model.json')), '{"old":true}');
  assert.deepEqual([...(await store.readFile('m', 1, 'w.bin'))], [...bytes['w.bin']]);
  // A new version next to it shares nothing with the old layout: it stores its own blobs.
  await putVersion(store, 'm', 3, bytes);
  await store.collectGarbage();
  assert.equal((await rawKeys(dbName)).filter((k) => k[0] === 'file').length, 2, 'the abandoned file is gone, the committed ones stay');
  await store.deleteVersion('m', 1);
  assert.deepEqual((await rawKeys(dbName)).filter((k) => k[0] === 'file'), []);
  assert.equal(new TextDecoder().decode(await store.readFile('m', 3, 'model.json')), '{"old":true}');
});

test('IndexedDbModelStore: collectGarbage spares writers still at work, in this instance or recently in another', async () => {
  const dbName = freshDb();
  const store = new IndexedDbModelStore({ dbName });
  const mine = await store.beginVersion('m', 1);
  await mine.writeFile('model.json', enc.encode('mine'));
  const otherTab = new IndexedDbModelStore({ dbName });
  const theirs = await otherTab.beginVersion('m', 2);
  await theirs.writeFile('model.json', enc.encode('theirs'));

  await store.collectGarbage(); // default TTL: the other tab's staging is fresh
  assert.equal((await rawKeys(dbName)).filter((k) => k[0] === 'blob').length, 2);
  await new IndexedDbModelStore({ dbName, stagingTtlMs: 0 }).collectGarbage(); // both writers look abandoned to a stranger
  assert.deepEqual(await rawKeys(dbName), [], 'stale staging files and markers are gone');

  // A writer whose files were collected must not commit a record that points at nothing.
  await assert.rejects(mine.commit(await describeFiles({ 'model.json': enc.encode('mine') })), (e: unknown) => {
    assert.ok(e instanceof ServingError);
    assert.equal(e.code, 'FAILED_PRECONDITION');
    assert.match(e.message, /model\.json vanished/);
    return true;
  });
  assert.deepEqual(await store.listVersions('m'), []);
  await mine.abort();
  await theirs.abort();
  assert.deepEqual(await rawKeys(dbName), []);
});

test('IndexedDbModelStore: a QuotaExceededError while writing becomes RESOURCE_EXHAUSTED and abort cleans up', async (t) => {
  const dbName = freshDb();
  const store = new IndexedDbModelStore({ dbName });
  await putVersion(store, 'm', 1, { 'model.json': enc.encode('v1') });
  const proto = IDBObjectStore.prototype;
  const put = proto.put;
  t.after(() => (proto.put = put));
  proto.put = function (this: IDBObjectStore, value: unknown, key?: IDBValidKey) {
    if (value instanceof Uint8Array && value.byteLength > 1000) throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
    return put.call(this, value, key);
  };
  const writer = await store.beginVersion('m', 2);
  await writer.writeFile('model.json', enc.encode('{}'));
  await assert.rejects(writer.writeFile('group1-shard1of1.bin', randomBytes(5000)), (e: unknown) => {
    assert.ok(e instanceof ServingError);
    assert.equal(e.code, 'RESOURCE_EXHAUSTED');
    assert.match(e.message, /^storing m version 2: quota exceeded while writing group1-shard1of1\.bin \(5000 bytes\)/);
    return true;
  });
  await writer.abort();
  assert.deepEqual(await rawKeys(dbName).then((ks) => ks.filter((k) => k[2] === 2)), [], 'no trace of version 2');
  assert.equal(new TextDecoder().decode(await store.readFile('m', 1, 'model.json')), 'v1');
});

test('IndexedDbModelStore: a QuotaExceededError on the commit record leaves the previous commit in place', async (t) => {
  const dbName = freshDb();
  const store = new IndexedDbModelStore({ dbName });
  await putVersion(store, 'm', 1, { 'model.json': enc.encode('old') });
  const writer = await store.beginVersion('m', 1);
  await writer.writeFile('model.json', enc.encode('new'));
  const proto = IDBObjectStore.prototype;
  const put = proto.put;
  t.after(() => (proto.put = put));
  proto.put = function (this: IDBObjectStore, value: unknown, key?: IDBValidKey) {
    if (Array.isArray(key) && key[0] === 'version') throw new DOMException('full', 'QuotaExceededError');
    return put.call(this, value, key);
  };
  const err = await writer.commit(await describeFiles({ 'model.json': enc.encode('new') })).catch((e: unknown) => e);
  assert.ok(err instanceof ServingError && err.code === 'RESOURCE_EXHAUSTED', String(err));
  assert.match(err.message, /^storing m version 1: quota exceeded/);
  proto.put = put;
  await writer.abort();
  assert.equal(new TextDecoder().decode(await store.readFile('m', 1, 'model.json')), 'old');
  assert.equal((await rawKeys(dbName)).length, 2, 'old record and its one file');
});

test('IndexedDbModelStore: writer misuse and bad arguments are reported with codes', async () => {
  const store = new IndexedDbModelStore({ dbName: freshDb() });
  await assert.rejects(store.beginVersion('m', -1), { code: 'INVALID_ARGUMENT' });
  await assert.rejects(store.beginVersion('m', 1.5), { code: 'INVALID_ARGUMENT' });
  await assert.rejects(store.beginVersion('', 1), { code: 'INVALID_ARGUMENT' });
  const writer = await store.beginVersion('m', 1);
  await writer.writeFile('model.json', enc.encode('{}'));
  await writer.commit(await describeFiles({ 'model.json': enc.encode('{}') }));
  await assert.rejects(writer.writeFile('late.bin', new Uint8Array(1)), { code: 'FAILED_PRECONDITION' });
  await writer.abort(); // after commit: a no-op, the version stays
  assert.deepEqual(await store.listVersions('m'), [1]);
  await assert.rejects(store.readFile('m', 1, '../model.json'), { code: 'INVALID_ARGUMENT' });
});

test('IndexedDbModelStore: close() and reuse; persisted is false without navigator.storage', async () => {
  const dbName = freshDb();
  const store = new IndexedDbModelStore({ dbName });
  assert.equal(await store.persisted, false);
  await putVersion(store, 'm', 1, { 'model.json': enc.encode('x') });
  await store.close();
  await store.close();
  assert.deepEqual(await store.listVersions('m'), [1], 'the next call reopens the database');
  assert.equal(store.kind, 'indexeddb');
});

test('IndexedDbModelStore: without a global indexedDB every call fails with FAILED_PRECONDITION', async (t) => {
  const descriptor = Object.getOwnPropertyDescriptor(globalThis, 'indexedDB')!;
  t.after(() => Object.defineProperty(globalThis, 'indexedDB', descriptor));
  delete (globalThis as { indexedDB?: unknown }).indexedDB;
  const store = new IndexedDbModelStore(); // constructing never touches IndexedDB
  await assert.rejects(store.listVersions('m'), (e: unknown) => {
    assert.ok(e instanceof ServingError);
    assert.equal(e.code, 'FAILED_PRECONDITION');
    assert.match(e.message, /IndexedDB is not available/);
    return true;
  });
});

test('IndexedDbModelStore: a view on a SharedArrayBuffer is stored as its own bytes', async () => {
  const store = new IndexedDbModelStore({ dbName: freshDb() });
  const shared = new Uint8Array(new SharedArrayBuffer(64));
  shared.set(randomBytes(64));
  const view = shared.subarray(8, 40);
  const writer = await store.beginVersion('m', 1);
  await writer.writeFile('w.bin', view);
  await writer.commit(await describeFiles({ 'w.bin': view.slice() }));
  const read = await store.readFile('m', 1, 'w.bin');
  assert.ok(read.buffer instanceof ArrayBuffer);
  assert.deepEqual([...read], [...view]);
});

test('FileSystemModelStore: versions stored by the older layout (files in the version directory) are read and deleted whole', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'tfjs-serving-store-legacy-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  const bytes = { 'model.json': enc.encode('{"old":true}'), 'w/x.bin': randomBytes(300) };
  await mkdir(join(root, 'm', '1', 'w'), { recursive: true });
  await writeFile(join(root, 'm', '1', 'model.json'), bytes['model.json']);
  await writeFile(join(root, 'm', '1', 'w', 'x.bin'), bytes['w/x.bin']);
  const record = { model: 'm', version: 1, files: await describeFiles(bytes), committedAt: new Date().toISOString() };
  await writeFile(join(root, 'm', '1', '.tfjs-serving-version.json'), JSON.stringify(record));
  const store = new FileSystemModelStore(root);
  assert.deepEqual(await store.listVersions('m'), [1]);
  assert.deepEqual([...(await store.readFile('m', 1, 'w/x.bin'))], [...bytes['w/x.bin']]);
  await putVersion(store, 'm', 2, bytes); // stored as blobs, next to the old layout
  assert.equal(await countFiles(root), 4, 'two legacy files and two blobs');
  await store.deleteVersion('m', 1);
  assert.equal(await countFiles(root), 2);
  assert.equal(new TextDecoder().decode(await store.readFile('m', 2, 'model.json')), '{"old":true}');
});

test('FileSystemModelStore: a blob half-written by a crashed process is collected; a younger one is left alone', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'tfjs-serving-store-crash-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  const store = new FileSystemModelStore(root);
  await putVersion(store, 'm', 1, { 'model.json': enc.encode('{}') });
  await writeFile(join(root, '.blobs', '.tmp-crashed'), randomBytes(100));
  await store.collectGarbage(); // default TTL: it may be another process's write in progress
  assert.ok((await readdir(join(root, '.blobs'))).includes('.tmp-crashed'));
  await new FileSystemModelStore(root, 0).collectGarbage();
  assert.deepEqual((await readdir(join(root, '.blobs'))).filter((n) => n.startsWith('.')), []);
  assert.equal(new TextDecoder().decode(await store.readFile('m', 1, 'model.json')), '{}');
});
