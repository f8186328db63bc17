// TF Serving's layout in a bucket, found by listing: numeric version prefixes (`s3://b/m/00000123/…`)
// holding a SavedModel or a TF.js graph model.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { ServingError, messageOf } from '../core/status.js';
import { MANIFEST_FILE } from '../repository/manifest.js';
import type { S3Connection } from '../repository/s3-client.js';
import { s3ErrorCode, s3ServingError } from '../repository/s3-errors.js';
import type { S3Location } from '../repository/s3-location.js';
import { s3Key, s3Url } from '../repository/s3-location.js';
import { readVersionDirectory, versionFileRecord } from '../repository/version-directory.js';
import type { VersionFile } from '../storage/model-store.js';
import { assertSafeRelativePath } from '../storage/model-store.js';
import { MAX_VERSION_FILES } from './file-system-source.js';
import type { ImportOutcome, StoreImportingSourceOptions } from './store-importing-source.js';
import { StoreImportingSource } from './store-importing-source.js';

export interface S3ListingSourceOptions<T> extends StoreImportingSourceOptions<T> {
  readonly connection: S3Connection;
  readonly location: S3Location;
  /** Poll interval; 0 or less polls once. Default 60000. */
  readonly pollIntervalMs?: number;
  /** Per-request timeout. Default 30000. */
  readonly requestTimeoutMs?: number;
  /** Called (once) when a listing finds `manifest.json` at the prefix: the model uses the manifest layout. */
  readonly onManifestFound?: () => void;
}

/** One object of a version, as listed. */
interface VersionObject {
  readonly key: string;
  /** Its path inside the version (`variables/variables.index`). */
  readonly path: string;
  readonly size: number;
  readonly etag: string;
}

interface ListedVersion {
  /** The version's key prefix segment (`00000123`). */
  readonly dir: string;
  readonly objects: readonly VersionObject[];
}

/** A listing stops past this many objects under the prefix: a model's versions hold a handful each. */
export const MAX_LISTED_OBJECTS = 100_000;

/**
 * TF Serving's file-system layout in a bucket. Each poll lists the objects under the prefix; numeric
 * first segments are versions. A version the policy wants is downloaded object by object into a
 * temporary directory, read by `readVersionDirectory` (SavedModels are converted), and committed to the
 * store — only when every object still has the ETag it was listed with and the version's listing did
 * not change meanwhile (an upload in progress is retried on the next poll, never served half). A
 * version that fails for another reason is not retried until its objects change. Versions in the store
 * are aspired at start with no network; a listing error keeps what serves, backing off like the
 * HttpSource. When `manifest.json` appears at the prefix the model uses the manifest layout instead
 * (`onManifestFound`).
 */
export class S3ListingSource<T> extends StoreImportingSource<T, S3ListingSourceOptions<T>> {
  private listing: Map<number, ListedVersion> | undefined;
  private failed = new Map<number, { fingerprint: string; error: ServingError }>();
  private readonly maxBackoffMs: number;
  private readonly controller = new AbortController();

  constructor(options: S3ListingSourceOptions<T>) {
    super(options, { pollIntervalMs: options.pollIntervalMs ?? 60_000, aspireStoredAtStart: true, useLastListingOnError: true });
    this.maxBackoffMs = Math.min(3_600_000, Math.max(this.pollIntervalMs, 1000) * 10);
  }

  private get url(): string {
    return s3Url(this.options.location);
  }

  protected override publishedVersions(): number[] | undefined {
    return this.listing && [...this.listing.keys()].sort((a, b) => a - b);
  }

  protected override onStop(): void {
    this.controller.abort(new ServingError('CANCELLED', `source for ${this.name} stopped`));
  }

  protected override emptyListingRetires(): boolean {
    return false;
  }

  protected override emptyListingMessage(): string {
    return `${this.url} holds no numeric version prefixes of ${this.name} (TF Serving's layout) and no ${MANIFEST_FILE}: taken for a broken upload, so what is AVAILABLE keeps serving`;
  }

  protected override delayAfter(failures: number): number {
    return failures === 0 ? this.pollIntervalMs : Math.min(this.maxBackoffMs, this.pollIntervalMs * 2 ** failures);
  }

  protected override async listPublished(): Promise<number[]> {
    const objects = await this.list(this.options.location.prefix ? `${this.options.location.prefix}/` : '');
    if (objects.length === 0) {
      throw new ServingError('NOT_FOUND', `Could not find base path ${this.url} for servable ${this.name}: no objects under it at ${this.options.connection.endpoint}`);
    }
    if (objects.some((o) => o.path === MANIFEST_FILE)) {
      // The manifest layout: this source stops here (no error, no aspiring) and the S3Source takes over.
      this.stopped = true;
      this.options.onManifestFound?.();
      return [];
    }
    this.listing = groupVersions(objects);
    return [...this.listing.keys()];
  }

  protected override async importVersion(version: number): Promise<ImportOutcome> {
    const listed = this.listing?.get(version);
    if (!listed) throw new ServingError('INTERNAL', `version ${version} of ${this.name} is not in the listing it was chosen from`);
    const where = s3Url(this.options.location, `${listed.dir}/`);
    const fingerprint = JSON.stringify(listed.objects);
    const previous = this.failed.get(version);
    if (previous && previous.fingerprint === fingerprint) return { failedBefore: previous.error }; // unchanged since it failed
    const tmp = await mkdtemp(join(tmpdir(), 'tfjs-serving-s3-'));
    try {
      await this.downloadTo(tmp, version, listed);
      const { files } = await readVersionDirectory(tmp, `${this.name} version ${version} (${where})`);
      const now = await this.list(s3Key(this.options.location, `${listed.dir}/`));
      if (JSON.stringify(groupVersions(now).get(version)?.objects ?? []) !== fingerprint) {
        throw new ServingError('UNAVAILABLE', `${where} changed while it was being imported (an upload in progress?); it is retried on the next poll`);
      }
      await this.commit(version, files);
      this.failed.delete(version);
      return 'imported';
    } catch (e) {
      const read = ServingError.from(e, 'UNKNOWN', `importing version ${version} of ${this.name} from ${where}: `);
      // Name the objects, not the temporary directory they were read from.
      const err = new ServingError(read.code, read.message.split(`${tmp}/`).join(where).split(tmp).join(where), { cause: e });
      // What the objects hold is not tried again until they change; access and network problems are.
      if (!RETRIED_CODES.has(err.code)) this.failed.set(version, { fingerprint, error: err });
      throw err;
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  }

  /** Downloads each listed object into `dir`, checking it still has the listed ETag. */
  private async downloadTo(dir: string, version: number, listed: ListedVersion): Promise<void> {
    const totalBytes = listed.objects.reduce((s, o) => s + o.size, 0);
    let loadedBytes = 0;
    this.options.onProgress?.({ model: this.name, version, loadedBytes, totalBytes });
    for (const object of listed.objects) {
      const bytes = await this.request(`GET s3://${this.options.location.bucket}/${object.key}`, async (abortSignal) => {
        const out = await this.options.connection.client.send(new GetObjectCommand({ Bucket: this.options.location.bucket, Key: object.key, IfMatch: object.etag }), { abortSignal });
        if (out.ETag !== undefined && out.ETag !== object.etag) {
          throw new ServingError('UNAVAILABLE', `s3://${this.options.location.bucket}/${object.key} changed after it was listed (an upload in progress?); it is retried on the next poll`);
        }
        return (await out.Body?.transformToByteArray()) ?? new Uint8Array();
      });
      const dest = join(dir, ...object.path.split('/'));
      await mkdir(dirname(dest), { recursive: true });
      await writeFile(dest, bytes);
      loadedBytes += bytes.length;
      this.options.onProgress?.({ model: this.name, version, loadedBytes, totalBytes });
    }
  }

  private async commit(version: number, files: readonly { path: string; bytes: Uint8Array }[]): Promise<void> {
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
    this.addStored(version);
    this.options.onCommit?.(version);
  }

  /** Every object under `prefix` (paths relative to the model's prefix), bounded. */
  private async list(prefix: string): Promise<VersionObject[]> {
    const { bucket } = this.options.location;
    const base = this.options.location.prefix ? `${this.options.location.prefix}/` : '';
    const out: VersionObject[] = [];
    let token: string | undefined;
    do {
      const page = await this.request(`listing s3://${bucket}/${prefix}`, (abortSignal) =>
        this.options.connection.client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }), { abortSignal }),
      );
      for (const o of page.Contents ?? []) {
        if (!o.Key || o.Key.endsWith('/')) continue; // "directory" markers
        out.push({ key: o.Key, path: o.Key.slice(base.length), size: o.Size ?? 0, etag: o.ETag ?? '' });
      }
      if (out.length > MAX_LISTED_OBJECTS) {
        throw new ServingError('FAILED_PRECONDITION', `s3://${bucket}/${prefix} holds more than ${MAX_LISTED_OBJECTS} objects; is the base path the model's prefix?`);
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return out.sort((a, b) => (a.key < b.key ? -1 : 1));
  }

  /** Runs one S3 request with the request timeout and the source's stop; errors become ServingErrors. */
  private async request<R>(what: string, send: (signal: AbortSignal) => Promise<R>): Promise<R> {
    const timeoutMs = this.options.requestTimeoutMs ?? 30_000;
    const signal = AbortSignal.any([this.controller.signal, AbortSignal.timeout(timeoutMs)]);
    try {
      return await send(signal);
    } catch (e) {
      if (this.controller.signal.aborted) throw this.controller.signal.reason;
      if (signal.aborted) throw new ServingError('DEADLINE_EXCEEDED', `${what}: no answer within ${timeoutMs} ms`);
      if (e instanceof ServingError) throw e;
      if (s3ErrorCode(e).code === 'NoSuchKey') {
        // A key the listing named that is gone now: an upload (or a delete) in progress.
        throw new ServingError('UNAVAILABLE', `${what}: the object is gone since it was listed (${messageOf(e)}); retried on the next poll`, { cause: e });
      }
      throw s3ServingError(e, { bucket: this.options.location.bucket, what, endpoint: this.options.connection.endpoint });
    }
  }
}

/** Failures that say nothing about a version's objects: tried again on the next poll even when they did not change. */
const RETRIED_CODES: ReadonlySet<string> = new Set(['UNAVAILABLE', 'CANCELLED', 'DEADLINE_EXCEEDED', 'UNAUTHENTICATED', 'PERMISSION_DENIED', 'RESOURCE_EXHAUSTED', 'INTERNAL']);

/** Groups listed objects by their numeric first segment (TF Serving's ParseVersionNumber: "00000123" is 123). */
function groupVersions(objects: readonly VersionObject[]): Map<number, ListedVersion> {
  const byDir = new Map<string, VersionObject[]>();
  for (const o of objects) {
    const slash = o.path.indexOf('/');
    if (slash <= 0) continue;
    const dir = o.path.slice(0, slash);
    if (!/^\d+$/.test(dir) || !Number.isSafeInteger(Number(dir))) continue;
    const path = o.path.slice(slash + 1);
    try {
      assertSafeRelativePath(path);
    } catch {
      continue; // a key no directory could hold (`1/../x`): not part of a version
    }
    const list = byDir.get(dir) ?? [];
    if (list.length < MAX_VERSION_FILES) list.push({ ...o, path });
    byDir.set(dir, list);
  }
  const versions = new Map<number, ListedVersion>();
  for (const [dir, list] of [...byDir].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const version = Number(dir);
    const other = versions.get(version);
    // `00001` and `1` name one version: the one that holds a model wins.
    if (other && holdsModel(other.objects) && !holdsModel(list)) continue;
    versions.set(version, { dir, objects: list });
  }
  return versions;
}

function holdsModel(objects: readonly VersionObject[]): boolean {
  return objects.some((o) => o.path === 'model.json' || o.path === 'saved_model.pb');
}
