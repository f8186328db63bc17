// TF Serving's FileSystemStoragePathSource, for Node: numeric version directories under a base path.
import type { Dirent } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ServingError, messageOf } from '../core/status.js';
import type { VersionFile } from '../storage/model-store.js';
import { readVersionDirectory, versionFileRecord } from '../repository/version-directory.js';
import type { ImportOutcome, StoreImportingSourceOptions } from './store-importing-source.js';
import { StoreImportingSource } from './store-importing-source.js';

export interface FileSystemSourceOptions<T> extends StoreImportingSourceOptions<T> {
  /** A local directory (or file: URL) laid out like TF Serving's base_path: one numeric directory per version. */
  basePath: string;
  /** Poll interval (`--file_system_poll_wait_seconds`); 0 or less polls once. Default 1000. */
  pollIntervalMs?: number;
}

/** True where `basePath` names a local directory this realm can read: a path or file: URL, in Node. */
export function isLocalDirectoryBasePath(basePath: string): boolean {
  const isNode = typeof process !== 'undefined' && !!process.versions?.node && typeof window === 'undefined';
  if (!isNode) return false;
  if (/^file:/i.test(basePath)) return true;
  if (/^[a-zA-Z]:[\\/]/.test(basePath)) return true; // C:\models\m
  return !/^[a-zA-Z][a-zA-Z\d+.-]*:/.test(basePath);
}

interface FileEntry {
  path: string;
  size: number;
  mtimeMs: number;
}

/**
 * TF Serving's FileSystemStoragePathSource for a ModelServer: polls a local directory whose numeric
 * children are versions (`00000123` is 123) holding a TF.js graph model (model.json) or a SavedModel
 * (saved_model.pb, converted on the fly), imports each version the policy wants into the store with
 * the store's atomic commit, and only then aspires it. Unlike TF Serving, a half-written or broken
 * version directory is never aspired: it is imported only when it converts/validates and did not
 * change while being read, and its error shows in status (START with the code) until it is fixed.
 * Versions are read by the repository module (`readVersionDirectory`), exactly as `publish` reads them.
 */
export class FileSystemSource<T> extends StoreImportingSource<T, FileSystemSourceOptions<T>> {
  private readonly dir: string;
  /** The version directories of the last listing, by version. */
  private dirs = new Map<number, string>();
  private onDisk: number[] | undefined;
  /** Fingerprint of a version directory whose import failed: not retried until it changes. */
  private failed = new Map<number, { fingerprint: string; error: ServingError }>();

  constructor(options: FileSystemSourceOptions<T>) {
    super(options, { pollIntervalMs: options.pollIntervalMs ?? 1000 });
    this.dir = /^file:/i.test(options.basePath) ? fileURLToPath(options.basePath) : resolve(options.basePath);
  }

  protected override publishedVersions(): number[] | undefined {
    return this.onDisk ? [...this.onDisk] : undefined;
  }

  /** The poll interval while polling goes on (the file system is never backed off). */
  protected override nextPollDelayMs(): number | undefined {
    return this.stopped || this.pollIntervalMs <= 0 ? undefined : this.pollIntervalMs;
  }

  protected override async listPublished(): Promise<number[]> {
    this.dirs = await this.listVersionDirs();
    return [...this.dirs.keys()].sort((a, b) => a - b);
  }

  protected override async beginRound(published: readonly number[]): Promise<undefined> {
    this.onDisk = [...published];
    return undefined;
  }

  protected override async importVersion(version: number): Promise<ImportOutcome> {
    const dir = this.dirs.get(version);
    if (dir === undefined) throw new ServingError('INTERNAL', `version ${version} of ${this.name} is not in the listing it was chosen from`);
    const fingerprint = JSON.stringify(await this.listFiles(dir));
    const previous = this.failed.get(version);
    if (previous && previous.fingerprint === fingerprint) return { failedBefore: previous.error }; // unchanged since it failed
    try {
      const { files } = await readVersionDirectory(dir, `${this.name} version ${version}`);
      if (JSON.stringify(await this.listFiles(dir)) !== fingerprint) {
        throw new ServingError('UNAVAILABLE', `${dir} changed while it was being imported; it is retried on the next poll`);
      }
      const totalBytes = files.reduce((s, f) => s + f.bytes.length, 0);
      this.options.onProgress?.({ model: this.name, version, loadedBytes: 0, totalBytes });
      const writer = await this.options.store.beginVersion(this.name, version);
      const records: VersionFile[] = [];
      try {
        for (const f of files) {
          await writer.writeFile(f.path, f.bytes);
          records.push(versionFileRecord(f));
        }
        await writer.commit(records);
      } catch (e) {
        await writer.abort().catch(() => undefined);
        throw e;
      }
      this.options.onProgress?.({ model: this.name, version, loadedBytes: totalBytes, totalBytes });
      this.failed.delete(version);
      this.addStored(version);
      this.options.onCommit?.(version);
      return 'imported';
    } catch (e) {
      const err = ServingError.from(e, 'UNKNOWN', `importing version ${version} of ${this.name} from ${dir}: `);
      // Not retried while the directory stays as it is (a half-written one changes, and is retried).
      if (err.code !== 'UNAVAILABLE') this.failed.set(version, { fingerprint, error: err });
      throw err;
    }
  }

  /** Numeric children of the base path (TF Serving's ParseVersionNumber: "00000123" is 123). */
  private async listVersionDirs(): Promise<Map<number, string>> {
    let entries: Dirent[];
    try {
      entries = await readdir(this.dir, { withFileTypes: true });
    } catch (e) {
      const code = (e as NodeJS.ErrnoException | undefined)?.code; // what fs rejects with
      if (code === 'ENOENT' || code === 'ENOTDIR') {
        throw new ServingError('NOT_FOUND', `Could not find base path ${this.dir} for servable ${this.name}`);
      }
      throw new ServingError('UNAVAILABLE', `reading base path ${this.dir} for servable ${this.name}: ${messageOf(e)}`, { cause: e });
    }
    const found = new Map<number, string>();
    for (const e of entries.sort((a, b) => (a.name < b.name ? -1 : 1))) {
      if (!/^\d+$/.test(e.name)) continue;
      const v = Number(e.name);
      if (!Number.isSafeInteger(v) || found.has(v)) continue;
      if (!e.isDirectory() && !(e.isSymbolicLink() && (await stat(join(this.dir, e.name)).catch(() => undefined))?.isDirectory())) continue;
      found.set(v, join(this.dir, e.name));
    }
    return found;
  }

  private async listFiles(dir: string): Promise<FileEntry[]> {
    const out: FileEntry[] = [];
    const walk = async (rel: string) => {
      for (const e of await readdir(join(dir, rel), { withFileTypes: true })) {
        const r = rel ? `${rel}/${e.name}` : e.name;
        if (e.isDirectory()) await walk(r);
        else {
          const s = await stat(join(dir, r));
          if (s.isFile()) out.push({ path: r, size: s.size, mtimeMs: s.mtimeMs });
        }
      }
    };
    await walk('');
    return out.sort((a, b) => (a.path < b.path ? -1 : 1));
  }
}
