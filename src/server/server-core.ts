// TF Serving's ServerCore: the config, one source per model, the manager, labels and events.
import type { NormalizedBatchingParameters } from '../batching/batching-parameters.js';
import { BatchingLoader } from '../batching/batching-loader.js';
import { AspiredVersionsManager } from '../core/aspired-versions-manager.js';
import { availabilityPreservingPolicy } from '../core/availability-preserving-policy.js';
import type { Loader } from '../core/loader.js';
import { resourcePreservingPolicy } from '../core/resource-preserving-policy.js';
import { ResourceTracker } from '../core/resource-tracker.js';
import type { ServableHandle } from '../core/servable-handle.js';
import type { ServableRequest } from '../core/servable-request.js';
import { isValidVersion } from '../core/servable-id.js';
import type { ServableState } from '../core/servable-state.js';
import { ServableStateMonitor } from '../core/servable-state-monitor.js';
import type { ServableVersionPolicy } from '../core/servable-version-policy.js';
import { withCanary } from '../core/servable-version-policy.js';
import { validateUserId } from '../core/canary.js';
import { ServingError } from '../core/status.js';
import type { VersionLabels } from '../core/version-labels.js';
import { checkLabelsPointAtAvailable, resolveVersionLabel } from '../core/version-labels.js';
import type { ServingMetrics } from '../metrics/serving-metrics.js';
import type { BackendName } from '../runtime/backends.js';
import type { RequestContext, Servable } from '../runtime/servable.js';
import { TfjsModelLoader } from '../runtime/tfjs-model-loader.js';
import type { ModelSource, SourceState } from '../sources/model-source.js';
import type { StoreCoordinator } from '../sources/tab-coordinator.js';
import { originStoreCoordinator } from '../sources/tab-coordinator.js';
import type { ModelStore } from '../storage/model-store.js';
import type { GetModelStatusResponse, VersionSelector } from './api-types.js';
import { getModelStatus } from './get-model-status.js';
import type { ModelServerOptions, NormalizedModelConfig } from './model-server-options.js';
import { batchingParametersFor, checkModelLoading } from './model-server-options.js';
import { OnDemandLoader } from './on-demand-loader.js';
import type { CanaryDecision } from './canary-router.js';
import { routeRequest } from './canary-router.js';
import { sourceFactoryFor } from './source-registry.js';
import { ProgressTracker } from './progress-tracker.js';
import { LoadFailureEvent, SourceErrorEvent, VersionStateEvent } from './version-state-event.js';
import { FailureReportingLoader } from './failure-reporting-loader.js';
import { FirstLoadAttempts } from './first-load-attempts.js';

interface ServedModel {
  config: NormalizedModelConfig;
  source: ModelSource<Servable>;
  labels: VersionLabels;
}

/**
 * The serving core of one ModelServer (TF Serving's ServerCore): applies a config list — one source per
 * model, feeding the AspiredVersionsManager — keeps version labels, resolves requests to handles,
 * reports status, fires the server's events, and deletes stored versions nothing wants any more (the
 * one owner of store cleanup). Predictions go through the PredictionService on top of it.
 */
export class ServerCore {
  readonly manager: AspiredVersionsManager<Servable>;
  readonly monitor = new ServableStateMonitor();
  private readonly firstAttempts = new FirstLoadAttempts(this.monitor);
  private readonly models = new Map<string, ServedModel>();
  /** Shares downloads with the origin's other tabs (browsers only). */
  private readonly coordinator: StoreCoordinator | undefined = originStoreCoordinator();
  private configChain: Promise<unknown> = Promise.resolve();
  private readonly collecting = new Map<string, Promise<void>>();
  private closing: Promise<void> | undefined;
  private readonly progress: ProgressTracker;
  /** Source errors already logged (browser pages log each distinct one once). */
  private readonly logged = new Set<string>();
  /** With `modelLoading: 'on-demand'`: what decides which models the manager loads. */
  private readonly onDemand: OnDemandLoader<Servable> | undefined;
  /** The user a request without `userId` is assigned to canaries as (options.userId, or the browser's stored id). */
  defaultUserId: string | undefined;

  constructor(
    private readonly options: ModelServerOptions,
    readonly store: ModelStore,
    readonly backend: BackendName,
    private readonly metrics: ServingMetrics,
    /** Where the server's events are dispatched (the ModelServer the core serves). */
    private readonly events: EventTarget,
  ) {
    const policy = options.aspiredVersionPolicy ?? 'availability-preserving';
    if (policy !== 'availability-preserving' && policy !== 'resource-preserving') {
      throw new ServingError('INVALID_ARGUMENT', `aspiredVersionPolicy must be "availability-preserving" or "resource-preserving", got ${JSON.stringify(policy)}`);
    }
    this.manager = new AspiredVersionsManager<Servable>({
      policy: policy === 'resource-preserving' ? resourcePreservingPolicy : availabilityPreservingPolicy,
      monitor: this.monitor,
      resourceTracker: new ResourceTracker(options.totalModelMemoryLimitBytes ?? Number.POSITIVE_INFINITY),
      maxNumLoadRetries: options.maxNumLoadRetries,
      loadRetryIntervalMs: options.loadRetryIntervalMs,
      numLoadThreads: options.numLoadThreads,
    });
    this.progress = new ProgressTracker(events);
    if (checkModelLoading(options.modelLoading) === 'on-demand') {
      this.onDemand = new OnDemandLoader<Servable>({
        manager: this.manager,
        budgetBytes: this.manager.resourceTracker.totalModelMemoryLimitBytes,
        makeLoader: (name, version) => this.makeLoader(name, version),
        metrics: metrics.onDemandSink(),
      });
    }
    this.monitor.subscribe((state, previous) => this.onStateChange(state, previous));
  }

  /** Names of the configured models. */
  modelNames(): string[] {
    return [...this.models.keys()];
  }

  versionLabels(model: string): VersionLabels {
    return { ...this.servedModel(model).labels };
  }

  sourceState(model: string): SourceState {
    return this.servedModel(model).source.state();
  }

  getModelStatus(model: string, version?: number): GetModelStatusResponse {
    return getModelStatus(this.monitor, model, version);
  }

  /** True when `model` is in the config (for metric labels: names from bad requests must not grow them). */
  isConfigured(model: unknown): model is string {
    return typeof model === 'string' && this.models.has(model);
  }

  /** A handle to the version a request picks (a version, a label, or the latest AVAILABLE); release it when done. */
  servableHandle(model: unknown, selector: VersionSelector): ServableHandle<Servable> {
    const request = this.servableRequest(model, selector);
    try {
      return this.manager.getServableHandle(request);
    } catch (e) {
      throw this.explained(request.name, e);
    }
  }

  /**
   * servableHandle, and with on-demand loading, a model that is not loaded is loaded first (evicting
   * the least recently used ones to fit) while the request waits, bounded by its deadline. `record`
   * counts the request in the on-demand hit/miss metrics.
   */
  servableHandleWhenLoaded(model: unknown, selector: VersionSelector, context?: RequestContext, record = true): ServableHandle<Servable> | Promise<ServableHandle<Servable>> {
    const onDemand = this.onDemand;
    // Loaded eagerly: the handle at once (no promise on the hot path); errors are thrown.
    if (!onDemand) return this.servableHandle(model, selector);
    const request = this.servableRequest(model, selector);
    return onDemand.handle(request, context, record).catch((e: unknown) => {
      throw this.explained(request.name, e);
    });
  }

  /** The request a selector makes (its label resolved), or INVALID_ARGUMENT naming the bad field. */
  private servableRequest(model: unknown, selector: VersionSelector): ServableRequest & { name: string } {
    if (typeof model !== 'string' || model === '') throw new ServingError('INVALID_ARGUMENT', `model must be a non-empty string, got ${JSON.stringify(model)}`);
    const { version, label } = selector;
    if (version !== undefined && label !== undefined) {
      throw new ServingError('INVALID_ARGUMENT', `give either version (${version}) or label (${JSON.stringify(label)}), not both`);
    }
    if (version !== undefined && !isValidVersion(version)) {
      throw new ServingError('INVALID_ARGUMENT', `version must be a non-negative integer, got ${JSON.stringify(version)}`);
    }
    let resolved = version;
    if (label !== undefined) {
      if (typeof label !== 'string') throw new ServingError('INVALID_ARGUMENT', `label must be a string, got ${JSON.stringify(label)}`);
      resolved = resolveVersionLabel(model, this.models.get(model)?.labels ?? {}, label);
    } else if (version === undefined) {
      resolved = this.canaryRoute(model, validateUserId(selector.userId, `model ${model}`)).version;
    }
    return { name: model, version: resolved };
  }

  /** The error to throw for `e`: a NOT_FOUND also says why nothing serves when the model's source knows. */
  private explained(model: string, e: unknown): unknown {
    // A missing repository is the usual reason.
    const lastError = this.models.get(model)?.source.state().lastError;
    if (!(e instanceof ServingError) || e.code !== 'NOT_FOUND' || !lastError) return e;
    return new ServingError('NOT_FOUND', `${e.message}; the source of ${model} reports: ${lastError.code}: ${lastError.message}`, { cause: e });
  }

  /** Where a request without version or label goes: the model's canary split (config first, then manifest) over what is AVAILABLE now. */
  canaryRoute(model: string, userId: string | undefined): CanaryDecision {
    const served = this.models.get(model);
    const split = served ? (served.config.canary ?? served.source.canarySplit?.()) : undefined;
    return routeRequest(model, split, served?.labels ?? {}, split ? this.manager.availableVersions(model) : [], userId ?? this.defaultUserId);
  }

  async pollNow(model?: string): Promise<void> {
    const targets = model === undefined ? [...this.models.values()] : [this.servedModel(model)];
    await Promise.all(targets.map((m) => m.source.pollNow()));
    await this.whenIdle();
  }

  /** Resolves when no load, unload, retry or store cleanup is in progress. */
  async whenIdle(): Promise<void> {
    await this.manager.whenIdle();
    while (this.collecting.size > 0) {
      await Promise.all(this.collecting.values());
      await this.manager.whenIdle();
    }
  }

  /** Applies a config list (serialized with earlier calls); labels are set last, against what is AVAILABLE then. */
  applyConfig(configs: NormalizedModelConfig[]): Promise<void> {
    const run = this.configChain.then(() => this.doApplyConfig(configs));
    this.configChain = run.catch(() => undefined);
    return run;
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      await Promise.all([...this.models.values()].map((m) => m.source.stop()));
      this.onDemand?.close();
      await this.manager.close();
      await Promise.all(this.collecting.values());
      this.coordinator?.close();
      await this.store.close?.();
    })();
    return this.closing;
  }

  private async doApplyConfig(configs: NormalizedModelConfig[]): Promise<void> {
    if (this.closing) throw new ServingError('FAILED_PRECONDITION', 'the server is closed');
    const wanted = new Map(configs.map((c) => [c.name, c]));
    for (const [name, served] of [...this.models]) {
      const next = wanted.get(name);
      const sameSource =
        next !== undefined &&
        next.basePath === served.config.basePath &&
        JSON.stringify(sourcePolicy(next)) === JSON.stringify(sourcePolicy(served.config)) &&
        JSON.stringify(next.trustedPublicKeys) === JSON.stringify(served.config.trustedPublicKeys);
      if (next && sameSource) {
        served.config = next;
        continue;
      }
      await served.source.stop();
      if (!next) {
        this.models.delete(name);
        this.manager.setAspiredVersions(name, []);
        this.onDemand?.forget(name);
      }
    }
    const starting: Promise<void>[] = [];
    const started: NormalizedModelConfig[] = [];
    for (const config of configs) {
      const served = this.models.get(config.name);
      if (served && served.config === config) continue;
      const source = this.makeSource(config);
      this.models.set(config.name, { config, source, labels: served?.labels ?? {} });
      starting.push(source.start());
      started.push(config);
    }
    await Promise.all(starting);
    if (this.options.waitForLoadRetries === false) {
      const aspired = () => started.map((c) => ({ name: c.name, aspiredVersions: this.models.get(c.name)?.source.state().aspiredVersions ?? [] }));
      await this.firstAttempts.ended(aspired, this.manager.whenIdle());
    } else {
      await this.manager.whenIdle();
    }
    // Only the sources started now had their first poll: models kept as they were are not judged again.
    if (this.options.failIfNoModelVersionsFound) this.checkVersionsFound(started);
    // Labels last, against what is AVAILABLE now; on refusal the old labels stay.
    const newLabels = new Map<string, VersionLabels>();
    for (const config of configs) {
      const served = this.servedModel(config.name);
      // On demand, a label may point at any version the source aspires: it is loaded when asked for.
      const targets = this.onDemand ? served.source.state().aspiredVersions : this.manager.availableVersions(config.name);
      checkLabelsPointAtAvailable(config.name, config.versionLabels, served.labels, targets, this.options.allowVersionLabelsForUnavailableModels ?? false);
      newLabels.set(config.name, config.versionLabels);
    }
    for (const [name, labels] of newLabels) this.servedModel(name).labels = labels;
  }

  /** TF Serving's fail_if_no_model_versions_found: NOT_FOUND naming each model that has no version, and why. */
  private checkVersionsFound(configs: readonly NormalizedModelConfig[]): void {
    const missing: string[] = [];
    for (const config of configs) {
      const source = this.servedModel(config.name).source.state();
      if (this.manager.availableVersions(config.name).length > 0 || source.aspiredVersions.length > 0) continue;
      const why = source.lastError ? `: ${source.lastError.code}: ${source.lastError.message}` : ' (the repository lists none)';
      missing.push(`model ${config.name} (basePath ${config.basePath}) has no versions${why}`);
    }
    if (missing.length > 0) throw new ServingError('NOT_FOUND', `failIfNoModelVersionsFound: ${missing.join('; ')}`);
  }

  /** Fires a source error, and in a browser page also logs each distinct one once (the worker's page logs its own). */
  private reportSourceError(model: string, error: ServingError): void {
    this.events.dispatchEvent(new SourceErrorEvent({ model, code: error.code, message: error.message }));
    this.progress.sourceFailed(model);
    const key = `${model}\n${error.code}\n${error.message}`;
    if (typeof document === 'undefined' || this.logged.has(key)) return;
    this.logged.add(key);
    console.warn(`tfjs-serving: the source of model ${model} reports ${error.code}: ${error.message}`);
  }

  private makeSource(config: NormalizedModelConfig): ModelSource<Servable> {
    const source = sourceFactoryFor(config.basePath).create({
      name: config.name,
      basePath: config.basePath,
      versionPolicy: sourcePolicy(config),
      store: this.store,
      loaderFactory: (name, version) => this.makeLoader(name, version),
      pollIntervalMs: this.options.pollIntervalMs,
      onProgress: (p) => this.progress.report(p),
      onError: (e) => this.reportSourceError(config.name, e),
      requestTimeoutMs: this.options.requestTimeoutMs,
      fetch: this.options.fetch,
      coordinator: this.coordinator,
      trustedPublicKeys: config.trustedPublicKeys,
    });
    source.setAspiredVersionsCallback((name, versions) => {
      // A source replaced by reloadConfig must not speak for the model any more.
      if (this.models.get(name)?.source !== source) return;
      if (this.onDemand) this.onDemand.setAspiredVersions(name, versions);
      else this.manager.setAspiredVersions(name, versions);
      this.collectUnwanted(name);
    });
    return source;
  }

  /** The loader of one stored version; with batching on, wrapped so that the servable it loads is batched (TF Serving's batching adapter). */
  private makeLoader(name: string, version: number): Loader<Servable> {
    const loader = new TfjsModelLoader(this.store, name, version, {
      warmup: this.options.enableModelWarmup ?? true,
      onProgress: (p) => this.progress.report({ model: name, version, ...p }),
    });
    const batching = this.batchingParametersOf(name);
    const retries = this.options.maxNumLoadRetries ?? 5;
    return new FailureReportingLoader<Servable>(batching ? new BatchingLoader(loader, batching, this.metrics.batchingSink(name)) : loader, (attempt, error) => {
      this.firstAttempts.failedOnce(name, version);
      const retriesLeft = Math.max(0, retries + 1 - attempt);
      const retryInMs = retriesLeft > 0 ? (this.options.loadRetryIntervalMs ?? 60_000) : 0;
      this.events.dispatchEvent(new LoadFailureEvent({ model: name, version, attempt, retriesLeft, retryInMs, code: error.code, message: error.message }));
    });
  }

  /** The batching parameters of a model now, or undefined when batching is off. */
  private batchingParametersOf(model: string): NormalizedBatchingParameters | undefined {
    const config = this.models.get(model)?.config;
    return config ? batchingParametersFor(this.options, config) : undefined;
  }

  /**
   * Deletes the stored versions of `model` that its source no longer wants and the manager no longer
   * holds. Runs after every aspired-versions call and every END; one pass per model at a time.
   */
  private collectUnwanted(model: string): void {
    const run = (this.collecting.get(model) ?? Promise.resolve()).then(() => this.collectOnce(model));
    this.collecting.set(model, run);
    void run.finally(() => {
      if (this.collecting.get(model) === run) this.collecting.delete(model);
    });
  }

  private async collectOnce(model: string): Promise<void> {
    const served = this.models.get(model);
    const keep = served?.source.wantedVersions() ?? new Set<number>();
    try {
      for (const v of await this.store.listVersions(model)) {
        if (keep.has(v) || this.manager.isHeld(model, v)) continue;
        await this.store.deleteVersion(model, v);
      }
    } catch (e) {
      this.events.dispatchEvent(new SourceErrorEvent({ model, code: 'INTERNAL', message: `deleting unwanted versions: ${ServingError.from(e).message}` }));
    }
  }

  private servedModel(model: string): ServedModel {
    const served = this.models.get(model);
    if (!served) throw new ServingError('NOT_FOUND', `model ${JSON.stringify(model)} is not configured (configured: ${[...this.models.keys()].join(', ') || 'none'})`);
    return served;
  }

  private onStateChange(state: ServableState, previous: ServableState | undefined): void {
    const { name, version } = state.id;
    const isUpdate = this.manager.availableVersions(name).some((v) => v !== version);
    if (state.managerState === 'AVAILABLE') this.recordLoadTimings(name, version);
    const init = { model: name, version, state: state.managerState, status: state.health, previousState: previous?.managerState, isUpdate };
    for (const type of ['statechange', state.managerState.toLowerCase()]) this.events.dispatchEvent(new VersionStateEvent(type, init));
    this.progress.stateChanged(name, version, state.managerState);
    if (state.managerState === 'END' && this.models.has(name)) this.collectUnwanted(name);
  }

  private recordLoadTimings(name: string, version: number): void {
    let handle;
    try {
      handle = this.manager.getServableHandle({ name, version });
    } catch {
      return;
    }
    try {
      const t = handle.servable.loadTimings;
      if (!t) return;
      this.metrics.recordLoad(name, version, t.loadMicros);
      if (t.warmupMicros !== undefined) this.metrics.recordWarmup(name, version, 'OK', t.warmupMicros);
    } finally {
      handle.release();
    }
  }
}

/** The version policy a model's source applies: the configured one, widened to keep a configured canary loaded. */
function sourcePolicy(config: NormalizedModelConfig): ServableVersionPolicy {
  return withCanary(config.modelVersionPolicy, config.canary?.version);
}
