// TF Serving's FileSystemStoragePathSource, for Node: numeric version directories under a base path.
import type { Dirent } from 'node:fs';
import { readdir, realpath, stat } from 'node:fs/promises';
import { join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ServingError, messageOf } from '../core/status.js';
import type { VersionFile } from '../storage/model-store.js';
import { fsError, statusCodeOfFsError } from '../repository/fs-errors.js';
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

/** A version directory's walk stops past this many files (or this depth): a model has a handful. */
export const MAX_VERSION_FILES = 10_000;
export const MAX_VERSION_DEPTH = 16;

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
 * A version directory that is a symbolic link to somewhere outside the base path is not followed; the
 * walk of a version directory is bounded (`MAX_VERSION_FILES`, `MAX_VERSION_DEPTH`); two directories
 * naming one version (`00001` and `1`) are reported, and the one that holds a model is used.
 */
export class FileSystemSource<T> extends StoreImportingSource<T, FileSystemSourceOptions<T>> {
  private readonly dir: string;
  /** The version directories of the last listing, by version. */
  private dirs = new Map<number, string>();
  private onDisk: number[] | undefined;
  /** Fingerprint of a version directory whose import failed: not retried until it changes. */
  private failed = new Map<number, { fingerprint: string; error: ServingError }>();
  /** Versions named by more than one directory, and what the listing said of them. */
  private ambiguous = new Map<number, ServingError>();

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

  protected override async beginRound(published: readonly number[]): Promise<ServingError | undefined> {
    this.onDisk = [...published];
    return this.ambiguous.values().next().value;
  }

  protected override async importVersion(version: number): Promise<ImportOutcome> {
    const dir = this.dirs.get(version);
    if (dir === undefined) throw this.ambiguous.get(version) ?? new ServingError('INTERNAL', `version ${version} of ${this.name} is not in the listing it was chosen from`);
    const fingerprint = JSON.stringify(await this.listFiles(dir).catch((e: unknown) => {
      throw fsError(e, `importing version ${version} of ${this.name} from ${dir}`);
    }));
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
        let loadedBytes = 0;
        for (const f of files) {
          await writer.writeFile(f.path, f.bytes);
          records.push(versionFileRecord(f));
          loadedBytes += f.bytes.length;
          this.options.onProgress?.({ model: this.name, version, file: f.path, loadedBytes, totalBytes });
        }
        await writer.commit(records);
      } catch (e) {
        await writer.abort().catch(() => undefined);
        throw e;
      }
      this.failed.delete(version);
      this.addStored(version);
      this.options.onCommit?.(version);
      return 'imported';
    } catch (e) {
      const err = ServingError.from(e, statusCodeOfFsError(e), `importing version ${version} of ${this.name} from ${dir}: `);
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
    const root = await realpath(this.dir).catch(() => this.dir);
    const candidates = new Map<number, string[]>();
    for (const e of entries.sort((a, b) => (a.name < b.name ? -1 : 1))) {
      if (!/^\d+$/.test(e.name)) continue;
      const v = Number(e.name);
      if (!Number.isSafeInteger(v)) continue;
      const path = join(this.dir, e.name);
      if (!e.isDirectory()) {
        if (!e.isSymbolicLink()) continue;
        // A linked version directory is followed only while it stays inside the base path.
        const target = await realpath(path).catch(() => undefined);
        const inside = target === undefined ? undefined : relative(root, target);
        if (inside === undefined || inside === '' || inside.startsWith('..') || inside.startsWith(sep)) continue;
        if (!(await stat(target ?? path).catch(() => undefined))?.isDirectory()) continue;
      }
      candidates.set(v, [...(candidates.get(v) ?? []), e.name]);
    }
    const found = new Map<number, string>();
    this.ambiguous = new Map();
    for (const [v, names] of candidates) {
      if (names.length === 1) {
        found.set(v, join(this.dir, names[0] ?? ''));
        continue;
      }
      // `00001` and `1` are one version (TF Serving parses both as 1): use the one that holds a model.
      const holding: string[] = [];
      for (const name of names) if (await holdsModel(join(this.dir, name))) holding.push(name);
      const chosen = holding.length === 1 ? holding[0] : undefined;
      const message =
        `directories ${names.join(' and ')} under ${this.dir} both name version ${v} of ${this.name}` +
        (chosen !== undefined ? `; ${chosen} holds the model and is used — remove the other` : holding.length > 1 ? '; both hold a model: remove one' : '; neither holds a model');
      this.ambiguous.set(v, new ServingError('FAILED_PRECONDITION', message));
      if (chosen !== undefined) found.set(v, join(this.dir, chosen));
    }
    return found;
  }

  /** The files of a version directory (not following links to directories), bounded in count and depth. */
  private async listFiles(dir: string): Promise<FileEntry[]> {
    const out: FileEntry[] = [];
    const walk = async (rel: string, depth: number) => {
      if (depth > MAX_VERSION_DEPTH) throw new ServingError('FAILED_PRECONDITION', `${dir} nests deeper than ${MAX_VERSION_DEPTH} directories; a model version does not`);
      for (const e of await readdir(join(dir, rel), { withFileTypes: true })) {
        const r = rel ? `${rel}/${e.name}` : e.name;
        if (out.length >= MAX_VERSION_FILES) throw new ServingError('FAILED_PRECONDITION', `${dir} holds more than ${MAX_VERSION_FILES} files; a model version holds a handful (is it the right directory?)`);
        if (e.isDirectory()) await walk(r, depth + 1);
        else {
          const s = await stat(join(dir, r));
          if (s.isFile()) out.push({ path: r, size: s.size, mtimeMs: s.mtimeMs });
        }
      }
    };
    await walk('', 0);
    return out.sort((a, b) => (a.path < b.path ? -1 : 1));
  }
}

/** True when a directory holds a TF.js graph model or a SavedModel. */
async function holdsModel(dir: string): Promise<boolean> {
  for (const name of ['model.json', 'saved_model.pb']) {
    if ((await stat(join(dir, name)).catch(() => undefined))?.isFile()) return true;
  }
  return false;
}
