import { ServingError } from '../core/status.js';
import type { VersionLabels } from '../core/version-labels.js';
import type { MetricsSnapshot } from '../metrics/metrics-registry.js';
import { ServingMetrics } from '../metrics/serving-metrics.js';
import type { BackendName } from '../runtime/backends.js';
import { defaultBackends, selectBackend } from '../runtime/backends.js';
import type { SourceState } from '../sources/model-source.js';
import { IndexedDbModelStore } from '../storage/indexed-db-model-store.js';
import { MemoryModelStore } from '../storage/memory-model-store.js';
import type { ModelStore } from '../storage/model-store.js';
import type {
  GetModelMetadataResponse,
  GetModelStatusResponse,
  GetSignatureResponse,
  PredictOptions,
  PredictRequest,
  PredictResponse,
  VersionSelector,
} from './api-types.js';
import type { ModelServer } from './model-server-interface.js';
import type { ModelServerOptions } from './model-server-options.js';
import { batchingParametersFor, checkDefaultUserId, checkSwapMode, normalizeModelConfigList } from './model-server-options.js';
import { deviceUserId } from './device-user-id.js';
import { PredictionService } from './prediction-service.js';
import { ServerCore } from './server-core.js';
import { ServerEventTarget, addServerListeners } from './version-state-event.js';

/**
 * The model server running in this realm (a page, a worker, or Node): a ServerCore (config, sources,
 * manager, labels, events) and a PredictionService on top of it, behind the `ModelServer` interface.
 * `ModelServer.start` creates one (or, in a browser page, a client of one running in a Web Worker).
 * The core fires the server's events on this object.
 */
export class LocalModelServer extends ServerEventTarget implements ModelServer {
  readonly mode = 'local' as const;
  private readonly core: ServerCore;
  private readonly prediction: PredictionService;
  private readonly servingMetrics = new ServingMetrics();

  private constructor(
    private readonly options: ModelServerOptions,
    store: ModelStore,
    /** The TF.js backend predictions run on. */
    readonly backend: BackendName,
  ) {
    super();
    this.servingMetrics.setBackend(backend);
    this.core = new ServerCore(options, store, backend, this.servingMetrics, this);
    this.prediction = new PredictionService(this.core, this.servingMetrics);
  }

  /**
   * Starts serving: picks a backend, loads what the store already holds (offline), polls each
   * repository once, and resolves when every model's aspired versions are AVAILABLE or failed.
   * Rejects with FAILED_PRECONDITION if a version label points at a version that is not AVAILABLE.
   */
  static async start(options: ModelServerOptions): Promise<LocalModelServer> {
    if (typeof options !== 'object' || options === null) throw new ServingError('INVALID_ARGUMENT', 'ModelServer.start needs an options object with a modelConfigList');
    const configs = normalizeModelConfigList(options.modelConfigList);
    checkSwapMode(options.swapMode, false); // a worker's host takes swapMode out before its server starts
    if (options.inferenceWorkers !== undefined && options.inferenceWorkers !== 1) {
      throw new ServingError('INVALID_ARGUMENT', `inferenceWorkers ${JSON.stringify(options.inferenceWorkers)} needs worker mode (predictions spread over workers); leave it out with worker: false`);
    }
    for (const config of [undefined, ...configs]) batchingParametersFor(options, config); // INVALID_ARGUMENT before any work
    const userId = checkDefaultUserId(options) ?? (await deviceUserId());
    const backend = await selectBackend(options.backends ?? defaultBackends(), { wasmPaths: options.wasmPaths });
    const store = options.store ?? defaultStore();
    await store.collectGarbage?.();
    const server = new LocalModelServer(options, store, backend);
    server.core.defaultUserId = userId;
    addServerListeners(server, options.listeners);
    try {
      await server.core.applyConfig(configs);
    } catch (e) {
      await server.close();
      throw e;
    }
    return server;
  }

  /** The store versions are kept in. */
  get store(): ModelStore {
    return this.core.store;
  }

  predict<O extends string = string>(request: PredictRequest, options?: PredictOptions): Promise<PredictResponse<O>> {
    // O is the caller's naming of the signature's outputs (ModelServer.predict); the answer has the signature's keys.
    return this.prediction.predict(request, options) as Promise<PredictResponse<O>>;
  }

  async getModelStatus(model: string, version?: number): Promise<GetModelStatusResponse> {
    return this.core.getModelStatus(model, version);
  }

  /** getModelStatus, synchronously (this realm only). */
  getModelStatusNow(model: string, version?: number): GetModelStatusResponse {
    return this.core.getModelStatus(model, version);
  }

  async getModelMetadata(model: string, selector?: number | VersionSelector): Promise<GetModelMetadataResponse> {
    return this.prediction.getModelMetadata(model, selector);
  }

  async getSignature(model: string, selector?: VersionSelector, signatureName?: string): Promise<GetSignatureResponse> {
    return this.prediction.getSignature(model, selector, signatureName);
  }

  async metrics(): Promise<MetricsSnapshot> {
    return this.servingMetrics.snapshot();
  }

  async prometheusMetrics(): Promise<string> {
    return this.servingMetrics.prometheus();
  }

  async modelNames(): Promise<string[]> {
    return this.core.modelNames();
  }

  async versionLabels(model: string): Promise<VersionLabels> {
    return this.core.versionLabels(model);
  }

  async sourceState(model: string): Promise<SourceState> {
    return this.core.sourceState(model);
  }

  pollNow(model?: string): Promise<void> {
    return this.core.pollNow(model);
  }

  whenIdle(): Promise<void> {
    return this.core.whenIdle();
  }

  reloadConfig(options: Pick<ModelServerOptions, 'modelConfigList'>): Promise<void> {
    try {
      const configs = normalizeModelConfigList(options?.modelConfigList);
      for (const config of configs) batchingParametersFor(this.options, config); // INVALID_ARGUMENT before any change
      return this.core.applyConfig(configs);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  close(): Promise<void> {
    return this.core.close();
  }
}

function defaultStore(): ModelStore {
  return typeof indexedDB !== 'undefined' ? new IndexedDbModelStore() : new MemoryModelStore();
}
