import type { CanarySplit } from '../core/canary.js';
import type { Source } from '../core/source.js';

/** What a source has seen: for status pages and tests. */
export interface SourceState {
  readonly name: string;
  readonly basePath: string;
  /** Versions listed by the last manifest (or directory listing) seen this session; undefined before the first success. */
  readonly publishedVersions: readonly number[] | undefined;
  readonly storedVersions: readonly number[];
  readonly aspiredVersions: readonly number[];
  readonly lastPollTime: number | undefined;
  readonly lastError: { code: string; message: string } | undefined;
  readonly consecutiveFailures: number;
  readonly nextPollDelayMs: number | undefined;
  /** The canary split the last manifest read carries (manifest repositories only). */
  readonly canary?: CanarySplit;
}

/** Download (or import) progress of one version, in bytes. */
export interface DownloadProgress {
  readonly model: string;
  readonly version: number;
  /** `download` (default) while bytes come in; `verify` while a file's SHA-256 is checked. */
  readonly phase?: 'download' | 'verify';
  /** The file being fetched or checked. */
  readonly file?: string;
  /** Bytes done: fetched, plus files taken from the store without a download (counted as loaded at once). */
  readonly loadedBytes: number;
  readonly totalBytes: number;
  /** Of `loadedBytes`, those taken from the store (files another stored version shares), not fetched. */
  readonly reusedBytes?: number;
}

/**
 * A Source of one model that brings versions into the local store before aspiring them (the HTTP
 * source, and the file-system source in Node): it can be polled on demand, reports what it has seen,
 * and says which stored versions it still wants.
 */
export interface ModelSource<T> extends Source<T> {
  readonly name: string;
  pollNow(): Promise<void>;
  state(): SourceState;
  /** Stored versions this source still wants kept (aspired, or being imported); the server may delete the others. */
  wantedVersions(): ReadonlySet<number>;
  /** The canary split of the last manifest read (`state().canary`, without building the whole state: read per request). */
  canarySplit?(): CanarySplit | undefined;
}
