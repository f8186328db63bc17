import { ServingError } from '../core/status.js';

/** One file of a model version as listed in the repository manifest and kept in the store. */
export interface VersionFile {
  /** Path relative to the version directory, '/'-separated, e.g. `model.json`, `group1-shard1of1.bin`. */
  readonly path: string;
  /** Exact size in bytes. */
  readonly size: number;
  /** Lower-case hex SHA-256 of the file's bytes. */
  readonly sha256: string;
}

/** The record that makes a stored version visible. It is written last, atomically, by `commit`. */
export interface StoredVersion {
  readonly model: string;
  readonly version: number;
  readonly files: readonly VersionFile[];
  /** ISO time of the commit. */
  readonly committedAt: string;
}

/** Writes one version's files where nobody can see them, until `commit` makes them visible at once. */
export interface VersionWriter {
  writeFile(path: string, bytes: Uint8Array): Promise<void>;
  /** Atomically publishes the version. Every file named in `files` must have been written. */
  commit(files: readonly VersionFile[]): Promise<StoredVersion>;
  /** Throws away whatever was written. Safe to call after a failure, and more than once. */
  abort(): Promise<void>;
}

/**
 * Local storage for downloaded model versions: IndexedDB in browsers, a cache directory in Node.
 * A version is either committed (all its files present and verified) or invisible: there is no
 * half-stored state a reader can observe.
 */
export interface ModelStore {
  /** A short name for logs and status ("indexeddb", "filesystem", "memory"). */
  readonly kind: string;
  /** Committed versions of `model`, ascending. */
  listVersions(model: string): Promise<number[]>;
  /** The commit record of a version, or undefined when it is not committed. */
  getVersion(model: string, version: number): Promise<StoredVersion | undefined>;
  /** Bytes of one file of a committed version, the caller's to keep (a fresh array). Throws NOT_FOUND when absent. */
  readFile(model: string, version: number, path: string): Promise<Uint8Array>;
  /** Starts writing `version`; nothing becomes visible before `commit`. */
  beginVersion(model: string, version: number): Promise<VersionWriter>;
  /** Deletes a committed version (its commit record first, so it vanishes at once). */
  deleteVersion(model: string, version: number): Promise<void>;
  /** Removes staged files that no commit refers to (left by a crash or a closed tab). */
  collectGarbage?(): Promise<void>;
  close?(): Promise<void>;
}

/** Validates a relative file path from a manifest: no absolute paths, no `..`, no backslashes. */
export function assertSafeRelativePath(path: string): void {
  if (
    typeof path !== 'string' ||
    path.length === 0 ||
    path.startsWith('/') ||
    path.includes('\\') ||
    path.includes('\0') ||
    path.split('/').some((part) => part === '' || part === '.' || part === '..')
  ) {
    throw new ServingError(
      'INVALID_ARGUMENT',
      `file path ${JSON.stringify(path)} is not a safe relative path (expected a/b.bin: no leading '/', no '..', no '\\')`,
    );
  }
}
