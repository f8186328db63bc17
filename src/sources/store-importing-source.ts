import type { AspiredVersion } from '../core/aspired-versions-manager.js';
import type { Loader } from '../core/loader.js';
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
  /** Poll interval; 0 or less polls once. */
  pollIntervalMs?: number;
  /** Reports download (or import) progress in bytes. */
  onProgress?: (event: DownloadProgress) => void;
  /** Reports a poll that failed (listing the versions or importing one). */
  onError?: (error: ServingError) => void;
  /** Tells when a poll committed a version to the store. */
  onCommit?: (version: number) => void;
}

/** What importing one version did: committed it, or skipped it because it failed before and did not change. */
export type ImportOutcome = 'imported' | { readonly failedBefore: ServingError };

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
 * published versions. A version that fails to import is never loaded: it is aspired with its error
 * (TF Serving's ServableData), which the manager publishes; a round whose imports all failed keeps
 * what serves rather than aspiring nothing (unless nothing at all is published). Polls repeat every
 * `pollIntervalMs` (see `delayAfter` for back-off). `wantedVersions()` tells the server which stored
 * versions must be kept; the server deletes the others once the manager no longer holds them.
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

  /**
   * Brings one version the last listing published into the store and commits it (calling
   * `addStored`). What it throws is the version's error in status. It returns `{ failedBefore }` for
   * a version it did not try again (unchanged since it failed): reported for the round, not re-published.
   */
  protected abstract importVersion(version: number): Promise<ImportOutcome>;

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

  /**
   * Whether a listing with no versions means "unload the model" (TF Serving's file-system source) —
   * else it is refused as FAILED_PRECONDITION and what serves keeps serving (a manifest, unless it says
   * `"retired": true`).
   */
  protected emptyListingRetires(): boolean {
    return true;
  }

  /** What a refused empty listing reports. */
  protected emptyListingMessage(): string {
    return `the repository of ${this.name} lists no versions; what is AVAILABLE keeps serving`;
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
    if (this.config.aspireStoredAtStart) this.aspire(selectVersions(this.versionPolicy(), this.stored));
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

  /** Stored versions this source still wants kept: those it aspires, and those a poll round is importing. */
  wantedVersions(): ReadonlySet<number> {
    return new Set([...this.aspired, ...this.pending]);
  }

  /** The policy this source applies now: the configured one (sources that read a manifest may widen it). */
  protected versionPolicy(): ServableVersionPolicy {
    return this.options.versionPolicy;
  }

  /** Records that `version` is in the store. */
  protected addStored(version: number): void {
    this.stored = [...new Set([...this.stored, version])].sort((a, b) => a - b);
  }

  /** The versions to aspire among those stored (and published, once a listing was seen). */
  protected selectFromStore(): number[] {
    const listed = this.publishedVersions();
    const published = listed ? new Set(listed) : undefined;
    return selectVersions(this.versionPolicy(), this.stored.filter((v) => !published || published.has(v)));
  }

  /** Tells the manager the versions to load, with the versions whose import failed this round (as errors). */
  protected aspire(versions: number[], errors: ReadonlyMap<number, ServingError> = new Map()): void {
    this.aspired = versions;
    const loaders = versions.map((version): AspiredVersion<T> => ({ version, loader: this.options.loaderFactory(this.name, version) }));
    const failed = [...errors].filter(([v]) => !versions.includes(v)).map(([version, error]): AspiredVersion<T> => ({ version, error }));
    this.callback?.(this.name, [...loaders, ...failed]);
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
      // The server may have deleted versions nothing wanted since the last round.
      this.stored = await this.options.store.listVersions(this.name);
      const warning = await this.beginRound(published);
      error ??= warning;
      const wanted = selectVersions(this.versionPolicy(), published);
      this.pending = new Set(wanted);
      const importErrors = new Map<number, ServingError>();
      for (const v of wanted) {
        if (this.stored.includes(v) || this.stopped) continue;
        try {
          const outcome = await this.importVersion(v);
          if (outcome !== 'imported') error ??= outcome.failedBefore;
        } catch (e) {
          if (this.stopped) break;
          const failure = ServingError.from(e, 'UNKNOWN');
          importErrors.set(v, failure);
          error ??= failure;
        }
      }
      if (!this.stopped) {
        const next = this.selectFromStore();
        if (published.length === 0 && !this.emptyListingRetires()) {
          // A listing that drops every version is far more often a broken publish than an intent:
          // keep serving what is AVAILABLE, and say so.
          error ??= new ServingError('FAILED_PRECONDITION', this.emptyListingMessage());
        } else if (next.length > 0 || published.length === 0) {
          // A version that failed to import never replaces what serves: keep the current set rather
          // than aspiring nothing while versions are published.
          this.aspire(next, importErrors);
        } else if (importErrors.size > 0) {
          this.aspire(this.aspired, importErrors);
        }
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
