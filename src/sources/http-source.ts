import type { AspiredVersion } from '../core/aspired-versions-manager.js';
import type { Loader } from '../core/loader.js';
import type { ServableStateMonitor } from '../core/servable-state-monitor.js';
import type { ServableVersionPolicy } from '../core/servable-version-policy.js';
import { selectVersions } from '../core/servable-version-policy.js';
import type { AspiredVersionsCallback } from '../core/source.js';
import type { DownloadProgress, ModelSource, SourceState } from './model-source.js';
import { ServingError, isQuotaError, messageOf } from '../core/status.js';
import type { ModelStore } from '../storage/model-store.js';
import { describeFetchError, downloadFile } from './download.js';
import type { ManifestVersion, ModelManifest } from './manifest.js';
import { MANIFEST_FILE, parseManifest } from './manifest.js';
import type { StoreCoordinator } from './tab-coordinator.js';

export interface HttpSourceOptions<T> {
  /** The model (servable stream) name. */
  name: string;
  /** URL of the model's directory in the repository (holds manifest.json and one directory per version). */
  basePath: string;
  versionPolicy: ServableVersionPolicy;
  store: ModelStore;
  /** Makes the Loader of one stored version. */
  loaderFactory: (name: string, version: number) => Loader<T>;
  /** Where download failures are published (as START with an error), next to the manager's states. */
  monitor: ServableStateMonitor;
  /** Poll interval; 0 polls once. Default 60000. */
  pollIntervalMs?: number;
  /** Cap of the exponential back-off after errors. Default 10 × pollIntervalMs, at most 1 hour. */
  maxBackoffMs?: number;
  /** Per-request timeout. Default 30000. */
  requestTimeoutMs?: number;
  fetch?: typeof fetch;
  /** Reports download progress in bytes. */
  onProgress?: (event: DownloadProgress) => void;
  /** Reports a poll that failed (manifest or download). */
  onError?: (error: ServingError) => void;
  /** Tells when a poll found something new and when it committed a version. */
  onCommit?: (version: number) => void;
  /** True while the manager still holds `version` (so it must not be deleted yet). */
  isLoaded?: (version: number) => boolean;
  /** Shares downloads with other tabs of the origin (one downloads, the others load the commit). */
  coordinator?: StoreCoordinator;
}

/**
 * A Source that polls a model's `manifest.json` on any static HTTP server (conditional GET with
 * ETag), downloads versions the version policy wants into the local store — verified by size and
 * SHA-256 and committed atomically — and only then aspires them. Versions already in the store are
 * aspired at start with no network at all. A version that fails to download is never aspired; its
 * error is published in status and it is retried on the next poll, with exponential back-off.
 */
export class HttpSource<T> implements ModelSource<T> {
  private callback: AspiredVersionsCallback<T> | undefined;
  private readonly fetchFn: typeof fetch;
  private readonly pollIntervalMs: number;
  private readonly maxBackoffMs: number;
  private readonly requestTimeoutMs: number;
  private readonly manifestUrl: string;
  private readonly baseUrl: string;
  private manifest: ModelManifest | undefined;
  private etag: string | undefined;
  private stored: number[] = [];
  private aspired: number[] = [];
  /** Versions a poll round is about to aspire: never garbage-collected. */
  private pending = new Set<number>();
  private timer: ReturnType<typeof setTimeout> | undefined;
  private readonly controller = new AbortController();
  private stopped = false;
  private polling: Promise<void> | undefined;
  private lastPollTime: number | undefined;
  private lastError: ServingError | undefined;
  private failures = 0;
  private nextDelay: number | undefined;
  private unsubscribe: (() => void) | undefined;

  constructor(private readonly options: HttpSourceOptions<T>) {
    this.fetchFn = options.fetch ?? ((input, init) => fetch(input, init));
    this.pollIntervalMs = options.pollIntervalMs ?? 60_000;
    this.maxBackoffMs = options.maxBackoffMs ?? Math.min(3_600_000, Math.max(this.pollIntervalMs, 1000) * 10);
    this.requestTimeoutMs = options.requestTimeoutMs ?? 30_000;
    this.baseUrl = resolveBase(options.basePath);
    this.manifestUrl = new URL(MANIFEST_FILE, this.baseUrl).href;
  }

  get name(): string {
    return this.options.name;
  }

  setAspiredVersionsCallback(callback: AspiredVersionsCallback<T>): void {
    this.callback = callback;
  }

  state(): SourceState {
    return {
      name: this.name,
      basePath: this.options.basePath,
      publishedVersions: this.manifest?.versions.map((v) => v.version).sort((a, b) => a - b),
      storedVersions: [...this.stored],
      aspiredVersions: [...this.aspired],
      lastPollTime: this.lastPollTime,
      lastError: this.lastError && { code: this.lastError.code, message: this.lastError.message },
      consecutiveFailures: this.failures,
      nextPollDelayMs: this.nextDelay,
    };
  }

  async start(): Promise<void> {
    this.unsubscribe = this.options.coordinator?.onCommit((model) => {
      if (model === this.name) void this.rescanStore().catch((e) => this.options.onError?.(ServingError.from(e, 'INTERNAL')));
    });
    this.stored = await this.options.store.listVersions(this.name);
    this.aspire(selectVersions(this.options.versionPolicy, this.stored));
    await this.pollNow();
  }

  /** Another tab committed a version: aspire from the store what the policy wants, no download. */
  private async rescanStore(): Promise<void> {
    if (this.stopped) return;
    this.stored = await this.options.store.listVersions(this.name);
    if (this.polling) return; // the poll in progress aspires when it ends
    this.aspire(this.selectFromStore());
  }

  /** The versions to aspire among those stored (and published, once a manifest was seen). */
  private selectFromStore(): number[] {
    const published = this.manifest ? new Set(this.manifest.versions.map((v) => v.version)) : undefined;
    return selectVersions(this.options.versionPolicy, this.stored.filter((v) => !published || published.has(v)));
  }

  /** Polls at once (and re-arms the timer). Concurrent calls share one poll. */
  pollNow(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    if (!this.polling) {
      if (this.timer !== undefined) clearTimeout(this.timer);
      this.timer = undefined;
      this.polling = this.poll().finally(() => {
        this.polling = undefined;
        this.schedule();
      });
    }
    return this.polling;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.unsubscribe?.();
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.controller.abort(new ServingError('CANCELLED', `source for ${this.name} stopped`));
    await this.polling?.catch(() => undefined);
  }

  /** Deletes stored versions that nothing wants any more and the manager no longer holds. */
  async collectUnwanted(): Promise<void> {
    const keep = new Set([...this.aspired, ...this.pending]);
    for (const v of [...this.stored]) {
      if (keep.has(v) || this.options.isLoaded?.(v)) continue;
      await this.options.store.deleteVersion(this.name, v);
      this.stored = this.stored.filter((x) => x !== v);
    }
  }

  private schedule(): void {
    if (this.stopped || this.pollIntervalMs <= 0) return;
    const delay = this.failures === 0 ? this.pollIntervalMs : Math.min(this.maxBackoffMs, this.pollIntervalMs * 2 ** this.failures);
    this.nextDelay = delay;
    this.timer = setTimeout(() => void this.pollNow(), delay);
    // Never keep a Node process alive just to poll.
    (this.timer as { unref?: () => void }).unref?.();
  }

  private async poll(): Promise<void> {
    this.lastPollTime = Date.now();
    let error: ServingError | undefined;
    try {
      await this.fetchManifest();
    } catch (e) {
      error = ServingError.from(e, 'UNAVAILABLE');
    }
    if (this.manifest && !this.stopped) {
      this.stored = await this.options.store.listVersions(this.name); // other tabs may have committed
      const wanted = selectVersions(this.options.versionPolicy, this.manifest.versions.map((v) => v.version));
      this.pending = new Set(wanted);
      for (const v of wanted) {
        if (this.stored.includes(v) || this.stopped) continue;
        const entry = this.manifest.versions.find((x) => x.version === v)!;
        try {
          await this.download(entry);
        } catch (e) {
          const err = ServingError.from(e, 'UNAVAILABLE', `downloading version ${v} of ${this.name}: `);
          if (this.stopped) break;
          error ??= err;
          this.options.monitor.publish({ id: { name: this.name, version: v }, managerState: 'START', health: err.toStatus() });
        }
      }
      if (!this.stopped) {
        const next = this.selectFromStore();
        // A version that failed to download never replaces what serves: keep the current set
        // rather than aspiring nothing while the manifest does list versions.
        if (next.length > 0 || this.manifest.versions.length === 0) this.aspire(next);
      }
      this.pending = new Set();
    }
    this.lastError = error;
    if (error && !this.stopped) {
      this.failures++;
      this.options.onError?.(error);
    } else {
      this.failures = 0;
    }
  }

  private async fetchManifest(): Promise<void> {
    const headers: Record<string, string> = {};
    if (this.etag && this.manifest) headers['If-None-Match'] = this.etag;
    const { signal, done } = this.timeoutSignal();
    let response: Response;
    try {
      response = await this.fetchFn(this.manifestUrl, { headers, cache: 'no-store', signal });
    } catch (e) {
      done();
      throw new ServingError('UNAVAILABLE', `GET ${this.manifestUrl} failed: ${describeFetchError(e)}`, { cause: e });
    }
    try {
      if (response.status === 304) return;
      if (!response.ok) {
        throw new ServingError(response.status === 404 ? 'NOT_FOUND' : 'UNAVAILABLE', `GET ${this.manifestUrl} returned HTTP ${response.status} ${response.statusText}`.trim());
      }
      let text: string;
      try {
        text = await response.text();
      } catch (e) {
        throw new ServingError('UNAVAILABLE', `GET ${this.manifestUrl}: reading the body failed: ${describeFetchError(e)}`, { cause: e });
      }
      const manifest = parseManifest(text, `GET ${this.manifestUrl}`);
      if (manifest.name !== this.name) {
        throw new ServingError('INVALID_ARGUMENT', `GET ${this.manifestUrl}: manifest is for model ${JSON.stringify(manifest.name)}, not ${JSON.stringify(this.name)}`);
      }
      this.manifest = manifest;
      this.etag = response.headers.get('ETag') ?? undefined;
    } finally {
      done();
    }
  }

  private async download(entry: ManifestVersion): Promise<void> {
    const coordinator = this.options.coordinator;
    if (!coordinator) return this.downloadUnlocked(entry);
    await coordinator.withLock(`download:${this.name}:${entry.version}`, async () => {
      // Another tab may have committed it while we waited for the lock.
      if (await this.options.store.getVersion(this.name, entry.version)) {
        this.stored = [...new Set([...this.stored, entry.version])].sort((a, b) => a - b);
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
    const report = () => this.options.onProgress?.({ model: this.name, version, loadedBytes, totalBytes });
    report();
    const writer = await this.options.store.beginVersion(this.name, version);
    try {
      for (const file of entry.files) {
        const url = new URL(`${version}/${file.path.split('/').map(encodeURIComponent).join('/')}`, this.baseUrl).href;
        const { signal, done } = this.timeoutSignal();
        try {
          const bytes = await downloadFile(this.fetchFn, url, file, signal, (n) => {
            loadedBytes += n;
            report();
          });
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
    this.stored = [...new Set([...this.stored, version])].sort((a, b) => a - b);
    this.options.onCommit?.(version);
  }

  private aspire(versions: number[]): void {
    this.aspired = versions;
    this.callback?.(
      this.name,
      versions.map((version): AspiredVersion<T> => ({ version, loader: this.options.loaderFactory(this.name, version) })),
    );
    void this.collectUnwanted().catch((e) => this.options.onError?.(ServingError.from(e, 'INTERNAL', 'deleting unwanted versions: ')));
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
  const base = typeof location !== 'undefined' ? location.href : undefined;
  let url: URL;
  try {
    url = new URL(basePath, base);
  } catch {
    throw new ServingError('INVALID_ARGUMENT', `basePath ${JSON.stringify(basePath)} is not a URL (expected e.g. https://cdn.example.com/models/NAME)`);
  }
  if (!url.pathname.endsWith('/')) url.pathname += '/';
  return url.href;
}
