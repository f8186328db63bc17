// On-demand loading (`modelLoading: 'on-demand'`): a policy above TF Serving's manager that aspires a
// model only when a request asks for it, and unaspires the least recently used one when another must fit
// the memory budget. The manager keeps TF Serving's semantics: ref-counted handles, unload after the last
// in-flight request, its own ResourceTracker as the hard limit.
import type { AspiredVersion, AspiredVersionsManager } from '../core/aspired-versions-manager.js';
import type { Loader } from '../core/loader.js';
import type { ServableHandle } from '../core/servable-handle.js';
import type { ServableRequest } from '../core/servable-request.js';
import type { ServableState } from '../core/servable-state.js';
import { ServingError } from '../core/status.js';
import type { OnDemandMetricsSink } from '../metrics/serving-metrics.js';
import type { RequestContext } from '../runtime/servable.js';
import { atDeadline, requestEnded } from '../runtime/servable.js';

export interface OnDemandLoaderOptions<T> {
  readonly manager: AspiredVersionsManager<T>;
  /** The budget the resident models must fit (totalModelMemoryLimitBytes); Infinity loads lazily and never evicts. */
  readonly budgetBytes: number;
  /** A fresh loader of a stored version (a Loader serves one load; a model loaded again gets new ones). */
  readonly makeLoader: (model: string, version: number) => Loader<T>;
  readonly metrics: OnDemandMetricsSink;
}

/** A model the manager has been told to load: admitted (its bytes counted), then evicted. */
interface Resident {
  /** Each version's estimate; a version counts while aspired for the model or held by the manager. */
  readonly estimates: Map<number, number>;
  /** Resolves when every aspired version settled (AVAILABLE or failed); never rejects. */
  settled: Promise<void>;
  evicting: boolean;
}

/**
 * Keeps the LRU order of the models (touched by each request), admits a model when a request asks for
 * one that is not loaded — evicting the least recently used resident models that are not pinned until
 * its estimate fits — and holds the request until its version is AVAILABLE, bounded by the request's
 * deadline. A request waiting for a model pins it: no other admission evicts it before the request has
 * its handle, and the handle then keeps it loaded until the request finishes. Concurrent first requests
 * for one model share one admission. Sources keep polling and downloading every model; only loading is lazy.
 */
export class OnDemandLoader<T> {
  /** The versions each model's source aspires now (the manager sees them only while the model is resident). */
  private readonly aspired = new Map<string, readonly AspiredVersion<T>[]>();
  private readonly residents = new Map<string, Resident>();
  /** Admissions in progress, one per model (concurrent first requests share it). */
  private readonly admitting = new Map<string, Promise<Resident>>();
  /** Least recently used first: deleted and set again on each touch. */
  private readonly recency = new Map<string, true>();
  /** Requests waiting for each model. */
  private readonly pins = new Map<string, number>();
  /** Admissions run one at a time, so that two never count the same free bytes. */
  private admission: Promise<unknown> = Promise.resolve();
  /** Woken when a pin drops or a load settles (an admission waiting for something it can evict). */
  private wake: (() => void) | undefined;
  private closed = false;

  constructor(private readonly options: OnDemandLoaderOptions<T>) {}

  /** What the model's source aspires now; passed on to the manager only while the model is resident. */
  setAspiredVersions(model: string, versions: readonly AspiredVersion<T>[]): void {
    const { manager } = this.options;
    this.aspired.set(model, versions);
    if (!this.recency.has(model)) this.recency.set(model, true);
    const resident = this.residents.get(model);
    if (!resident || resident.evicting) {
      manager.setAspiredVersions(model, versions.filter((v) => v.error !== undefined));
      return;
    }
    const added = versions.filter((v) => v.loader !== undefined && !resident.estimates.has(v.version));
    if (added.length === 0) {
      manager.setAspiredVersions(model, versions);
      return;
    }
    // A new version of a loaded model: count it and evict what may go to make room (without waiting for
    // pinned ones), then let the manager swap; its ResourceTracker still refuses what does not fit.
    const run = this.admission.then(async () => {
      for (const v of added) if (v.loader) resident.estimates.set(v.version, (await v.loader.estimateResources()).ramBytes);
      await this.makeRoom(model, 0, false);
    });
    this.admission = run.catch(() => undefined);
    void run
      .catch(() => undefined)
      .then(() => {
        if (this.closed || this.residents.get(model) !== resident || resident.evicting || this.aspired.get(model) !== versions) return;
        manager.setAspiredVersions(model, versions);
      });
  }

  /** The model left the config: forget it (the manager was told to unload it). */
  forget(model: string): void {
    this.aspired.delete(model);
    this.residents.delete(model);
    this.recency.delete(model);
  }

  /** The server is closing: admissions stop, and requests still waiting for one fail with FAILED_PRECONDITION. */
  close(): void {
    this.closed = true;
    this.wakeUp();
  }

  /** Bytes the resident models are estimated to hold (those being evicted count until unloaded). */
  get residentBytes(): number {
    let sum = 0;
    for (const [model, r] of this.residents) {
      const aspired = new Set(r.evicting ? [] : (this.aspired.get(model) ?? []).filter((v) => v.loader !== undefined).map((v) => v.version));
      for (const [version, bytes] of r.estimates) if (aspired.has(version) || this.options.manager.isHeld(model, version)) sum += bytes;
    }
    return sum;
  }

  /** Resident models, least recently used first. */
  residentModels(): string[] {
    return [...this.recency.keys()].filter((m) => this.residents.has(m));
  }

  /**
   * A handle to the version `request` picks: at once when it is AVAILABLE (a hit), else after the
   * model is admitted and loaded (a miss). DEADLINE_EXCEEDED or CANCELLED when the request ends first
   * (the load goes on); NOT_FOUND when the source aspires no such version; RESOURCE_EXHAUSTED when the
   * model alone is bigger than the budget; the load's own error when it failed. `record` counts the
   * request in the hit/miss metrics (predict does; metadata lookups do not).
   */
  async handle(request: ServableRequest, context: RequestContext | undefined, record: boolean): Promise<ServableHandle<T>> {
    const { manager, metrics } = this.options;
    const model = request.name;
    try {
      const handle = manager.getServableHandle(request);
      this.touch(model);
      if (record) metrics.hit(model);
      return handle;
    } catch (e) {
      if (!(e instanceof ServingError) || e.code !== 'NOT_FOUND' || !this.canLoad(request)) throw e;
    }
    const startedAt = performance.now();
    this.pin(model);
    try {
      await untilEnded(this.loaded(model), context);
      this.touch(model);
      try {
        return manager.getServableHandle(request);
      } catch (e) {
        throw this.whyNotLoaded(request, e);
      }
    } finally {
      this.unpin(model);
      if (record) metrics.miss(model, Math.max(0, Math.round((performance.now() - startedAt) * 1000)));
    }
  }

  /** True when the source aspires a version that would answer `request`. */
  private canLoad(request: ServableRequest): boolean {
    const loadable = (this.aspired.get(request.name) ?? []).filter((v) => v.loader !== undefined);
    return request.version === undefined ? loadable.length > 0 : loadable.some((v) => v.version === request.version);
  }

  /** Resolves when the model is resident and its versions settled; admits it first when needed. */
  private async loaded(model: string): Promise<void> {
    for (;;) {
      const resident = this.residents.get(model);
      if (resident && !resident.evicting) return resident.settled;
      let admitting = this.admitting.get(model);
      if (!admitting) {
        const run = this.admission.then(() => this.admit(model));
        this.admission = run.catch(() => undefined);
        admitting = run.finally(() => this.admitting.delete(model));
        this.admitting.set(model, admitting);
      }
      try {
        // This admission's own load: a later eviction or failure is not a reason to load again here.
        return (await admitting).settled;
      } catch (e) {
        // An admission dropped for want of waiters is tried again for one that came meanwhile.
        if (!(e instanceof DroppedLoad) || (this.pins.get(model) ?? 0) === 0) throw e;
      }
    }
  }

  /** Makes room for the model (evicting LRU residents) and aspires its versions. Runs one at a time. */
  private async admit(model: string): Promise<Resident> {
    const current = this.residents.get(model);
    if (current && !current.evicting) return current;
    if (current?.evicting) await current.settled.then(() => this.waitUnloaded(model));
    const versions = (this.aspired.get(model) ?? []).map((v) => (v.loader ? { version: v.version, loader: this.options.makeLoader(model, v.version) } : v));
    if (!versions.some((v) => v.loader)) throw new ServingError('NOT_FOUND', `model ${model} has no version to load on demand any more (its source aspires none)`);
    const estimates = new Map<number, number>();
    for (const v of versions) if (v.loader) estimates.set(v.version, (await v.loader.estimateResources()).ramBytes);
    const bytes = [...estimates.values()].reduce((a, b) => a + b, 0);
    const budget = this.options.budgetBytes;
    if (bytes > budget) {
      throw new ServingError(
        'RESOURCE_EXHAUSTED',
        `model ${model} needs an estimated ${bytes} bytes (1.2 x its files), more than the whole ${budget}-byte totalModelMemoryLimitBytes: it can never be loaded on demand`,
      );
    }
    await this.makeRoom(model, bytes, true);
    this.checkOpen(model);
    this.checkWanted(model);
    const settled = this.settledPromise(model, versions);
    const resident: Resident = { estimates, settled, evicting: false };
    this.residents.set(model, resident);
    this.options.metrics.load(model);
    this.options.manager.setAspiredVersions(model, versions);
    void settled.then(() => {
      this.dropIfFailed(model, resident);
      this.wakeUp();
    });
    return resident;
  }

  /**
   * A model none of whose versions loaded is no longer resident: its bytes are free again and the next
   * request tries the load anew (its waiters get the load's error; the failed states stay in the monitor).
   */
  private dropIfFailed(model: string, resident: Resident): void {
    if (this.residents.get(model) !== resident || this.options.manager.availableVersions(model).length > 0) return;
    this.residents.delete(model);
    this.options.manager.setAspiredVersions(model, (this.aspired.get(model) ?? []).filter((v) => v.error !== undefined));
  }

  /**
   * Evicts least recently used residents (not pinned, not `model`) until `bytes` more fit; when none may
   * go, waits for one to become evictable, or with `wait` false gives up.
   */
  private async makeRoom(model: string, bytes: number, wait: boolean): Promise<void> {
    const budget = this.options.budgetBytes;
    while (this.residentBytes + bytes > budget) {
      this.checkOpen(model);
      if (wait) this.checkWanted(model);
      const victim = this.victim(model);
      if (victim === undefined) {
        if (!wait) return;
        // Everything resident is pinned by waiting requests or still loading: wait until that changes.
        await new Promise<void>((resolve) => (this.wake = resolve));
        continue;
      }
      await this.evict(victim);
    }
  }

  /** The least recently used resident that may go: idle ones first, then busy ones (unloaded after their requests). */
  private victim(model: string): string | undefined {
    const candidates = this.residentModels().filter((m) => m !== model && (this.pins.get(m) ?? 0) === 0 && this.isSettled(m));
    const idle = candidates.find((m) => [...this.options.manager.activeRequests(m).values()].every((n) => n === 0));
    return idle ?? candidates[0];
  }

  private async evict(model: string): Promise<void> {
    const resident = this.residents.get(model);
    if (!resident) return;
    resident.evicting = true;
    this.options.metrics.eviction(model);
    this.options.manager.setAspiredVersions(model, (this.aspired.get(model) ?? []).filter((v) => v.error !== undefined));
    await this.waitUnloaded(model);
    if (this.residents.get(model) === resident) this.residents.delete(model);
  }

  /** Resolves once the manager holds no version of `model` (every unload reached END). */
  private waitUnloaded(model: string): Promise<void> {
    const { manager } = this.options;
    const held = () => [...manager.activeRequests(model).keys()].some((v) => manager.isHeld(model, v));
    return this.until((state) => state.id.name === model, () => !held());
  }

  /** True when every version of a resident model is AVAILABLE or failed. */
  private isSettled(model: string): boolean {
    const { manager } = this.options;
    return [...manager.activeRequests(model).keys()].every((v) => {
      const state = manager.monitor.getState(model, v)?.managerState;
      return state === 'AVAILABLE' || state === 'END';
    });
  }

  /** Resolves when each aspired version is AVAILABLE or ended (a failed load). */
  private settledPromise(model: string, versions: readonly AspiredVersion<T>[]): Promise<void> {
    const monitor = this.options.manager.monitor;
    const wanted = versions.filter((v) => v.loader !== undefined).map((v) => v.version);
    const since = new Map(wanted.map((v) => [v, monitor.getVersionStates(model).get(v)?.state]));
    const done = (v: number) => {
      const state = monitor.getState(model, v);
      // A state from before this admission (an earlier END) does not count.
      return state !== undefined && state !== since.get(v) && (state.managerState === 'AVAILABLE' || state.managerState === 'END');
    };
    return this.until((state) => state.id.name === model, () => wanted.every(done));
  }

  /** Resolves the first time `ready()` holds, checked now and after each matching state change. */
  private until(matches: (state: ServableState) => boolean, ready: () => boolean): Promise<void> {
    if (ready()) return Promise.resolve();
    return new Promise((resolve) => {
      const unsubscribe = this.options.manager.monitor.subscribe((state) => {
        if (!matches(state) || !ready()) return;
        unsubscribe();
        resolve();
      });
    });
  }

  /** Why a request that waited still has no handle: the load's error when it failed, else NOT_FOUND. */
  private whyNotLoaded(request: ServableRequest, e: unknown): ServingError {
    const aspired = (this.aspired.get(request.name) ?? []).filter((v) => v.loader !== undefined).map((v) => v.version);
    const versions = request.version === undefined ? aspired : [request.version];
    for (const v of versions) {
      const health = this.options.manager.monitor.getState(request.name, v)?.health;
      if (health && health.error_code !== 'OK') return new ServingError(health.error_code, `model ${request.name} was loaded on demand, but version ${v} failed: ${health.error_message}`);
    }
    return ServingError.from(e);
  }

  /** Nobody waits for the model any more (their deadlines passed): no eviction, no load for it. */
  private checkWanted(model: string): void {
    if ((this.pins.get(model) ?? 0) === 0) throw new DroppedLoad(model);
  }

  private checkOpen(model: string): void {
    if (this.closed) throw new ServingError('FAILED_PRECONDITION', `the server is closed; model ${model} is not loaded on demand any more`);
  }

  private touch(model: string): void {
    this.recency.delete(model);
    this.recency.set(model, true);
  }

  private pin(model: string): void {
    this.pins.set(model, (this.pins.get(model) ?? 0) + 1);
  }

  private unpin(model: string): void {
    const n = (this.pins.get(model) ?? 1) - 1;
    if (n > 0) this.pins.set(model, n);
    else this.pins.delete(model);
    this.wakeUp();
  }

  private wakeUp(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }
}

/** An admission given up because no request waits for its model any more. */
class DroppedLoad extends ServingError {
  constructor(model: string) {
    super('CANCELLED', `the on-demand load of model ${model} was dropped: no request waits for it any more`);
  }
}

/** `work`, or the request's CANCELLED / DEADLINE_EXCEEDED as soon as it ends (the work goes on). */
function untilEnded(work: Promise<void>, context: RequestContext | undefined): Promise<void> {
  const ended = requestEnded(context);
  if (ended) {
    work.catch(() => undefined); // the load goes on for others; its failure is theirs to hear, not an unhandled rejection here
    return Promise.reject(new ServingError(ended.code, `${ended.message} before its model was loaded on demand`));
  }
  if (!context) return work;
  return new Promise<void>((resolve, reject) => {
    const { signal, deadline } = context;
    let stopTimer = () => {};
    const finish = (settle: () => void) => {
      stopTimer();
      signal?.removeEventListener('abort', end);
      settle();
    };
    const end = () => {
      const why = requestEnded(context);
      if (why) finish(() => reject(new ServingError(why.code, `${why.message} while its model was being loaded on demand`)));
    };
    if (deadline !== undefined) stopTimer = atDeadline(deadline, end);
    signal?.addEventListener('abort', end);
    work.then(
      () => finish(resolve),
      (e: unknown) => finish(() => reject(e)),
    );
  });
}
