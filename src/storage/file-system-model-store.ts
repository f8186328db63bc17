import { mkdir, readFile, readdir, rename, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { createHash, randomUUID } from 'node:crypto';
import { ServingError } from '../core/status.js';
import type { ModelStore, StagedFile, StoredVersion, VersionFile, VersionWriter } from './model-store.js';
import { assertCommittable, assertSafeRelativePath, assertSha256Hex } from './model-store.js';

/** The errno code (`ENOENT`, …) of what a Node fs call rejected with. */
function errnoOf(e: unknown): unknown {
  return typeof e === 'object' && e !== null && 'code' in e ? e.code : undefined;
}

const RECORD = '.tfjs-serving-version.json';
/** In a staging directory: the blobs the writer staged or reused (`{path: {sha256, size}}`), which no sweep may take. */
const PINS = '.tfjs-serving-staged.json';
const STAGING = '.staging';
const TRASH = '.trash';
/** The content-addressed blobs, `<root>/.blobs/<sha256>`, shared by every model in the directory. */
const BLOBS = '.blobs';

/** The record on disk: `layout: 'blobs'` marks the content-addressed layout; without it the files sit in the version directory. */
interface DiskRecord extends StoredVersion {
  readonly layout?: 'blobs';
}

/** Sweeps and pins of stores on one directory in this process run one at a time. */
const locks = new Map<string, Promise<unknown>>();

/**
 * A model store in a cache directory (Node). Layout: file contents by SHA-256 in `<root>/.blobs/`,
 * shared by all models and versions, and one commit record per version,
 * `<root>/<model>/<version>/.tfjs-serving-version.json`, listing `path → sha256`. A writer stages
 * blobs (written through a temporary name and a rename) and pins them in `<root>/<model>/.staging/`;
 * `commit` writes the record there and makes the version visible by one directory rename, so a reader
 * never sees half of it; deleting renames the version into `.trash/` first, then sweeps the blobs no
 * record and no live writer lists.
 *
 * Versions written by the older layout (files inside the version directory, a record without
 * `layout`) are read as they are, never migrated, and deleted whole.
 *
 * Several processes may share the directory; a sweep in one racing a commit in another that reuses the
 * blob being swept is caught by the commit, which re-checks its blobs after the rename and fails
 * FAILED_PRECONDITION (the source downloads again on its next poll) rather than leave a broken version.
 */
export class FileSystemModelStore implements ModelStore {
  readonly kind = 'filesystem';

  /**
   * @param root the cache directory (created on first write)
   * @param stagingTtlMs staged downloads older than this are garbage; younger ones may belong to
   *   another process sharing the directory; 0 collects every staged download. Default 1 hour.
   */
  constructor(
    readonly root: string,
    readonly stagingTtlMs = 3_600_000,
  ) {}

  async listVersions(model: string): Promise<number[]> {
    let names: string[];
    try {
      names = await readdir(this.modelDir(model));
    } catch (e) {
      if (errnoOf(e) === 'ENOENT') return [];
      throw e;
    }
    const versions: number[] = [];
    for (const name of names) {
      if (!/^\d+$/.test(name)) continue;
      if (await this.readRecord(model, Number(name))) versions.push(Number(name));
    }
    return versions.sort((a, b) => a - b);
  }

  async getVersion(model: string, version: number): Promise<StoredVersion | undefined> {
    const record = await this.readRecord(model, version);
    return record && { model: record.model, version: record.version, files: record.files, committedAt: record.committedAt };
  }

  async readFile(model: string, version: number, path: string): Promise<Uint8Array> {
    assertSafeRelativePath(path);
    const record = await this.readRecord(model, version);
    const file = record?.files.find((f) => f.path === path);
    const notFound = () => new ServingError('NOT_FOUND', `file ${path} of ${model} version ${version} is not in the store at ${this.root}`);
    if (!record || !file) throw notFound();
    const location = record.layout === 'blobs' ? this.blobPath(file.sha256) : join(this.versionDir(model, version), ...path.split('/'));
    try {
      return new Uint8Array(await readFile(location));
    } catch (e) {
      if (errnoOf(e) === 'ENOENT') throw notFound();
      throw ServingError.from(e, 'INTERNAL', `reading ${path} of ${model} version ${version}: `);
    }
  }

  async beginVersion(model: string, version: number): Promise<VersionWriter> {
    if (typeof model !== 'string' || model.length === 0 || encodeURIComponent(model) === BLOBS) {
      throw new ServingError('INVALID_ARGUMENT', `model name ${JSON.stringify(model)} cannot be stored (expected a non-empty name other than ${BLOBS})`);
    }
    const staging = join(this.modelDir(model), STAGING, `${version}-${randomUUID()}`);
    await mkdir(staging, { recursive: true });
    const staged = new Map<string, StagedFile>();
    const pin = () => writeFile(join(staging, PINS), JSON.stringify(Object.fromEntries(staged)));
    return {
      writeFile: async (path, bytes) => {
        assertSafeRelativePath(path);
        const sha256 = createHash('sha256').update(bytes).digest('hex');
        await this.exclusive(async () => {
          staged.set(path, { sha256, size: bytes.byteLength });
          await pin();
          await this.writeBlob(sha256, bytes);
        });
      },
      reuseFile: async (file: VersionFile) => {
        assertSafeRelativePath(file.path);
        assertSha256Hex(file.sha256, `reusing ${file.path} for ${model} version ${version}`);
        return this.exclusive(async () => {
          const s = await stat(this.blobPath(file.sha256)).catch(() => undefined);
          if (s?.size !== file.size) return false;
          staged.set(file.path, { sha256: file.sha256, size: file.size });
          await pin();
          return true;
        });
      },
      commit: async (files: readonly VersionFile[]) => {
        assertCommittable(model, version, files, staged);
        const record: DiskRecord = {
          model,
          version,
          files: files.map((f) => ({ path: f.path, size: f.size, sha256: f.sha256 })),
          committedAt: new Date().toISOString(),
          layout: 'blobs',
        };
        await writeFile(join(staging, RECORD), JSON.stringify(record));
        const target = this.versionDir(model, version);
        await this.exclusive(async () => {
          await this.moveToTrash(target);
          await rename(staging, target);
          await unlink(join(target, PINS)).catch(() => undefined);
          const lost: string[] = [];
          for (const f of record.files) if ((await stat(this.blobPath(f.sha256)).catch(() => undefined))?.size !== f.size) lost.push(f.path);
          if (lost.length > 0) {
            await this.moveToTrash(target);
            throw new ServingError(
              'FAILED_PRECONDITION',
              `cannot commit ${model} version ${version}: ${lost.join(', ')} vanished from ${this.root} after being written ` +
                `(collected by another process?); download the version again`,
            );
          }
        });
        await this.emptyTrash(model);
        return { model, version, files: record.files, committedAt: record.committedAt };
      },
      abort: async () => {
        await rm(staging, { recursive: true, force: true });
        await this.exclusive(() => this.sweep(Date.now()));
      },
    };
  }

  async deleteVersion(model: string, version: number): Promise<void> {
    await this.moveToTrash(this.versionDir(model, version));
    await this.emptyTrash(model);
  }

  async collectGarbage(): Promise<void> {
    let models: string[];
    try {
      models = await readdir(this.root);
    } catch {
      return;
    }
    const now = Date.now();
    for (const m of models) {
      if (m === BLOBS) continue;
      const staging = join(this.root, m, STAGING);
      for (const entry of await readdir(staging).catch((): string[] => [])) {
        if (!(await this.isLive(join(staging, entry), now))) await rm(join(staging, entry), { recursive: true, force: true });
      }
      await rm(join(this.root, m, TRASH), { recursive: true, force: true });
    }
    await this.exclusive(() => this.sweep(now));
  }

  /** Empties a model's trash, then sweeps the blobs that no record nor live writer lists any more. */
  private async emptyTrash(model: string): Promise<void> {
    await rm(join(this.modelDir(model), TRASH), { recursive: true, force: true });
    await this.exclusive(() => this.sweep(Date.now()));
  }

  /** Mark and sweep: deletes every blob (and stale temporary blob) that no commit record and no live staging area lists. */
  private async sweep(now: number): Promise<void> {
    const names = await readdir(join(this.root, BLOBS)).catch((): string[] => []);
    if (names.length === 0) return;
    const live = new Set<string>();
    for (const m of await readdir(this.root).catch((): string[] => [])) {
      if (m === BLOBS) continue;
      const dir = join(this.root, m);
      for (const name of await readdir(dir).catch((): string[] => [])) {
        if (/^\d+$/.test(name)) {
          const record = await readJson<DiskRecord>(join(dir, name, RECORD));
          for (const f of record?.files ?? []) live.add(f.sha256);
        }
      }
      for (const entry of await readdir(join(dir, STAGING)).catch((): string[] => [])) {
        const path = join(dir, STAGING, entry);
        if (!(await this.isLive(path, now))) continue;
        for (const f of Object.values((await readJson<Record<string, StagedFile>>(join(path, PINS))) ?? {})) live.add(f.sha256);
      }
    }
    for (const name of names) {
      const path = join(this.root, BLOBS, name);
      if (name.startsWith('.tmp-')) {
        const s = await stat(path).catch(() => undefined);
        // A blob half-written by a process that died; one being written in this process holds the lock.
        if (s && (this.stagingTtlMs <= 0 || now - s.mtimeMs > this.stagingTtlMs)) await rm(path, { force: true });
      } else if (!live.has(name)) {
        await rm(path, { force: true });
      }
    }
  }

  /** Whether a staging area is still being written (touched within the TTL). */
  private async isLive(staging: string, now: number): Promise<boolean> {
    if (this.stagingTtlMs <= 0) return false;
    const s = (await stat(join(staging, PINS)).catch(() => undefined)) ?? (await stat(staging).catch(() => undefined));
    return s !== undefined && now - s.mtimeMs < this.stagingTtlMs;
  }

  /** Writes a blob through a temporary name and a rename; a blob already there has these very bytes. */
  private async writeBlob(sha256: string, bytes: Uint8Array): Promise<void> {
    const path = this.blobPath(sha256);
    if ((await stat(path).catch(() => undefined))?.size === bytes.byteLength) return;
    await mkdir(join(this.root, BLOBS), { recursive: true });
    const tmp = join(this.root, BLOBS, `.tmp-${randomUUID()}`);
    await writeFile(tmp, bytes);
    await rename(tmp, path);
  }

  /** Runs `op` after every other exclusive operation on this directory in this process. */
  private exclusive<T>(op: () => Promise<T>): Promise<T> {
    const previous = locks.get(this.root) ?? Promise.resolve();
    const next = previous.then(op, op);
    const settled = next.catch(() => undefined);
    locks.set(this.root, settled);
    void settled.then(() => {
      if (locks.get(this.root) === settled) locks.delete(this.root);
    });
    return next;
  }

  private async moveToTrash(dir: string): Promise<void> {
    const trash = join(dirname(dir), TRASH);
    await mkdir(trash, { recursive: true });
    try {
      await rename(dir, join(trash, randomUUID()));
    } catch (e) {
      if (errnoOf(e) !== 'ENOENT') throw e;
    }
  }

  private async readRecord(model: string, version: number): Promise<DiskRecord | undefined> {
    const record = await readJson<DiskRecord>(join(this.versionDir(model, version), RECORD));
    return record?.model === model && record.version === version ? record : undefined;
  }

  private blobPath(sha256: string): string {
    assertSha256Hex(sha256, `blob in ${this.root}`);
    return join(this.root, BLOBS, sha256);
  }

  private modelDir(model: string): string {
    return join(this.root, encodeURIComponent(model));
  }

  private versionDir(model: string, version: number): string {
    return join(this.modelDir(model), String(version));
  }
}

/** A JSON file this store wrote, or undefined when it is absent or unreadable. */
async function readJson<T>(path: string): Promise<T | undefined> {
  try {
    // The files read here (records, pins) are written only by this store, from checked values.
    return JSON.parse(await readFile(path, 'utf8')) as T;
  } catch {
    return undefined;
  }
}
