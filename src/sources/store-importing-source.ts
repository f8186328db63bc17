import type { AspiredVersion } from '../core/aspired-versions-manager.js';
import type { Loader } from '../core/loader.js';
import type { ServableStateMonitor } from '../core/servable-state-monitor.js';
import type { ServableVersionPolicy } from '../core/servable-version-policy.js';
import { selectVersions } from '../core/servable-version-policy.js';
import type { AspiredVersionsCallback } from '../core/source.js';
import { ServingError } from '../core/status.js';
import type { ModelStore } from '../storage/model-store.js';
import type { DownloadProgress, ModelSource, SourceState } from './model-source.js';

/** The options every store-importing source takes. */
export interface StoreImportingSourceOptions<T> {
  /** The model (servable stream) name. */
  name: string;
  /** Where the model's versions are published (a URL, or a local directory). */
  basePath: string;
  versionPolicy: ServableVersionPolicy;
  store: ModelStore;
  /** Makes the Loader of one stored version. */
  loaderFactory: (name: string, version: number) => Loader<T>;
  /** Where failures to import a version are published (as START with an error), next to the manager's states. */
  monitor: ServableStateMonitor;
  /** Poll interval; 0 or less polls once. */
  pollIntervalMs?: number;
  /** Reports download (or import) progress in bytes. */
  onProgress?: (event: DownloadProgress) => void;
  /** Reports a poll that failed (listing the versions or importing one). */
  onError?: (error: ServingError) => void;
  /** Tells when a poll committed a version to the store. */
  onCommit?: (version: number) => void;
  /** True while the manager still holds `version` (so it must not be deleted yet). */
  isLoaded?: (version: number) => boolean;
}

/** How a subclass polls: fixed when it is constructed. */
export interface PollingConfig {
  /** The poll interval, its default applied; 0 or less polls once. */
  pollIntervalMs: number;
  /** Aspire the versions already stored when the source starts, before the first poll (offline start). */
  aspireStoredAtStart?: boolean;
  /** When listing the published versions fails, go on with the last listing (else skip the round). */
  useLastListingOnError?: boolean;
}

/**
 * The skeleton of a Source that brings versions into the local store before aspiring them. Each poll
 * round lists the versions the repository publishes, imports (and commits) each one the version
 * policy wants that is not stored yet, then aspires what the policy wants among the stored and
 * published versions. A version that fails to import is never aspired: a round whose imports all
 * failed keeps what serves rather than aspiring nothing (unless nothing at all is published). Polls
 * repeat every `pollIntervalMs` (see `delayAfter` for back-off), and stored versions that nothing
 * wants any more are deleted once the manager no longer holds them.
 *
 * Subclasses say how to list (`listPublished`) and how to import one version (`importVersion`).
 */
export abstract class StoreImportingSource<T, O extends StoreImportingSourceOptions<T> = StoreImportingSourceOptions<T>> implements ModelSource<T> {
  private callback: AspiredVersionsCallback<T> | undefined;
  protected readonly pollIntervalMs: number;
  /** Versions in the store, ascending. */
  protected stored: number[] = [];
  private aspired: number[] = [];
  /** Versions a poll round is about to aspire: never garbage-collected. */
  private pending = new Set<number>();
  private timer: ReturnType<typeof setTimeout> | undefined;
  protected stopped = false;
  /** The poll in progress, if any. */
  protected polling: Promise<void> | undefined;
  private lastPollTime: number | undefined;
  private lastError: ServingError | undefined;
  private failures = 0;
  private scheduledDelay: number | undefined;

  protected constructor(
    protected readonly options: O,
    private readonly config: PollingConfig,
  ) {
    this.pollIntervalMs = config.pollIntervalMs;
  }

  get name(): string {
    return this.options.name;
  }

  /** Lists the versions the repository publishes now; throws a ServingError when it cannot. */
  protected abstract listPublished(): Promise<readonly number[]>;

  /** Brings one version the last listing published into the store and commits it (calling `addStored`). */
  protected abstract importVersion(version: number): Promise<void>;

  /** The published versions that `state()` reports; undefined before the first listing. */
  protected abstract publishedVersions(): readonly number[] | undefined;

  /** Runs once when the source starts, before it lists the store. */
  protected async onStart(): Promise<void> {}

  /** Runs when the source stops, after its timer is cleared and before it waits for the poll in progress. */
  protected onStop(): void {}

  /**
   * Runs at the start of a round that imports from `published` (a listing, or the last one). An error
   * it returns is reported for the round (the round goes on).
   */
  protected async beginRound(_published: readonly number[]): Promise<ServingError | undefined> {
    return undefined;
  }

  /** The delay before the next poll after `failures` consecutive failed rounds. */
  protected delayAfter(_failures: number): number {
    return this.pollIntervalMs;
  }

  /** What `state()` reports as `nextPollDelayMs`: by default the delay last scheduled. */
  protected nextPollDelayMs(): number | undefined {
    return this.scheduledDelay;
  }

  setAspiredVersionsCallback(callback: AspiredVersionsCallback<T>): void {
    this.callback = callback;
  }

  state(): SourceState {
    return {
      name: this.name,
      basePath: this.options.basePath,
      publishedVersions: this.publishedVersions(),
      storedVersions: [...this.stored],
      aspiredVersions: [...this.aspired],
      lastPollTime: this.lastPollTime,
      lastError: this.lastError && { code: this.lastError.code, message: this.lastError.message },
      consecutiveFailures: this.failures,
      nextPollDelayMs: this.nextPollDelayMs(),
    };
  }

  async start(): Promise<void> {
    await this.onStart();
    this.stored = await this.options.store.listVersions(this.name);
    if (this.config.aspireStoredAtStart) this.aspire(selectVersions(this.options.versionPolicy, this.stored));
    await this.pollNow();
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
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.onStop();
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

  /** Records that `version` is in the store. */
  protected addStored(version: number): void {
    this.stored = [...new Set([...this.stored, version])].sort((a, b) => a - b);
  }

  /** Publishes a version that failed to import, as START with its error, next to the manager's states. */
  protected publishImportError(version: number, error: ServingError): void {
    this.options.monitor.publish({ id: { name: this.name, version }, managerState: 'START', health: error.toStatus() });
  }

  /** The versions to aspire among those stored (and published, once a listing was seen). */
  protected selectFromStore(): number[] {
    const listed = this.publishedVersions();
    const published = listed ? new Set(listed) : undefined;
    return selectVersions(this.options.versionPolicy, this.stored.filter((v) => !published || published.has(v)));
  }

  protected aspire(versions: number[]): void {
    this.aspired = versions;
    this.callback?.(
      this.name,
      versions.map((version): AspiredVersion<T> => ({ version, loader: this.options.loaderFactory(this.name, version) })),
    );
    void this.collectUnwanted().catch((e) => this.options.onError?.(ServingError.from(e, 'INTERNAL', 'deleting unwanted versions: ')));
  }

  private schedule(): void {
    if (this.stopped || this.pollIntervalMs <= 0) return;
    const delay = this.delayAfter(this.failures);
    this.scheduledDelay = delay;
    this.timer = setTimeout(() => void this.pollNow(), delay);
    // Never keep a Node process alive just to poll.
    (this.timer as { unref?: () => void }).unref?.();
  }

  private async poll(): Promise<void> {
    this.lastPollTime = Date.now();
    let error: ServingError | undefined;
    let published: readonly number[] | undefined;
    try {
      published = await this.listPublished();
    } catch (e) {
      error = ServingError.from(e, 'UNAVAILABLE');
      if (this.config.useLastListingOnError) published = this.publishedVersions();
    }
    if (published && !this.stopped) {
      const warning = await this.beginRound(published);
      error ??= warning;
      const wanted = selectVersions(this.options.versionPolicy, published);
      this.pending = new Set(wanted);
      for (const v of wanted) {
        if (this.stored.includes(v) || this.stopped) continue;
        try {
          await this.importVersion(v);
        } catch (e) {
          if (this.stopped) break;
          error ??= ServingError.from(e, 'UNKNOWN');
        }
      }
      if (!this.stopped) {
        const next = this.selectFromStore();
        // A version that failed to import never replaces what serves: keep the current set rather
        // than aspiring nothing while versions are published; none published at all unloads
        // everything, as in TF Serving.
        if (next.length > 0 || published.length === 0) this.aspire(next);
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
}
