import type { AspiredVersionPolicy, ServableAction } from './aspired-version-policy.js';
import { availabilityPreservingPolicy } from './availability-preserving-policy.js';
import { LoaderHarness } from './loader-harness.js';
import type { Loader } from './loader.js';
import { ResourceTracker } from './resource-tracker.js';
import type { ServableHandle } from './servable-handle.js';
import type { ServableId } from './servable-id.js';
import { isValidVersion, servableIdToString } from './servable-id.js';
import type { ServableRequest } from './servable-request.js';
import { describeRequest } from './servable-request.js';
import type { ManagerState } from './servable-state.js';
import { ServableStateMonitor } from './servable-state-monitor.js';
import type { Status } from './status.js';
import type { Clock } from './clock.js';
import { realClock } from './clock.js';
import { OK_STATUS, ServingError } from './status.js';

/**
 * One version a Source aspires (TF Serving's `ServableData<Loader>`): the Loader that loads it, or the
 * error that kept the source from making one (a failed download or import). The manager publishes an
 * error as the version's state (START with the error) and loads nothing for it.
 */
export type AspiredVersion<T> =
  | { readonly version: number; readonly loader: Loader<T>; readonly error?: undefined }
  | { readonly version: number; readonly error: ServingError; readonly loader?: undefined };

export interface AspiredVersionsManagerOptions {
  /** Decides load/unload order. Default: availability-preserving. */
  policy?: AspiredVersionPolicy;
  /** Where states are published. A new one by default. */
  monitor?: ServableStateMonitor;
  /** Memory budget. Unlimited by default. */
  resourceTracker?: ResourceTracker;
  /** Load retries after a failed load (TF Serving's max_num_load_retries). Default 5. */
  maxNumLoadRetries?: number;
  /** Wait between load retries (load_retry_interval_micros / 1000). Default 60000. */
  loadRetryIntervalMs?: number;
  /** Loads that may run at once across all streams (num_load_threads; 0 or 1 = serial). Default 1. */
  numLoadThreads?: number;
  /** Time for the retry waits; tests pass a fake. Default: the real one. */
  clock?: Clock;
}

interface Stream<T> {
  /** What the source last asked for. */
  desired: Map<number, Loader<T>>;
  harnesses: Map<number, LoaderHarness<T>>;
}

/**
 * TF Serving's AspiredVersionsManager: Sources tell it which versions of each stream they want
 * (`setAspiredVersions`); an AspiredVersionPolicy decides, one transition at a time, which version to
 * load or unload next; requests get ref-counted handles to AVAILABLE versions, and a version is
 * unloaded only after the last handle to it is released.
 */
export class AspiredVersionsManager<T> {
  readonly monitor: ServableStateMonitor;
  readonly resourceTracker: ResourceTracker;
  private readonly policy: AspiredVersionPolicy;
  private readonly maxNumLoadRetries: number;
  private readonly loadRetryIntervalMs: number;
  private readonly numLoadThreads: number;
  private readonly streamMap = new Map<string, Stream<T>>();
  private loadsRunning = 0;
  private readonly waitingForLoadSlot: Array<() => void> = [];
  private busy = 0;
  private manageScheduled = false;
  private idleWaiters: Array<() => void> = [];
  private readonly retryTimers = new Set<{ timer: unknown; wake: () => void }>();
  private readonly clock: Clock;
  private closed = false;

  constructor(options: AspiredVersionsManagerOptions = {}) {
    this.policy = options.policy ?? availabilityPreservingPolicy;
    this.monitor = options.monitor ?? new ServableStateMonitor();
    this.resourceTracker = options.resourceTracker ?? new ResourceTracker();
    this.maxNumLoadRetries = nonNegativeInt(options.maxNumLoadRetries ?? 5, 'maxNumLoadRetries');
    this.loadRetryIntervalMs = nonNegativeInt(options.loadRetryIntervalMs ?? 60_000, 'loadRetryIntervalMs');
    this.numLoadThreads = Math.max(1, nonNegativeInt(options.numLoadThreads ?? 1, 'numLoadThreads'));
    this.clock = options.clock ?? realClock;
  }

  get policyName(): string {
    return this.policy.name;
  }

  /**
   * Replaces the set of versions the manager should have loaded for `name`. Versions missing from
   * the list are unloaded (in the policy's order); an empty list unloads the whole stream. An entry
   * with an error is published as that version's state (START with the error) and never loaded.
   */
  setAspiredVersions(name: string, versions: readonly AspiredVersion<T>[]): void {
    if (this.closed && versions.some((v) => v.loader)) {
      throw new ServingError('FAILED_PRECONDITION', `the manager is closed; cannot aspire versions of ${name}`);
    }
    const desired = new Map<number, Loader<T>>();
    const errors: Array<{ version: number; error: ServingError }> = [];
    for (const v of versions) {
      if (!isValidVersion(v.version)) {
        throw new ServingError('INVALID_ARGUMENT', `aspired version of ${name} must be a non-negative integer, got ${String(v.version)}`);
      }
      if (v.loader) desired.set(v.version, v.loader);
      else errors.push({ version: v.version, error: v.error });
    }
    for (const { version, error } of errors) {
      // A version the manager already holds keeps its own state; the source's error is about a copy it could not make.
      if (desired.has(version) || this.streamMap.get(name)?.harnesses.has(version)) continue;
      this.monitor.publish({ id: { name, version }, managerState: 'START', health: error.toStatus() });
    }
    let stream = this.streamMap.get(name);
    if (!stream) {
      if (desired.size === 0) return;
      this.streamMap.set(name, (stream = { desired, harnesses: new Map() }));
    }
    stream.desired = desired;
    this.scheduleManage();
  }

  /** A handle to the requested version if it is AVAILABLE, else NOT_FOUND as TF Serving says it. */
  getServableHandle(request: ServableRequest): ServableHandle<T> {
    const stream = this.streamMap.get(request.name);
    let harness: LoaderHarness<T> | undefined;
    if (stream) {
      if (request.version === undefined) {
        for (const h of stream.harnesses.values()) {
          if (h.state === 'ready' && (!harness || h.id.version > harness.id.version)) harness = h;
        }
      } else {
        const h = stream.harnesses.get(request.version);
        if (h?.state === 'ready') harness = h;
      }
    }
    if (!harness) throw new ServingError('NOT_FOUND', `Servable not found for request: ${describeRequest(request)}`);
    return harness.acquire();
  }

  /** AVAILABLE versions of `name`, ascending. */
  availableVersions(name: string): number[] {
    const stream = this.streamMap.get(name);
    if (!stream) return [];
    return [...stream.harnesses.values()].filter((h) => h.state === 'ready').map((h) => h.id.version).sort((a, b) => a - b);
  }

  /** True while the manager holds `version` of `name` in memory (loading, ready or unloading). */
  isHeld(name: string, version: number): boolean {
    const state = this.streamMap.get(name)?.harnesses.get(version)?.state;
    return state === 'loading' || state === 'ready' || state === 'quiescing' || state === 'unloading';
  }

  /** Requests holding a handle to each loaded version of `name`. */
  activeRequests(name: string): Map<number, number> {
    const out = new Map<number, number>();
    for (const h of this.streamMap.get(name)?.harnesses.values() ?? []) out.set(h.id.version, h.activeRequests);
    return out;
  }

  /** Names of the streams the manager knows. */
  streams(): string[] {
    return [...this.streamMap.keys()];
  }

  /** Resolves when no load, unload or retry is in progress and the policy has nothing left to do. */
  whenIdle(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Unloads every version (waiting for in-flight requests) and refuses new aspired versions. */
  async close(): Promise<void> {
    this.closed = true;
    for (const t of this.retryTimers) {
      this.clock.clearTimeout(t.timer);
      t.wake();
    }
    for (const stream of this.streamMap.values()) stream.desired = new Map();
    this.scheduleManage();
    await this.whenIdle();
  }

  private isIdle(): boolean {
    return this.busy === 0 && !this.manageScheduled && this.nextActions().length === 0;
  }

  private scheduleManage(): void {
    if (this.manageScheduled) return;
    this.manageScheduled = true;
    queueMicrotask(() => {
      this.manageScheduled = false;
      this.manage();
    });
  }

  /** One round: reconcile harnesses with what is aspired, then run what the policy asks for. */
  private manage(): void {
    for (const [name, stream] of this.streamMap) {
      for (const [version, h] of stream.harnesses) {
        h.isAspired = stream.desired.has(version);
        const flushable = h.state === 'disabled' || (!h.isAspired && (h.state === 'new' || h.state === 'error'));
        if (flushable) stream.harnesses.delete(version);
      }
      for (const [version, loader] of stream.desired) {
        if (!stream.harnesses.has(version)) {
          const h = new LoaderHarness<T>({ name, version }, loader);
          stream.harnesses.set(version, h);
          this.publish(h, 'START');
        }
      }
      if (stream.desired.size === 0 && stream.harnesses.size === 0) this.streamMap.delete(name);
    }
    const actions = this.nextActions();
    // Unloads before loads, as TF Serving orders them.
    for (const a of actions) if (a.action === 'unload') void this.unload(this.harnessOf(a.id));
    for (const a of actions) if (a.action === 'load') void this.load(this.harnessOf(a.id));
    if (this.isIdle()) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
  }

  private nextActions(): ServableAction[] {
    const actions: ServableAction[] = [];
    for (const stream of this.streamMap.values()) {
      const snapshot = [...stream.harnesses.values()].map((h) => ({ id: h.id, state: h.state, isAspired: h.isAspired }));
      const action = this.policy.getNextAction(snapshot);
      if (action) actions.push(action);
    }
    return actions;
  }

  private harnessOf(id: ServableId): LoaderHarness<T> {
    const h = this.streamMap.get(id.name)?.harnesses.get(id.version);
    if (!h) throw new ServingError('INTERNAL', `policy chose ${servableIdToString(id)}, which the manager does not have`);
    return h;
  }

  private async load(h: LoaderHarness<T>): Promise<void> {
    h.loadRequested();
    this.busy++;
    this.publish(h, 'LOADING');
    try {
      try {
        this.resourceTracker.reserve(h.id, await h.loader.estimateResources());
      } catch (e) {
        this.fail(h, ServingError.from(e, 'RESOURCE_EXHAUSTED'));
        return;
      }
      for (;;) {
        await this.acquireLoadSlot();
        let error: ServingError | undefined;
        let servable: T | undefined;
        try {
          servable = await h.loader.load();
        } catch (e) {
          error = ServingError.from(e, 'UNKNOWN', `Loading ${servableIdToString(h.id)} failed: `);
        } finally {
          this.releaseLoadSlot();
        }
        if (!error) {
          h.loadSucceeded(servable as T); // load() resolved: its value is the servable, whatever T allows

          this.publish(h, 'AVAILABLE');
          return;
        }
        h.failedAttempts++;
        if (!h.isAspired || this.closed) {
          this.fail(h, new ServingError('CANCELLED', `Loading of ${servableIdToString(h.id)} cancelled: the version is no longer aspired (last error: ${error.message})`));
          return;
        }
        if (h.failedAttempts > this.maxNumLoadRetries) {
          this.fail(h, error);
          return;
        }
        await this.sleep(this.loadRetryIntervalMs);
        h.isAspired = this.streamMap.get(h.id.name)?.desired.has(h.id.version) ?? false;
        if (!h.isAspired || this.closed) {
          this.fail(h, new ServingError('CANCELLED', `Loading of ${servableIdToString(h.id)} cancelled after ${h.failedAttempts} attempt(s): the version is no longer aspired (last error: ${error.message})`));
          return;
        }
      }
    } finally {
      this.busy--;
      this.scheduleManage();
    }
  }

  private fail(h: LoaderHarness<T>, error: ServingError): void {
    this.resourceTracker.release(h.id);
    h.errored(error);
    this.publish(h, 'END', error.toStatus());
  }

  private async unload(h: LoaderHarness<T>): Promise<void> {
    h.startQuiescing();
    this.busy++;
    this.publish(h, 'UNLOADING');
    try {
      await h.waitUntilDrained();
      h.doneQuiescing();
      let health: Status = OK_STATUS;
      try {
        await h.loader.unload();
      } catch (e) {
        health = ServingError.from(e, 'INTERNAL', `Unloading ${servableIdToString(h.id)} failed: `).toStatus();
      }
      this.resourceTracker.release(h.id);
      h.unloaded();
      this.publish(h, 'END', health);
    } finally {
      this.busy--;
      this.scheduleManage();
    }
  }

  private publish(h: LoaderHarness<T>, managerState: ManagerState, health: Status = OK_STATUS): void {
    this.monitor.publish({ id: h.id, managerState, health });
  }

  private acquireLoadSlot(): Promise<void> {
    if (this.loadsRunning < this.numLoadThreads) {
      this.loadsRunning++;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.waitingForLoadSlot.push(resolve));
  }

  private releaseLoadSlot(): void {
    const next = this.waitingForLoadSlot.shift();
    if (next) next();
    else this.loadsRunning--;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const entry = {
        timer: this.clock.setTimeout(() => {
          this.retryTimers.delete(entry);
          resolve();
        }, ms),
        wake: () => {
          this.retryTimers.delete(entry);
          resolve();
        },
      };
      this.retryTimers.add(entry);
    });
  }
}

function nonNegativeInt(value: number, name: string): number {
  if (!Number.isInteger(value) || value < 0) {
    throw new ServingError('INVALID_ARGUMENT', `${name} must be a non-negative integer, got ${String(value)}`);
  }
  return value;
}
