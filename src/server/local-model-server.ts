import type { NormalizedBatchingParameters } from '../batching/batching-parameters.js';
import { AspiredVersionsManager } from '../core/aspired-versions-manager.js';
import { availabilityPreservingPolicy } from '../core/availability-preserving-policy.js';
import { resourcePreservingPolicy } from '../core/resource-preserving-policy.js';
import { ResourceTracker } from '../core/resource-tracker.js';
import { isValidVersion } from '../core/servable-id.js';
import type { ServableState } from '../core/servable-state.js';
import { ServableStateMonitor } from '../core/servable-state-monitor.js';
import { ServingError } from '../core/status.js';
import type { VersionLabels } from '../core/version-labels.js';
import { checkLabelsPointAtAvailable, resolveVersionLabel } from '../core/version-labels.js';
import type { MetricsSnapshot } from '../metrics/metrics-registry.js';
import { microsSince, ServingMetrics } from '../metrics/serving-metrics.js';
import type { BackendName } from '../runtime/backends.js';
import { defaultBackends, selectBackend } from '../runtime/backends.js';
import { signatureDefJson } from '../runtime/signature.js';
import { TfjsModelLoader } from '../runtime/tfjs-model-loader.js';
import type { TfjsServable } from '../runtime/tfjs-servable.js';
import type { DownloadProgress, ModelSource, SourceState } from '../sources/model-source.js';
import { HttpSource } from '../sources/http-source.js';
import { FileSystemSource, isLocalDirectoryBasePath } from '../sources/file-system-source.js';
import type { StoreCoordinator } from '../sources/tab-coordinator.js';
import { originStoreCoordinator } from '../sources/tab-coordinator.js';
import { IndexedDbModelStore } from '../storage/indexed-db-model-store.js';
import { MemoryModelStore } from '../storage/memory-model-store.js';
import type { ModelStore } from '../storage/model-store.js';
import type { GetModelMetadataResponse, GetModelStatusResponse, PredictOptions, PredictRequest, PredictResponse, VersionSelector } from './api-types.js';
import type { ModelServerOptions, NormalizedModelConfig } from './model-server-options.js';
import type { ModelServer } from './model-server.js';
import { batchingParametersFor, normalizeModelConfigList } from './model-server-options.js';
import { DownloadProgressEvent, SourceErrorEvent, VersionStateEvent } from './version-state-event.js';

interface ServedModel {
  config: NormalizedModelConfig;
  source: ModelSource<TfjsServable>;
  labels: VersionLabels;
}

/**
 * The model server running in this realm (a page, a worker, or Node): serves every model of a config
 * list from its repository, keeps versions in a local store, swaps them under the aspired-version
 * policy, and answers predict, status and metadata requests. `ModelServer.start` creates one (or, in a
 * browser page, a client of one running in a Web Worker).
 */
export class LocalModelServer extends EventTarget implements ModelServer {
  readonly store: ModelStore;
  readonly mode = 'local' as const;
  private readonly manager: AspiredVersionsManager<TfjsServable>;
  private readonly monitor: ServableStateMonitor;
  private readonly models = new Map<string, ServedModel>();
  private closing: Promise<void> | undefined;
  /** Shares downloads with the origin's other tabs (browsers only). */
  private readonly coordinator: StoreCoordinator | undefined = originStoreCoordinator();
  private configChain: Promise<unknown> = Promise.resolve();
  private readonly servingMetrics = new ServingMetrics();
  /** Batching parameters per config object (undefined: batching off). */
  private readonly batching = new WeakMap<NormalizedModelConfig, NormalizedBatchingParameters | undefined>();

  private constructor(
    private readonly options: ModelServerOptions,
    store: ModelStore,
    /** The TF.js backend predictions run on. */
    readonly backend: BackendName,
  ) {
    super();
    this.store = store;
    this.servingMetrics.setBackend(backend);
    this.monitor = new ServableStateMonitor();
    const policy = options.aspiredVersionPolicy ?? 'availability-preserving';
    if (policy !== 'availability-preserving' && policy !== 'resource-preserving') {
      throw new ServingError('INVALID_ARGUMENT', `aspiredVersionPolicy must be "availability-preserving" or "resource-preserving", got ${JSON.stringify(policy)}`);
    }
    this.manager = new AspiredVersionsManager<TfjsServable>({
      policy: policy === 'resource-preserving' ? resourcePreservingPolicy : availabilityPreservingPolicy,
      monitor: this.monitor,
      resourceTracker: new ResourceTracker(options.totalModelMemoryLimitBytes ?? Number.POSITIVE_INFINITY),
      maxNumLoadRetries: options.maxNumLoadRetries,
      loadRetryIntervalMs: options.loadRetryIntervalMs,
      numLoadThreads: options.numLoadThreads,
    });
    this.monitor.subscribe((state, previous) => this.onStateChange(state, previous));
  }

  /**
   * Starts serving: picks a backend, loads what the store already holds (offline), polls each
   * repository once, and resolves when every model's aspired versions are AVAILABLE or failed.
   * Rejects with FAILED_PRECONDITION if a version label points at a version that is not AVAILABLE.
   */
  static async start(options: ModelServerOptions): Promise<LocalModelServer> {
    if (typeof options !== 'object' || options === null) throw new ServingError('INVALID_ARGUMENT', 'ModelServer.start needs an options object with a modelConfigList');
    const configs = normalizeModelConfigList(options.modelConfigList);
    for (const config of [undefined, ...configs]) batchingParametersFor(options, config); // INVALID_ARGUMENT before any work
    const backend = await selectBackend(options.backends ?? defaultBackends(), { wasmPaths: options.wasmPaths });
    const store = options.store ?? defaultStore();
    await store.collectGarbage?.();
    const server = new LocalModelServer(options, store, backend);
    for (const [type, listener] of Object.entries(options.listeners ?? {})) if (listener) server.addEventListener(type, listener);
    try {
      await server.applyConfig(configs);
    } catch (e) {
      await server.close();
      throw e;
    }
    return server;
  }

  /**
   * Runs one prediction. With `enableBatching`, the validated request joins its version's batching
   * queue and runs batched with others. `options.entrypoint` labels the request in metrics (TF
   * Serving's `REST` / `GRPC`; default `local`).
   */
  async predict(request: PredictRequest, options: PredictOptions = {}): Promise<PredictResponse> {
    const startedAt = performance.now();
    // Label only configured models: names from bad requests must not grow the metrics without bound.
    const asked = typeof request === 'object' && request !== null ? request.model : undefined;
    const modelName = typeof asked === 'string' && this.models.has(asked) ? asked : '(unknown)';
    try {
      const response = await this.predictNow(request);
      this.servingMetrics.recordRequest(modelName, 'OK', microsSince(startedAt), options.entrypoint ?? 'local');
      return response;
    } catch (e) {
      this.servingMetrics.recordRequest(modelName, ServingError.from(e).code, microsSince(startedAt), options.entrypoint ?? 'local');
      throw e;
    }
  }

  private async predictNow(request: PredictRequest): Promise<PredictResponse> {
    if (typeof request !== 'object' || request === null) throw new ServingError('INVALID_ARGUMENT', 'predict needs a request object {model, inputs, version?, label?, signatureName?}');
    const handle = this.handleFor(request.model, request);
    try {
      const where = `model ${handle.id.name} version ${handle.id.version}`;
      if (request.signatureName !== undefined && typeof request.signatureName !== 'string') {
        throw new ServingError('INVALID_ARGUMENT', `${where}: signatureName must be a string`);
      }
      const servable = handle.servable;
      const signature = servable.signature(request.signatureName, where);
      const inputs = servable.validate(signature, request.inputs, where);
      // Validated before batching: a bad request fails alone. The handle is held until the batch is done.
      const batching = this.batchingParametersOf(handle.id.name);
      const outputs = batching
        ? await servable.batchingSession(signature, batching, this.servingMetrics.batchingSink(handle.id.name)).run(inputs)
        : await servable.run(signature, inputs);
      return { model: { name: handle.id.name, version: handle.id.version, signatureName: signature.name }, outputs };
    } finally {
      handle.release();
    }
  }

  /** A JSON snapshot of the server's metrics, by TF Serving's metric names (`/tensorflow/serving/request_count`, …). */
  async metrics(): Promise<MetricsSnapshot> {
    return this.servingMetrics.snapshot();
  }

  /** The server's metrics in the Prometheus text exposition format, names sanitized as TF Serving does (`:tensorflow:serving:request_count`). */
  async prometheusMetrics(): Promise<string> {
    return this.servingMetrics.prometheus();
  }

  async getModelStatus(model: string, version?: number): Promise<GetModelStatusResponse> {
    return this.getModelStatusNow(model, version);
  }

  /** getModelStatus, synchronously (this realm only). */
  getModelStatusNow(model: string, version?: number): GetModelStatusResponse {
    const states = this.monitor.getVersionStates(model);
    if (states.size === 0) throw new ServingError('NOT_FOUND', `Could not find any versions of model ${model}`);
    const entries = [...states].sort((a, b) => b[0] - a[0]);
    const picked = version === undefined ? entries : entries.filter(([v]) => v === version);
    if (picked.length === 0) throw new ServingError('NOT_FOUND', `Could not find version ${version} of model ${model}`);
    return {
      model_version_status: picked.map(([v, { state }]) => ({
        version: String(v),
        state: state.managerState,
        status: { error_code: state.health.error_code, error_message: state.health.error_message },
      })),
    };
  }

  async getModelMetadata(model: string, selector: number | VersionSelector = {}): Promise<GetModelMetadataResponse> {
    const handle = this.handleFor(model, typeof selector === 'number' ? { version: selector } : selector);
    try {
      const defs = Object.fromEntries([...handle.servable.signatures].map(([k, s]) => [k, signatureDefJson(s)]));
      return {
        model_spec: { name: model, signature_name: '', version: String(handle.id.version) },
        metadata: { signature_def: { signature_def: defs } },
      };
    } finally {
      handle.release();
    }
  }

  async modelNames(): Promise<string[]> {
    return [...this.models.keys()];
  }

  async versionLabels(model: string): Promise<VersionLabels> {
    return { ...this.servedModel(model).labels };
  }

  async sourceState(model: string): Promise<SourceState> {
    return this.servedModel(model).source.state();
  }

  async pollNow(model?: string): Promise<void> {
    const targets = model === undefined ? [...this.models.values()] : [this.servedModel(model)];
    await Promise.all(targets.map((m) => m.source.pollNow()));
    await this.manager.whenIdle();
  }

  whenIdle(): Promise<void> {
    return this.manager.whenIdle();
  }

  reloadConfig(options: Pick<ModelServerOptions, 'modelConfigList'>): Promise<void> {
    const configs = normalizeModelConfigList(options?.modelConfigList);
    try {
      for (const config of configs) batchingParametersFor(this.options, config); // INVALID_ARGUMENT before any change
    } catch (e) {
      return Promise.reject(e);
    }
    return this.applyConfig(configs);
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      await Promise.all([...this.models.values()].map((m) => m.source.stop()));
      await this.manager.close();
      this.coordinator?.close();
      await this.store.close?.();
    })();
    return this.closing;
  }

  private applyConfig(configs: NormalizedModelConfig[]): Promise<void> {
    const run = this.configChain.then(() => this.doApplyConfig(configs));
    this.configChain = run.catch(() => undefined);
    return run;
  }

  private async doApplyConfig(configs: NormalizedModelConfig[]): Promise<void> {
    if (this.closing) throw new ServingError('FAILED_PRECONDITION', 'the server is closed');
    const wanted = new Map(configs.map((c) => [c.name, c]));
    for (const [name, served] of [...this.models]) {
      const next = wanted.get(name);
      if (next && next.basePath === served.config.basePath && JSON.stringify(next.modelVersionPolicy) === JSON.stringify(served.config.modelVersionPolicy)) {
        served.config = next;
        continue;
      }
      await served.source.stop();
      if (!next) {
        this.models.delete(name);
        this.manager.setAspiredVersions(name, []);
      }
    }
    const starting: Promise<void>[] = [];
    for (const config of configs) {
      const served = this.models.get(config.name);
      if (served && served.config === config) continue;
      const source = this.makeSource(config);
      this.models.set(config.name, { config, source, labels: served?.labels ?? {} });
      starting.push(source.start());
    }
    await Promise.all(starting);
    await this.manager.whenIdle();
    // Labels last, against what is AVAILABLE now; on refusal the old labels stay.
    const newLabels = new Map<string, VersionLabels>();
    for (const config of configs) {
      const served = this.models.get(config.name)!;
      checkLabelsPointAtAvailable(config.name, config.versionLabels, served.labels, this.manager.availableVersions(config.name), this.options.allowVersionLabelsForUnavailableModels ?? false);
      newLabels.set(config.name, config.versionLabels);
    }
    for (const [name, labels] of newLabels) this.models.get(name)!.labels = labels;
  }

  private makeSource(config: NormalizedModelConfig): ModelSource<TfjsServable> {
    const common = {
      name: config.name,
      basePath: config.basePath,
      versionPolicy: config.modelVersionPolicy,
      store: this.store,
      monitor: this.monitor,
      loaderFactory: (name: string, version: number) => new TfjsModelLoader(this.store, name, version, { warmup: this.options.enableModelWarmup ?? true }),
      pollIntervalMs: this.options.pollIntervalMs,
      onProgress: (p: DownloadProgress) => this.dispatchEvent(new DownloadProgressEvent(p.model, p.version, p.loadedBytes, p.totalBytes)),
      onError: (e: ServingError) => this.dispatchEvent(new SourceErrorEvent(config.name, e.code, e.message)),
      isLoaded: (version: number) => this.manager.isHeld(config.name, version),
    };
    // A local directory in Node (TF Serving's file-system layout) is polled by the FileSystemSource;
    // URLs (and everything in browsers) by the HttpSource.
    const source: ModelSource<TfjsServable> = isLocalDirectoryBasePath(config.basePath)
      ? new FileSystemSource<TfjsServable>(common)
      : new HttpSource<TfjsServable>({ ...common, requestTimeoutMs: this.options.requestTimeoutMs, fetch: this.options.fetch, coordinator: this.coordinator });
    source.setAspiredVersionsCallback((name, versions) => {
      // A source replaced by reloadConfig must not speak for the model any more.
      if (this.models.get(name)?.source === source) this.manager.setAspiredVersions(name, versions);
    });
    return source;
  }

  private handleFor(model: unknown, selector: VersionSelector) {
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
    }
    return this.manager.getServableHandle({ name: model, version: resolved });
  }

  /** The batching parameters of a served model now, or undefined when batching is off. */
  private batchingParametersOf(model: string): NormalizedBatchingParameters | undefined {
    const config = this.models.get(model)?.config;
    if (!config || !this.options.enableBatching) return undefined;
    if (!this.batching.has(config)) this.batching.set(config, batchingParametersFor(this.options, config));
    return this.batching.get(config);
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
    for (const type of ['statechange', state.managerState.toLowerCase()]) {
      this.dispatchEvent(new VersionStateEvent(type, name, version, state.managerState, state.health, previous?.managerState, isUpdate));
    }
    if (state.managerState === 'END') {
      void this.models.get(name)?.source.collectUnwanted().catch(() => undefined);
    }
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
      this.servingMetrics.recordLoad(name, version, t.loadMicros);
      if (t.warmupMicros !== undefined) this.servingMetrics.recordWarmup(name, version, 'OK', t.warmupMicros);
    } finally {
      handle.release();
    }
  }
}

function defaultStore(): ModelStore {
  return typeof indexedDB !== 'undefined' ? new IndexedDbModelStore() : new MemoryModelStore();
}
