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
  /** Stages `bytes` as the file at `path` (the store keeps them by their SHA-256, shared with any version that has them). */
  writeFile(path: string, bytes: Uint8Array): Promise<void>;
  /**
   * Makes `file` part of this version from a blob the store already holds (same SHA-256 and size, of
   * any model or version), without its bytes: true when it did, false when the caller must download
   * and `writeFile` it. The blob stays pinned until this writer commits or aborts. Stores that do not
   * share files by content omit it.
   */
  reuseFile?(file: VersionFile): Promise<boolean>;
  /**
   * Atomically publishes the version. Every file named in `files` must have been written (or reused),
   * with the bytes its `sha256` names: a mismatch is FAILED_PRECONDITION and commits nothing.
   */
  commit(files: readonly VersionFile[]): Promise<StoredVersion>;
  /** Throws away whatever was written. Safe to call after a failure, and more than once. */
  abort(): Promise<void>;
}

/**
 * Local storage for downloaded model versions: IndexedDB in browsers, a cache directory in Node.
 * A version is either committed (all its files present and verified) or invisible: there is no
 * half-stored state a reader can observe.
 *
 * The stores keep file contents by SHA-256 (content-addressed blobs), shared by every version of every
 * model in the store: a version is a commit record listing `path → sha256`, so a new version that
 * shares shards with a stored one stores (and, through `reuseFile`, downloads) only what changed. A
 * blob is deleted only when no committed version and no open writer refers to it.
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
  /** Deletes a committed version (its commit record first, so it vanishes at once), and the blobs nothing else refers to. */
  deleteVersion(model: string, version: number): Promise<void>;
  /** Removes staged files and blobs that no commit refers to (left by a crash or a closed tab). */
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

/** Validates a SHA-256 as the stores key blobs by it: 64 lower-case hex digits. */
export function assertSha256Hex(sha256: string, what: string): void {
  if (typeof sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(sha256)) {
    throw new ServingError('INVALID_ARGUMENT', `${what}: sha256 ${JSON.stringify(sha256)} is not a SHA-256 (expected 64 lower-case hex digits)`);
  }
}

/** What a writer staged under one path: the blob's hash and size. */
export interface StagedFile {
  readonly sha256: string;
  readonly size: number;
}

/**
 * Checks that every file a commit lists was written (or reused) with the bytes its sha256 names;
 * FAILED_PRECONDITION names the first file that was not.
 */
export function assertCommittable(model: string, version: number, files: readonly VersionFile[], staged: ReadonlyMap<string, StagedFile>): void {
  for (const f of files) {
    assertSafeRelativePath(f.path);
    const s = staged.get(f.path);
    if (!s) throw new ServingError('FAILED_PRECONDITION', `cannot commit ${model} version ${version}: ${f.path} was not written`);
    if (s.sha256 !== f.sha256 || s.size !== f.size) {
      throw new ServingError(
        'FAILED_PRECONDITION',
        `cannot commit ${model} version ${version}: ${f.path} was written with sha256 ${s.sha256} (${s.size} bytes), but the commit lists ${f.sha256} (${f.size} bytes)`,
      );
    }
  }
}
