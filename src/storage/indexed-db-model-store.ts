import { createStore, promisifyRequest } from 'idb-keyval';
import type { UseStore } from 'idb-keyval';
import { ServingError, isQuotaError, messageOf } from '../core/status.js';
import type { ModelStore, StagedFile, StoredVersion, VersionFile, VersionWriter } from './model-store.js';
import { assertCommittable, assertSafeRelativePath, assertSha256Hex } from './model-store.js';
import { sha256Hex } from './sha256.js';

export const DEFAULT_DB_NAME = 'tfjs-serving';
export const DEFAULT_STORE_NAME = 'models';

export interface IndexedDbModelStoreOptions {
  /** IndexedDB database name. Default `tfjs-serving`. The database holds this one object store only. */
  dbName?: string;
  /** Object store name. Default `models`. */
  storeName?: string;
  /** Ask the browser to make this origin's storage persistent (`navigator.storage.persist()`). Default true. */
  persist?: boolean;
  /**
   * How long a staging area that another store instance (another tab, a crashed worker) left behind is
   * considered alive by `collectGarbage`. Each `writeFile` refreshes it. Default one hour.
   */
  stagingTtlMs?: number;
}

/**
 * Key layout in the one object store (IndexedDB array keys):
 * - `['blob', sha256]` → a file's bytes (`Uint8Array`), shared by every version of every model that lists it
 * - `['version', model, version]` → commit record (a `StoredVersion`, `layout: 'blobs'`)
 * - `['staging', model, version, stagingId]` → `{touchedAt, hashes}` while a writer is at work: the blobs it pins
 *
 * Older releases kept each version's files under `['file', model, version, stagingId, path]`, named by the
 * record's `stagingId`. Such versions are read where they are (no migration, no IndexedDB version upgrade,
 * so nothing stored offline is lost), deleted whole, and their blobs are not shared.
 */
type RecordKey = ['version', string, number];
type FileKey = ['file', string, number, string, string];
type StagingKey = ['staging', string, number, string];
type BlobKey = ['blob', string];

interface CommitRecord extends StoredVersion {
  /** `blobs` for content-addressed records; absent in the older layout. */
  readonly layout?: 'blobs';
  /** The older layout only: the staging id the version's files are keyed under. */
  readonly stagingId?: string;
}

interface StagingMarker {
  touchedAt: number;
  /** The blobs this writer staged or reused (absent in markers of older releases). */
  hashes?: string[];
}

/** Arrays sort after every other key type, so `[...prefix, []]` bounds all keys that extend `prefix`. */
const AFTER: never[] = [];

/**
 * A model store in IndexedDB, built on idb-keyval. Works in pages and in Web Workers.
 *
 * File contents are stored once per SHA-256 (`['blob', sha256]`), shared across versions and models of
 * the origin. A writer puts each blob (when it is not there yet) and lists it in its staging marker,
 * which pins it; `commit` then writes the version's commit record in one transaction, so readers see
 * either the old version or the new one, never a mix. Deleting a version, aborting a writer or
 * replacing a commit sweeps, in the same transaction, the blobs that no record and no marker lists.
 */
export class IndexedDbModelStore implements ModelStore {
  readonly kind = 'indexeddb';
  readonly dbName: string;
  readonly storeName: string;
  /** Whether the browser granted persistent storage; false where it cannot be asked (Node, workers, refusal). */
  readonly persisted: Promise<boolean>;
  private readonly stagingTtlMs: number;
  private useStore: UseStore | undefined;
  /** Staging ids of this instance's writers that have neither committed nor aborted. */
  private readonly active = new Set<string>();

  constructor(options: IndexedDbModelStoreOptions = {}) {
    this.dbName = options.dbName ?? DEFAULT_DB_NAME;
    this.storeName = options.storeName ?? DEFAULT_STORE_NAME;
    this.stagingTtlMs = options.stagingTtlMs ?? 60 * 60 * 1000;
    this.persisted = options.persist === false ? Promise.resolve(false) : requestPersistence();
  }

  async listVersions(model: string): Promise<number[]> {
    const keys = await this.run('readonly', `listing versions of ${model}`, (s) =>
      promisifyRequest(s.getAllKeys(range(['version', model]))),
    );
    return (keys as RecordKey[]).map((k) => k[2]).sort((a, b) => a - b);
  }

  async getVersion(model: string, version: number): Promise<StoredVersion | undefined> {
    const record = await this.run('readonly', `reading ${model} version ${version}`, (s) =>
      promisifyRequest<CommitRecord | undefined>(s.get(recordKey(model, version))),
    );
    return record && publicRecord(record);
  }

  async readFile(model: string, version: number, path: string): Promise<Uint8Array> {
    assertSafeRelativePath(path);
    // Record and file are read in one transaction, so a concurrent re-commit or delete cannot split them.
    const value = await this.run('readonly', `reading ${path} of ${model} version ${version}`, (s) => {
      const tx = new Tx(s);
      let bytes: unknown;
      tx.then(s.get(recordKey(model, version)), (record: CommitRecord | undefined) => {
        const file = record?.files.find((f) => f.path === path);
        if (!record || !file) return;
        const key = record.layout === 'blobs' ? blobKey(file.sha256) : fileKey(model, version, record.stagingId ?? '', path);
        tx.then(s.get(key), (found) => (bytes = found));
      });
      return tx.done(() => bytes);
    });
    if (value === undefined) {
      throw new ServingError('NOT_FOUND', `file ${path} of ${model} version ${version} is not in the store (IndexedDB ${this.dbName})`);
    }
    return asBytes(value);
  }

  async beginVersion(model: string, version: number): Promise<VersionWriter> {
    if (typeof model !== 'string' || model.length === 0) {
      throw new ServingError('INVALID_ARGUMENT', `model name ${JSON.stringify(model)} must be a non-empty string`);
    }
    if (!Number.isSafeInteger(version) || version < 0) {
      throw new ServingError('INVALID_ARGUMENT', `version ${version} of ${model} must be a non-negative integer`);
    }
    const stagingId = randomId();
    const marker = stagingKey(model, version, stagingId);
    const what = `storing ${model} version ${version}`;
    const staged = new Map<string, StagedFile>();
    const markerValue = (): StagingMarker => ({ touchedAt: Date.now(), hashes: [...new Set([...staged.values()].map((f) => f.sha256))] });
    await this.run('readwrite', what, (s) => {
      s.put(markerValue(), marker);
      return promisifyRequest(s.transaction);
    });
    this.active.add(stagingId);
    let state: 'open' | 'committed' | 'aborted' = 'open';
    const assertOpen = (op: string) => {
      if (state !== 'open') throw new ServingError('FAILED_PRECONDITION', `cannot ${op}: the writer for ${model} version ${version} is already ${state}`);
    };

    return {
      writeFile: async (path, bytes) => {
        assertOpen(`write ${path}`);
        assertSafeRelativePath(path);
        // Structured clone copies the whole buffer under a view, and cannot store a SharedArrayBuffer:
        // hand IndexedDB exactly the view's bytes in an ordinary ArrayBuffer.
        const whole = bytes.buffer instanceof ArrayBuffer && bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength;
        const value = whole ? bytes : bytes.slice();
        const sha256 = await sha256Hex(value);
        staged.set(path, { sha256, size: value.byteLength });
        // One transaction: pin the blob in the marker, and put it unless it is stored already.
        await this.guard(what, `writing ${path} (${bytes.byteLength} bytes)`, () =>
          this.store()('readwrite', (s) => {
            const tx = new Tx(s);
            s.put(markerValue(), marker);
            tx.then(s.count(blobKey(sha256)), (n) => {
              if (n === 0) s.put(value, blobKey(sha256));
            });
            return tx.done(() => undefined);
          }),
        );
      },

      reuseFile: async (file: VersionFile) => {
        assertOpen(`reuse ${file.path}`);
        assertSafeRelativePath(file.path);
        assertSha256Hex(file.sha256, `reusing ${file.path} for ${model} version ${version}`);
        // One transaction: a concurrent delete either ran before (no blob: false) or sees the pin.
        return this.run('readwrite', what, (s) => {
          const tx = new Tx(s);
          let reused = false;
          tx.then(s.count(blobKey(file.sha256)), (n) => {
            if (n === 0) return;
            staged.set(file.path, { sha256: file.sha256, size: file.size });
            s.put(markerValue(), marker);
            reused = true;
          });
          return tx.done(() => reused);
        });
      },

      commit: async (files: readonly VersionFile[]) => {
        assertOpen('commit');
        assertCommittable(model, version, files, staged);
        const record: CommitRecord = {
          model,
          version,
          files: files.map((f) => ({ path: f.path, size: f.size, sha256: f.sha256 })),
          committedAt: new Date().toISOString(),
          layout: 'blobs',
        };
        // One transaction: swap the record, drop this writer's marker, sweep what the replaced version alone held.
        await this.run('readwrite', what, (s) => {
          const tx = new Tx(s);
          const key = recordKey(model, version);
          // The bytes must still be there: another instance's collectGarbage may have taken a stalled writer's blobs.
          const present = record.files.map((f) => s.count(blobKey(f.sha256)));
          tx.then(s.get(key), (old: CommitRecord | undefined) => {
            const lost = record.files.filter((_, i) => present[i]?.result !== 1).map((f) => f.path);
            if (lost.length > 0) {
              throw new ServingError(
                'FAILED_PRECONDITION',
                `cannot commit ${model} version ${version}: ${lost.join(', ')} vanished from IndexedDB after being written ` +
                  `(collected as abandoned staging by another instance?); download the version again`,
              );
            }
            s.put(record, key);
            s.delete(marker);
            if (old) dropRecordFiles(s, tx, old, [...staged.values()].map((f) => f.sha256));
          });
          return tx.done(() => undefined);
        });
        state = 'committed';
        this.active.delete(stagingId);
        return publicRecord(record);
      },

      abort: async () => {
        if (state === 'committed') return;
        state = 'aborted';
        await this.run('readwrite', `aborting ${what}`, (s) => {
          const tx = new Tx(s);
          s.delete(marker);
          s.delete(range(['file', model, version, stagingId])); // an older release's writer under this id (none)
          sweep(s, tx, [...staged.values()].map((f) => f.sha256));
          return tx.done(() => undefined);
        });
        this.active.delete(stagingId);
      },
    };
  }

  async deleteVersion(model: string, version: number): Promise<void> {
    // The record goes first (in the same transaction), so the version vanishes at once.
    await this.run('readwrite', `deleting ${model} version ${version}`, (s) => {
      const tx = new Tx(s);
      const key = recordKey(model, version);
      tx.then(s.get(key), (record: CommitRecord | undefined) => {
        if (!record) return;
        s.delete(key);
        dropRecordFiles(s, tx, record, []);
      });
      return tx.done(() => undefined);
    });
  }

  /**
   * Deletes staging markers abandoned by other instances (untouched for `stagingTtlMs`), then every
   * blob that no commit record and no remaining marker lists, and files of the older layout that no
   * record or live writer owns. Runs in one transaction.
   */
  async collectGarbage(): Promise<void> {
    const now = Date.now();
    await this.run('readwrite', 'collecting garbage', (s) => {
      const tx = new Tx(s);
      const records = s.getAll(range(['version']));
      const markerKeys = s.getAllKeys(range(['staging']));
      const markers = s.getAll(range(['staging']));
      const fileKeys = s.getAllKeys(range(['file']));
      const blobKeys = s.getAllKeys(range(['blob']));
      // Requests on one store complete in the order they were made, so all results are in by the last one.
      tx.then(blobKeys, () => {
        const keep = new Set<string>(); // `${model}\0${version}\0${stagingId}` of the older layout
        const live = new Set<string>();
        for (const r of records.result as CommitRecord[]) {
          if (r.layout === 'blobs') for (const f of r.files) live.add(f.sha256);
          else keep.add(id(r.model, r.version, r.stagingId ?? ''));
        }
        const stagingKeys = markerKeys.result as StagingKey[];
        stagingKeys.forEach((key, i) => {
          const [, model, version, stagingId] = key;
          // getAll and getAllKeys of one range list the same entries in the same order.
          const m = markers.result[i] as StagingMarker | undefined;
          if (this.active.has(stagingId) || now - (m?.touchedAt ?? 0) < this.stagingTtlMs) {
            keep.add(id(model, version, stagingId));
            for (const h of m?.hashes ?? []) live.add(h);
          } else {
            s.delete(key);
          }
        });
        const doomed = new Map<string, FileKey>();
        for (const key of fileKeys.result as FileKey[]) {
          const [, model, version, stagingId] = key;
          const k = id(model, version, stagingId);
          if (!keep.has(k) && !this.active.has(stagingId)) doomed.set(k, key);
        }
        for (const [, model, version, stagingId] of doomed.values()) s.delete(range(['file', model, version, stagingId]));
        // The ['blob'] range holds only keys this store put there.
        for (const key of blobKeys.result as BlobKey[]) if (!live.has(key[1])) s.delete(key);
      });
      return tx.done(() => undefined);
    });
  }

  /** Closes the database connection; the next call opens it again. */
  async close(): Promise<void> {
    const store = this.useStore;
    if (!store) return;
    this.useStore = undefined;
    try {
      const db = await store('readonly', (s) => s.transaction.db);
      db.close();
    } catch {
      // Nothing open, nothing to close.
    }
  }

  private store(): UseStore {
    if (!this.useStore) {
      if (typeof indexedDB === 'undefined') {
        throw new ServingError(
          'FAILED_PRECONDITION',
          'IndexedDB is not available here (Node, or a browser context that disables it); use FileSystemModelStore or MemoryModelStore instead',
        );
      }
      this.useStore = createStore(this.dbName, this.storeName);
    }
    return this.useStore;
  }

  private run<T>(mode: IDBTransactionMode, what: string, callback: (store: IDBObjectStore) => T | PromiseLike<T>): Promise<T> {
    return this.guard(what, '', () => this.store()(mode, callback));
  }

  /** Maps IndexedDB failures to ServingErrors; a full quota becomes RESOURCE_EXHAUSTED. */
  private async guard<T>(what: string, during: string, op: () => Promise<T>): Promise<T> {
    try {
      return await op();
    } catch (e) {
      if (e instanceof ServingError) throw e;
      if (isQuotaError(e)) {
        throw new ServingError(
          'RESOURCE_EXHAUSTED',
          `${what}: quota exceeded${during ? ` while ${during}` : ''} in IndexedDB ${JSON.stringify(this.dbName)} ` +
            `(${describe(e)}); delete unused versions or free space for this origin`,
          { cause: e },
        );
      }
      throw ServingError.from(e, 'INTERNAL', `${what}${during ? ` (${during})` : ''} failed in IndexedDB ${JSON.stringify(this.dbName)}: `);
    }
  }
}

/**
 * One transaction with request callbacks. An exception thrown in a callback aborts the transaction and
 * becomes the error `done()` rejects with (IndexedDB itself would report only an AbortError).
 */
class Tx {
  private failure: unknown;
  constructor(private readonly store: IDBObjectStore) {}

  then<R>(request: IDBRequest<R>, callback: (result: R) => void): void {
    request.onsuccess = () => {
      try {
        callback(request.result);
      } catch (e) {
        this.failure ??= e;
        try {
          this.store.transaction.abort();
        } catch {
          // Already finished or aborting.
        }
      }
    };
  }

  done<T>(result: () => T): Promise<T> {
    return promisifyRequest(this.store.transaction).then(result, (e: unknown) => {
      throw this.failure ?? e ?? new Error('IndexedDB transaction aborted');
    });
  }
}

/**
 * After a record left (deleted or replaced): drops its files, older layout or blobs, except `keep` and
 * what other records and markers still list.
 */
function dropRecordFiles(s: IDBObjectStore, tx: Tx, record: CommitRecord, keep: readonly string[]): void {
  if (record.layout !== 'blobs') {
    s.delete(range(['file', record.model, record.version, record.stagingId ?? '']));
    return;
  }
  const held = new Set(keep);
  sweep(s, tx, record.files.map((f) => f.sha256).filter((h) => !held.has(h)));
}

/**
 * Deletes each of `candidates` that no commit record and no staging marker lists, as the transaction
 * stands after the requests made before this call (requests on one store run in order).
 */
function sweep(s: IDBObjectStore, tx: Tx, candidates: readonly string[]): void {
  if (candidates.length === 0) return;
  const records = s.getAll(range(['version']));
  const markers = s.getAll(range(['staging']));
  tx.then(markers, () => {
    const live = new Set<string>();
    // These ranges hold only the records and markers this store put there.
    for (const r of records.result as CommitRecord[]) if (r.layout === 'blobs') for (const f of r.files) live.add(f.sha256);
    // Markers likewise: only this store writes the ['staging'] range.
    for (const m of markers.result as StagingMarker[]) for (const h of m.hashes ?? []) live.add(h);
    for (const h of new Set(candidates)) if (!live.has(h)) s.delete(blobKey(h));
  });
}

/** `QuotaExceededError: message`, or just the name (Chromium's quota errors carry no message). */
function describe(e: unknown): string {
  const name = (e as { name?: unknown })?.name;
  const message = messageOf(e);
  return typeof name === 'string' && name ? (message ? `${name}: ${message}` : name) : message;
}

function recordKey(model: string, version: number): RecordKey {
  return ['version', model, version];
}

function fileKey(model: string, version: number, stagingId: string, path: string): FileKey {
  return ['file', model, version, stagingId, path];
}

function blobKey(sha256: string): BlobKey {
  return ['blob', sha256];
}

function stagingKey(model: string, version: number, stagingId: string): StagingKey {
  return ['staging', model, version, stagingId];
}

/** All keys that start with `prefix` (the prefix itself included). */
function range(prefix: (string | number)[]): IDBKeyRange {
  return IDBKeyRange.bound(prefix, [...prefix, AFTER]);
}

function id(model: string, version: number, stagingId: string): string {
  return `${model}\u0000${version}\u0000${stagingId}`;
}

function publicRecord(r: CommitRecord): StoredVersion {
  return { model: r.model, version: r.version, files: r.files, committedAt: r.committedAt };
}

function asBytes(value: unknown): Uint8Array {
  if (value instanceof Uint8Array) return value;
  if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  throw new ServingError('DATA_LOSS', `IndexedDB returned a ${typeof value} where file bytes were expected`);
}

/** 128 random bits as hex. `crypto.randomUUID` needs a secure context; `getRandomValues` does not. */
function randomId(): string {
  const bytes = new Uint8Array(16);
  const c = (globalThis as { crypto?: { getRandomValues?(a: Uint8Array): Uint8Array } }).crypto;
  if (c?.getRandomValues) c.getRandomValues(bytes);
  else for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(Math.random() * 256);
  let s = '';
  for (const b of bytes) s += b.toString(16).padStart(2, '0');
  return s;
}

/** Best effort: never throws, never rejects. `persist()` exists on pages, not in workers or Node. */
function requestPersistence(): Promise<boolean> {
  try {
    const storage = (globalThis as { navigator?: { storage?: { persist?(): Promise<boolean> } } }).navigator?.storage;
    if (typeof storage?.persist !== 'function') return Promise.resolve(false);
    return storage.persist().then(
      (granted) => granted === true,
      () => false,
    );
  } catch {
    return Promise.resolve(false);
  }
}
