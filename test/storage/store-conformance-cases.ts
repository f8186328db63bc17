/**
 * The behaviour every ModelStore must show, as plain async cases with no Node imports, so the same cases
 * run under node:test (store-conformance.ts) and inside headless Chromium (test/browser/).
 */
import type { ModelStore, StoredVersion, VersionFile } from '../../src/storage/model-store.js';
import { sha256Hex } from '../../src/storage/sha256.js';
import { bytesEqual, deepEqual, equal, ok, rejectsWithCode } from '../helpers/portable-assert.js';

/** A store under test, plus optional views into its backing storage for the cases that need them. */
export interface StoreHarness {
  store: ModelStore;
  /**
   * A second store on the same backing storage, as a new tab or process would open it, that regards staging
   * left by other instances as abandoned (for garbage-collection cases).
   */
  reopen?(): Promise<ModelStore>;
  /** How many file blobs the backing storage holds, staged or committed (commit records not counted). */
  storedFileCount?(): Promise<number>;
  dispose?(): Promise<void>;
}

export type StoreFactory = () => Promise<StoreHarness>;

/** Thrown by a case that does not apply to a store; runners report it as skipped. */
export class SkipCase extends Error {
  override readonly name = 'SkipCase';
}

export interface ConformanceCase {
  readonly name: string;
  run(h: StoreHarness): Promise<void>;
}

const enc = new TextEncoder();
const text = (s: string) => enc.encode(s);
const dec = new TextDecoder();

export function randomBytes(n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let off = 0; off < n; off += 65536) crypto.getRandomValues(out.subarray(off, Math.min(n, off + 65536)));
  return out;
}

export async function describeFiles(files: Record<string, Uint8Array>): Promise<VersionFile[]> {
  return Promise.all(Object.entries(files).map(async ([path, bytes]) => ({ path, size: bytes.byteLength, sha256: await sha256Hex(bytes) })));
}

/** Writes and commits one version. */
export async function putVersion(store: ModelStore, model: string, version: number, files: Record<string, Uint8Array>): Promise<StoredVersion> {
  const writer = await store.beginVersion(model, version);
  try {
    for (const [path, bytes] of Object.entries(files)) await writer.writeFile(path, bytes);
    return await writer.commit(await describeFiles(files));
  } catch (e) {
    await writer.abort();
    throw e;
  }
}

async function expectCount(h: StoreHarness, expected: number, message: string): Promise<void> {
  if (h.storedFileCount) equal(await h.storedFileCount(), expected, message);
}

async function readText(store: ModelStore, model: string, version: number, path: string): Promise<string> {
  return dec.decode(await store.readFile(model, version, path));
}

export const conformanceCases: ConformanceCase[] = [
  {
    name: 'commit makes a version visible to list, get and read',
    async run({ store }) {
      const files = { 'model.json': text('{"format":"graph-model"}'), 'weights/group1-shard1of1.bin': new Uint8Array([1, 2, 3, 255]) };
      const record = await putVersion(store, 'mnist', 2, files);
      await putVersion(store, 'mnist', 1, { 'model.json': text('v1') });
      await putVersion(store, 'mnist-big', 7, { 'model.json': text('other') });

      equal(record.model, 'mnist');
      equal(record.version, 2);
      ok(!Number.isNaN(Date.parse(record.committedAt)), `committedAt ${record.committedAt} is an ISO time`);
      deepEqual(await store.listVersions('mnist'), [1, 2], 'versions ascending, other models excluded');
      deepEqual(await store.listVersions('mnist-big'), [7]);
      deepEqual(await store.listVersions('absent'), []);
      deepEqual(await store.getVersion('mnist', 2), record, 'getVersion returns the commit record');
      deepEqual((await store.getVersion('mnist', 2))?.files, await describeFiles(files));
      equal(await store.getVersion('mnist', 3), undefined);
      equal(await readText(store, 'mnist', 2, 'model.json'), '{"format":"graph-model"}');
      bytesEqual(await store.readFile('mnist', 2, 'weights/group1-shard1of1.bin'), new Uint8Array([1, 2, 3, 255]));
      equal(await readText(store, 'mnist', 1, 'model.json'), 'v1');
    },
  },
  {
    name: 'readFile of a missing file or version is NOT_FOUND',
    async run({ store }) {
      await putVersion(store, 'm', 1, { 'model.json': text('{}') });
      await rejectsWithCode(store.readFile('m', 1, 'nope.bin'), 'NOT_FOUND', 'missing file');
      await rejectsWithCode(store.readFile('m', 2, 'model.json'), 'NOT_FOUND', 'missing version');
      await rejectsWithCode(store.readFile('other', 1, 'model.json'), 'NOT_FOUND', 'missing model');
    },
  },
  {
    name: 'nothing is visible before commit',
    async run({ store }) {
      const writer = await store.beginVersion('m', 1);
      await writer.writeFile('model.json', text('{}'));
      deepEqual(await store.listVersions('m'), []);
      equal(await store.getVersion('m', 1), undefined);
      await rejectsWithCode(store.readFile('m', 1, 'model.json'), 'NOT_FOUND');
      await writer.commit(await describeFiles({ 'model.json': text('{}') }));
      deepEqual(await store.listVersions('m'), [1]);
    },
  },
  {
    name: 'abort leaves nothing behind and may be called twice',
    async run(h) {
      const { store } = h;
      await putVersion(store, 'm', 1, { 'model.json': text('kept') });
      const writer = await store.beginVersion('m', 2);
      await writer.writeFile('model.json', text('{}'));
      await writer.writeFile('a/b.bin', randomBytes(1000));
      await writer.abort();
      await writer.abort();
      deepEqual(await store.listVersions('m'), [1]);
      equal(await store.getVersion('m', 2), undefined);
      await rejectsWithCode(store.readFile('m', 2, 'model.json'), 'NOT_FOUND');
      await expectCount(h, 1, 'only the committed version 1 file remains');
      equal(await readText(store, 'm', 1, 'model.json'), 'kept');
    },
  },
  {
    name: 'commit fails with FAILED_PRECONDITION when a listed file was not written',
    async run(h) {
      const { store } = h;
      const writer = await store.beginVersion('m', 1);
      await writer.writeFile('model.json', text('{}'));
      const files = await describeFiles({ 'model.json': text('{}'), 'group1-shard1of1.bin': new Uint8Array(4) });
      const err = await rejectsWithCode(writer.commit(files), 'FAILED_PRECONDITION');
      ok(err.message.includes('group1-shard1of1.bin'), `message names the missing file: ${err.message}`);
      equal(await store.getVersion('m', 1), undefined);
      deepEqual(await store.listVersions('m'), []);
      await writer.abort();
      await expectCount(h, 0, 'abort after a failed commit removes the staged file');
    },
  },
  {
    name: 'deleteVersion removes one version and keeps the others',
    async run(h) {
      const { store } = h;
      await putVersion(store, 'm', 1, { 'model.json': text('one'), 'w.bin': new Uint8Array(10) });
      await putVersion(store, 'm', 2, { 'model.json': text('two') });
      await store.deleteVersion('m', 1);
      deepEqual(await store.listVersions('m'), [2]);
      equal(await store.getVersion('m', 1), undefined);
      await rejectsWithCode(store.readFile('m', 1, 'model.json'), 'NOT_FOUND');
      equal(await readText(store, 'm', 2, 'model.json'), 'two');
      await expectCount(h, 1, 'the files of version 1 are gone');
      await store.deleteVersion('m', 1); // deleting what is not there is not an error
      await store.deleteVersion('never', 5);
    },
  },
  {
    name: 'committing the same version again replaces it whole',
    async run(h) {
      const { store } = h;
      await putVersion(store, 'm', 3, { 'model.json': text('old'), 'old-only.bin': new Uint8Array(3) });
      const record = await putVersion(store, 'm', 3, { 'model.json': text('new'), 'new-only.bin': new Uint8Array([9]) });
      deepEqual(await store.listVersions('m'), [3]);
      deepEqual(await store.getVersion('m', 3), record);
      equal(await readText(store, 'm', 3, 'model.json'), 'new');
      bytesEqual(await store.readFile('m', 3, 'new-only.bin'), new Uint8Array([9]));
      await rejectsWithCode(store.readFile('m', 3, 'old-only.bin'), 'NOT_FOUND', 'a file only the old commit had');
      await expectCount(h, 2, 'the replaced files are gone');
    },
  },
  {
    name: 'unsafe paths are rejected with INVALID_ARGUMENT',
    async run(h) {
      const { store } = h;
      const writer = await store.beginVersion('m', 1);
      for (const bad of ['../x', '/abs', 'a/../../x', 'a\\b', '', 'a//b', './x']) {
        await rejectsWithCode(writer.writeFile(bad, new Uint8Array(1)), 'INVALID_ARGUMENT', `path ${JSON.stringify(bad)}`);
      }
      await writer.abort();
      await expectCount(h, 0, 'nothing was written');
    },
  },
  {
    name: 'collectGarbage removes staging abandoned by another instance and keeps committed versions',
    async run(h) {
      const { store } = h;
      if (!store.collectGarbage || !h.reopen) throw new SkipCase(`${store.kind} store has no garbage to collect across instances`);
      await putVersion(store, 'm', 1, { 'model.json': text('kept'), 'w.bin': randomBytes(100) });
      // A writer that neither commits nor aborts: a crashed process or a closed tab.
      const abandoned = await store.beginVersion('m', 2);
      await abandoned.writeFile('model.json', text('{}'));
      await abandoned.writeFile('w.bin', randomBytes(5000));
      await expectCount(h, 4, 'before collection');
      const later = await h.reopen();
      await later.collectGarbage!();
      await expectCount(h, 2, 'after collection only the committed files remain');
      deepEqual(await later.listVersions('m'), [1]);
      equal(await readText(later, 'm', 1, 'model.json'), 'kept');
      equal(await readText(store, 'm', 1, 'model.json'), 'kept');
      await later.close?.();
    },
  },
  {
    name: 'two concurrent writers of different versions both commit',
    async run(h) {
      const { store } = h;
      const a = await store.beginVersion('m', 1);
      const b = await store.beginVersion('m', 2);
      const a1 = randomBytes(20000);
      const b1 = randomBytes(30000);
      await Promise.all([a.writeFile('model.json', text('A')), b.writeFile('model.json', text('B'))]);
      await Promise.all([a.writeFile('w.bin', a1), b.writeFile('w.bin', b1)]);
      const [ra, rb] = await Promise.all([
        a.commit(await describeFiles({ 'model.json': text('A'), 'w.bin': a1 })),
        b.commit(await describeFiles({ 'model.json': text('B'), 'w.bin': b1 })),
      ]);
      equal(ra.version, 1);
      equal(rb.version, 2);
      deepEqual(await store.listVersions('m'), [1, 2]);
      equal(await readText(store, 'm', 1, 'model.json'), 'A');
      equal(await readText(store, 'm', 2, 'model.json'), 'B');
      bytesEqual(await store.readFile('m', 1, 'w.bin'), a1);
      bytesEqual(await store.readFile('m', 2, 'w.bin'), b1);
      await expectCount(h, 4, 'both versions complete');
    },
  },
  {
    name: 'a 3 MB random buffer round-trips byte for byte',
    async run({ store }) {
      const size = 3 * 1024 * 1024;
      const backing = randomBytes(size + 11);
      const view = backing.subarray(5, 5 + size); // a view with an offset into a larger buffer
      const expected = view.slice();
      const writer = await store.beginVersion('big', 1);
      await writer.writeFile('group1-shard1of1.bin', view);
      backing.fill(0); // the store must have taken its own copy
      const [file] = await describeFiles({ 'group1-shard1of1.bin': expected });
      await writer.commit([file!]);
      const read = await store.readFile('big', 1, 'group1-shard1of1.bin');
      bytesEqual(read, expected);
      equal(await sha256Hex(read), file!.sha256, 'sha256 of what was read');
    },
  },
  {
    name: 'identical files are stored once, across versions and models',
    async run(h) {
      const { store } = h;
      const shared = randomBytes(4000);
      await putVersion(store, 'm', 1, { 'model.json': text('one'), 'w.bin': shared });
      await putVersion(store, 'm', 2, { 'model.json': text('two'), 'w.bin': shared, 'copy/w.bin': shared });
      await putVersion(store, 'other', 1, { 'model.json': text('three'), 'x.bin': shared });
      await expectCount(h, 4, 'three model.json and one shared blob');
      bytesEqual(await store.readFile('m', 1, 'w.bin'), shared);
      bytesEqual(await store.readFile('m', 2, 'copy/w.bin'), shared);
      bytesEqual(await store.readFile('other', 1, 'x.bin'), shared);
    },
  },
  {
    name: 'reuseFile takes a stored blob without its bytes, and refuses one the store lacks',
    async run(h) {
      const { store } = h;
      const shared = randomBytes(5000);
      await putVersion(store, 'a', 1, { 'model.json': text('a1'), 'w.bin': shared });
      const writer = await store.beginVersion('b', 7);
      if (!writer.reuseFile) {
        await writer.abort();
        throw new SkipCase(`${store.kind} store does not share files by content`);
      }
      const [sharedFile, missing, json] = await describeFiles({ 'weights/w.bin': shared, 'new.bin': randomBytes(10), 'model.json': text('b7') });
      equal(await writer.reuseFile(sharedFile!), true, 'a blob of another model is reused');
      equal(await writer.reuseFile(missing!), false, 'a blob the store lacks is not');
      await rejectsWithCode(writer.reuseFile({ path: 'x.bin', size: 1, sha256: '../../etc/passwd' }), 'INVALID_ARGUMENT', 'a malformed sha256');
      await writer.writeFile('model.json', text('b7'));
      await rejectsWithCode(writer.commit([sharedFile!, missing!, json!]), 'FAILED_PRECONDITION', 'new.bin was neither written nor reused');
      await writer.commit([sharedFile!, json!]);
      bytesEqual(await store.readFile('b', 7, 'weights/w.bin'), shared);
      await expectCount(h, 3, 'a1, b7 and the shared blob');
    },
  },
  {
    name: 'commit refuses a file whose bytes do not match the sha256 it lists',
    async run({ store }) {
      const writer = await store.beginVersion('m', 1);
      await writer.writeFile('w.bin', text('real bytes'));
      const [claimed] = await describeFiles({ 'w.bin': text('other bytes') });
      const err = await rejectsWithCode(writer.commit([claimed!]), 'FAILED_PRECONDITION');
      ok(err.message.includes('w.bin') && err.message.includes(claimed!.sha256), `message names the file and the listed hash: ${err.message}`);
      deepEqual(await store.listVersions('m'), []);
      await writer.abort();
    },
  },
  {
    name: 'deleting a version keeps the blobs other versions share; the last reference frees them',
    async run(h) {
      const { store } = h;
      const shared = randomBytes(3000);
      const only1 = randomBytes(2000);
      await putVersion(store, 'm', 1, { 'model.json': text('one'), 'w.bin': shared, 'only.bin': only1 });
      await putVersion(store, 'm', 2, { 'model.json': text('two'), 'w.bin': shared });
      await putVersion(store, 'n', 1, { 'model.json': text('three'), 'w.bin': shared });
      await expectCount(h, 5, 'before');
      await store.deleteVersion('m', 1);
      await expectCount(h, 3, 'one.json and only.bin are gone, the shared blob stays');
      bytesEqual(await store.readFile('m', 2, 'w.bin'), shared);
      await store.deleteVersion('m', 2);
      bytesEqual(await store.readFile('n', 1, 'w.bin'), shared);
      await store.deleteVersion('n', 1);
      await expectCount(h, 0, 'no version refers to anything');
    },
  },
  {
    name: 'a blob an open writer reused or wrote outlives the deletion or abort of the others that held it',
    async run(h) {
      const { store } = h;
      const shared = randomBytes(3000);
      await putVersion(store, 'm', 1, { 'model.json': text('one'), 'w.bin': shared });
      const writer = await store.beginVersion('m', 2);
      const files = await describeFiles({ 'model.json': text('two'), 'w.bin': shared });
      if (writer.reuseFile) equal(await writer.reuseFile(files[1]!), true);
      else await writer.writeFile('w.bin', shared);
      await store.deleteVersion('m', 1); // the only committed holder
      // A second writer that writes the same bytes, then aborts, must not take them either.
      const other = await store.beginVersion('n', 1);
      await other.writeFile('w.bin', shared);
      await other.abort();
      await writer.writeFile('model.json', text('two'));
      await writer.commit(files);
      bytesEqual(await store.readFile('m', 2, 'w.bin'), shared);
      await expectCount(h, 2, 'two.json and the shared blob');
    },
  },
  {
    name: 'collectGarbage takes an abandoned writer\'s own blobs and keeps those a commit shares',
    async run(h) {
      const { store } = h;
      if (!store.collectGarbage || !h.reopen) throw new SkipCase(`${store.kind} store has no garbage to collect across instances`);
      const shared = randomBytes(3000);
      await putVersion(store, 'm', 1, { 'model.json': text('one'), 'w.bin': shared });
      const abandoned = await store.beginVersion('m', 2);
      await abandoned.writeFile('w.bin', shared);
      await abandoned.writeFile('new.bin', randomBytes(4000));
      await expectCount(h, 3, 'before collection');
      const later = await h.reopen();
      await later.collectGarbage!();
      await expectCount(h, 2, 'the abandoned writer\'s new blob is gone');
      bytesEqual(await later.readFile('m', 1, 'w.bin'), shared);
      await later.close?.();
    },
  },
];
