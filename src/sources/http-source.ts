import { ServingError, isQuotaError, messageOf } from '../core/status.js';
import { MAX_MANIFEST_BYTES, describeFetchError, downloadFile, readTextCapped } from './download.js';
import type { ManifestVersion, ModelManifest } from '../repository/manifest.js';
import { MANIFEST_FILE, parseManifest } from '../repository/manifest.js';
import { verifyManifest } from '../repository/manifest-signature.js';
import type { ImportOutcome, StoreImportingSourceOptions } from './store-importing-source.js';
import { StoreImportingSource } from './store-importing-source.js';
import type { VersionFile } from '../storage/model-store.js';
import type { StoreCoordinator } from './tab-coordinator.js';
import type { SourceState } from './model-source.js';
import type { CanarySplit } from '../core/canary.js';
import type { ServableVersionPolicy } from '../core/servable-version-policy.js';
import { withCanary } from '../core/servable-version-policy.js';

export interface HttpSourceOptions<T> extends StoreImportingSourceOptions<T> {
  /** URL of the model's directory in the repository (holds manifest.json and one directory per version). */
  basePath: string;
  /** Poll interval; 0 polls once. Default 60000. */
  pollIntervalMs?: number;
  /** Cap of the exponential back-off after errors. Default 10 × pollIntervalMs, at most 1 hour. */
  maxBackoffMs?: number;
  /** Per-request timeout. Default 30000. */
  requestTimeoutMs?: number;
  fetch?: typeof fetch;
  /** Shares downloads with other tabs of the origin (one downloads, the others load the commit). */
  coordinator?: StoreCoordinator;
  /**
   * Base64 raw Ed25519 public keys: when given, only manifests signed by one of them are accepted; an
   * unsigned or foreign-signed manifest is PERMISSION_DENIED and what serves keeps serving.
   */
  trustedPublicKeys?: readonly string[];
}

/**
 * A Source that polls a model's `manifest.json` on any static HTTP server (conditional GET with
 * ETag), downloads versions the version policy wants into the local store — verified by size and
 * SHA-256 and committed atomically — and only then aspires them. A file whose SHA-256 the store holds
 * already (a shard shared with a stored version of any model) is taken from the store, not fetched,
 * so a version that changes one layer downloads that layer only. Versions already in the store are
 * aspired at start with no network at all. A version that fails to download is never aspired; its
 * error is published in status and it is retried on the next poll, with exponential back-off.
 */
export class HttpSource<T> extends StoreImportingSource<T, HttpSourceOptions<T>> {
  private readonly fetchFn: typeof fetch;
  private readonly maxBackoffMs: number;
  private readonly requestTimeoutMs: number;
  private readonly manifestUrl: string;
  private readonly baseUrl: string;
  private manifest: ModelManifest | undefined;
  private etag: string | undefined;
  /**
   * Versions another tab or worker of the origin committed since this source last read the manifest:
   * published, though our (older) manifest does not list them yet. Without them a stale listing would
   * not aspire the version, and store cleanup would delete it under the other tab that loads it.
   */
  private committedElsewhere = new Set<number>();
  private readonly controller = new AbortController();
  private unsubscribe: (() => void) | undefined;

  constructor(options: HttpSourceOptions<T>) {
    super(options, { pollIntervalMs: options.pollIntervalMs ?? 60_000, aspireStoredAtStart: true, useLastListingOnError: true });
    this.fetchFn = options.fetch ?? ((input, init) => fetch(input, init));
    this.maxBackoffMs = options.maxBackoffMs ?? Math.min(3_600_000, Math.max(this.pollIntervalMs, 1000) * 10);
    this.requestTimeoutMs = options.requestTimeoutMs ?? 30_000;
    this.baseUrl = resolveBase(options.basePath);
    this.manifestUrl = new URL(MANIFEST_FILE, this.baseUrl).href;
  }

  canarySplit(): CanarySplit | undefined {
    return this.manifest?.canary;
  }

  /** The base state, with the canary split of the last manifest read. */
  override state(): SourceState {
    const state = super.state();
    const canary = this.canarySplit();
    return canary ? { ...state, canary } : state;
  }

  /**
   * The configured policy, widened to keep the last manifest's canary loaded when the model config
   * sets no canary of its own (a config canary, even at 0 %, wins and is already in the policy).
   */
  protected override versionPolicy(): ServableVersionPolicy {
    const configured = this.options.versionPolicy;
    const canary = this.canarySplit();
    return canary && !('withCanary' in configured) ? withCanary(configured, canary.version) : configured;
  }

  protected override publishedVersions(): number[] | undefined {
    const listed = this.manifest?.versions.map((v) => v.version);
    if (this.committedElsewhere.size === 0) return listed?.sort((a, b) => a - b);
    // A version another tab or worker committed was published in the manifest it read: newer than ours.
    return [...new Set([...(listed ?? []), ...this.committedElsewhere])].sort((a, b) => a - b);
  }

  protected override async onStart(): Promise<void> {
    this.unsubscribe = this.options.coordinator?.onCommit((model, version) => {
      if (model !== this.name) return;
      this.committedElsewhere.add(version);
      void this.rescanStore().catch((e) => this.options.onError?.(ServingError.from(e, 'INTERNAL')));
    });
  }

  protected override onStop(): void {
    this.unsubscribe?.();
    this.controller.abort(new ServingError('CANCELLED', `source for ${this.name} stopped`));
  }

  /** A manifest that lists no versions unloads the model only when it says `"retired": true`. */
  protected override emptyListingRetires(): boolean {
    return this.manifest?.retired === true;
  }

  protected override emptyListingMessage(): string {
    return (
      `${this.manifestUrl} lists no versions of ${this.name}: taken for a broken publish, so what is AVAILABLE keeps serving. ` +
      'To take the model down on purpose, publish the manifest with "retired": true (or remove the model from the config).'
    );
  }

  /** Exponential back-off after failed polls, capped at maxBackoffMs. */
  protected override delayAfter(failures: number): number {
    return failures === 0 ? this.pollIntervalMs : Math.min(this.maxBackoffMs, this.pollIntervalMs * 2 ** failures);
  }

  /**
   * Refreshes what the store holds (other tabs may have committed), and checks that each stored
   * version the manifest lists has the files the manifest lists: versions are immutable, so a version
   * republished with other bytes (or a basePath now pointing at another repository) is reported as
   * FAILED_PRECONDITION, and the stored copy keeps serving.
   */
  protected override async beginRound(): Promise<ServingError | undefined> {
    for (const entry of this.manifest?.versions ?? []) {
      if (!this.stored.includes(entry.version)) continue;
      const record = await this.options.store.getVersion(this.name, entry.version);
      const differs = record && describeDifference(record.files, entry.files);
      if (differs) {
        return new ServingError(
          'FAILED_PRECONDITION',
          `version ${entry.version} of ${this.name} in ${this.manifestUrl} differs from the stored version ${entry.version} (${differs}); ` +
            'versions are immutable: publish the change as a new version. The stored copy keeps serving.',
        );
      }
    }
    return undefined;
  }

  /** Another tab committed a version: aspire from the store what the policy wants, no download. */
  private async rescanStore(): Promise<void> {
    if (this.stopped) return;
    this.stored = await this.options.store.listVersions(this.name);
    if (this.polling) return; // the poll in progress aspires when it ends
    this.aspire(this.selectFromStore());
  }

  /** Fetches the manifest (or keeps it on 304 Not Modified) and lists its versions. */
  protected override async listPublished(): Promise<number[]> {
    const told = [...this.committedElsewhere];
    await this.fetchManifest();
    // A manifest read now says what is published: it supersedes what other tabs told before it was read.
    for (const v of told) this.committedElsewhere.delete(v);
    return this.manifest!.versions.map((v) => v.version);
  }

  protected override async importVersion(version: number): Promise<ImportOutcome> {
    const entry = this.manifest?.versions.find((x) => x.version === version);
    if (!entry) throw new ServingError('INTERNAL', `version ${version} of ${this.name} is not in the manifest it was listed from`);
    try {
      await this.download(entry);
    } catch (e) {
      throw ServingError.from(e, 'UNAVAILABLE', `downloading version ${version} of ${this.name}: `);
    }
    return 'imported';
  }

  private async fetchManifest(): Promise<void> {
    // A 304 is only an answer to our If-None-Match: without a manifest read before (a proxy or CDN
    // answering 304 to a first poll) it is asked again once without one, then is an error.
    for (let attempt = 0; ; attempt++) {
      const headers: Record<string, string> = {};
      if (this.etag && this.manifest) headers['If-None-Match'] = this.etag;
      else if (attempt > 0) headers['Cache-Control'] = 'no-cache';
      const { signal, done } = this.timeoutSignal();
      let response: Response;
      try {
        response = await this.fetchFn(this.manifestUrl, { headers, cache: 'no-store', signal });
      } catch (e) {
        done();
        // A fetch that says what failed with a ServingError (the S3 fetch: wrong credentials…) keeps its code.
        if (e instanceof ServingError && e !== signal.reason) throw e;
        throw new ServingError('UNAVAILABLE', `GET ${this.manifestUrl} failed: ${describeFetchError(e)}`, { cause: e });
      }
      try {
        if (response.status === 304) {
          await response.body?.cancel().catch(() => undefined);
          if (this.manifest) return;
          if (attempt === 0) continue;
          throw new ServingError('UNAVAILABLE', `GET ${this.manifestUrl} returned HTTP 304 Not Modified, but no manifest has been read yet (asked twice, without If-None-Match)`);
        }
        if (!response.ok) {
          throw new ServingError(response.status === 404 ? 'NOT_FOUND' : 'UNAVAILABLE', `GET ${this.manifestUrl} returned HTTP ${response.status} ${response.statusText}`.trim());
        }
        const text = await readTextCapped(response, MAX_MANIFEST_BYTES, `GET ${this.manifestUrl}`);
        const manifest = parseManifest(text, `GET ${this.manifestUrl}`);
        if (manifest.name !== this.name) {
          throw new ServingError('INVALID_ARGUMENT', `GET ${this.manifestUrl}: manifest is for model ${JSON.stringify(manifest.name)}, not ${JSON.stringify(this.name)}`);
        }
        const trusted = this.options.trustedPublicKeys ?? [];
        if (trusted.length > 0) await verifyManifest(manifest, trusted, `GET ${this.manifestUrl}`);
        this.manifest = manifest;
        this.etag = response.headers.get('ETag') ?? undefined;
        return;
      } finally {
        done();
      }
    }
  }

  private async download(entry: ManifestVersion): Promise<void> {
    const coordinator = this.options.coordinator;
    if (!coordinator) return this.downloadUnlocked(entry);
    await coordinator.withLock(`download:${this.name}:${entry.version}`, async () => {
      // Another tab may have committed it while we waited for the lock.
      if (await this.options.store.getVersion(this.name, entry.version)) {
        this.addStored(entry.version);
        return;
      }
      await this.downloadUnlocked(entry);
      coordinator.announceCommit(this.name, entry.version);
    });
  }

  private async downloadUnlocked(entry: ManifestVersion): Promise<void> {
    const { version } = entry;
    const totalBytes = entry.files.reduce((s, f) => s + f.size, 0);
    let loadedBytes = 0;
    let reusedBytes = 0;
    let current: string | undefined;
    const report = (phase: 'download' | 'verify' = 'download') =>
      this.options.onProgress?.({ model: this.name, version, phase, file: current, loadedBytes, totalBytes, reusedBytes });
    report();
    const writer = await this.options.store.beginVersion(this.name, version);
    try {
      for (const file of entry.files) {
        current = file.path;
        // A file whose bytes the store holds already (a shard another version shares) is not fetched.
        if (await writer.reuseFile?.(file)) {
          loadedBytes += file.size;
          reusedBytes += file.size;
          report();
          continue;
        }
        const url = new URL(`${version}/${file.path.split('/').map(encodeURIComponent).join('/')}`, this.baseUrl).href;
        const { signal, done } = this.timeoutSignal();
        try {
          const bytes = await downloadFile(
            this.fetchFn,
            url,
            file,
            signal,
            (n) => {
              loadedBytes += n;
              report();
            },
            () => report('verify'),
          );
          await writer.writeFile(file.path, bytes);
        } finally {
          done();
        }
      }
      await writer.commit(entry.files);
    } catch (e) {
      await writer.abort().catch(() => undefined);
      if (isQuotaError(e) || (e instanceof ServingError && e.code === 'RESOURCE_EXHAUSTED')) {
        throw new ServingError('RESOURCE_EXHAUSTED', `storing version ${version} of ${this.name} (${totalBytes} bytes) in the ${this.options.store.kind} store: ${messageOf(e)}`, { cause: e });
      }
      throw e;
    }
    this.addStored(version);
    this.options.onCommit?.(version);
  }

  private timeoutSignal(): { signal: AbortSignal; done: () => void } {
    const c = new AbortController();
    const onAbort = () => c.abort(this.controller.signal.reason);
    this.controller.signal.addEventListener('abort', onAbort);
    const t = setTimeout(() => c.abort(new ServingError('DEADLINE_EXCEEDED', `request timed out after ${this.requestTimeoutMs} ms`)), this.requestTimeoutMs);
    return {
      signal: c.signal,
      done: () => {
        clearTimeout(t);
        this.controller.signal.removeEventListener('abort', onAbort);
      },
    };
  }
}

function resolveBase(basePath: string): string {
  // A page's base (a <base> element counts); in a worker, the worker's own URL (the page-side client resolves first).
  const base = typeof document !== 'undefined' ? document.baseURI : typeof location !== 'undefined' ? location.href : undefined;
  let url: URL;
  try {
    url = new URL(basePath, base);
  } catch {
    throw new ServingError(
      'INVALID_ARGUMENT',
      `basePath ${JSON.stringify(basePath)} is not a URL (expected e.g. https://cdn.example.com/models/NAME)` +
        (typeof window === 'undefined' ? '; to serve a local directory in Node, import the server from "tfjs-serving/node" (or "tfjs-serving", which resolves to it in Node)' : ''),
    );
  }
  if (!url.pathname.endsWith('/')) url.pathname += '/';
  return url.href;
}

/** How two file lists of one version differ, or undefined when they are the same. */
function describeDifference(stored: readonly VersionFile[], published: readonly VersionFile[]): string | undefined {
  const byPath = new Map(stored.map((f) => [f.path, f]));
  for (const f of published) {
    const mine = byPath.get(f.path);
    if (!mine) return `${f.path} is new`;
    if (mine.sha256 !== f.sha256) return `${f.path}: sha256 ${mine.sha256.slice(0, 12)}… stored, ${f.sha256.slice(0, 12)}… published`;
  }
  if (stored.length !== published.length) return 'its file list changed';
  return undefined;
}
