import type { VersionLabels } from '../core/version-labels.js';
import type { MetricsSnapshot } from '../metrics/metrics-registry.js';
import type { BackendName } from '../runtime/backends.js';
import type { SourceState } from '../sources/model-source.js';
import type { GetModelMetadataResponse, GetModelStatusResponse, PredictOptions, PredictRequest, PredictResponse, VersionSelector } from './api-types.js';
import type { ModelServerOptions } from './model-server-options.js';

/**
 * A TF Serving model server for TF.js graph models. The same API whether it runs in this realm
 * (Node, a worker, or a page with `worker: false`) or in a Web Worker behind a client (the default in
 * browser pages). Fires `VersionStateEvent` (`statechange`, `start`, `loading`, `available`,
 * `unloading`, `end`), `DownloadProgressEvent` (`progress`) and `SourceErrorEvent` (`sourceerror`).
 */
export interface ModelServer extends EventTarget {
  /** Where the manager runs: here, or in a Web Worker. */
  readonly mode: 'local' | 'worker';
  /** The TF.js backend predictions run on. */
  readonly backend: BackendName;
  /**
   * Runs one prediction on the version the request picks; the version stays loaded until it finishes.
   * `options.entrypoint` labels it in the `request_latency` metric (TF Serving's `REST`/`GRPC`; default `local`).
   */
  predict(request: PredictRequest, options?: PredictOptions): Promise<PredictResponse>;
  /** TF Serving's GetModelStatus: every version seen (newest first), or one version. */
  getModelStatus(model: string, version?: number): Promise<GetModelStatusResponse>;
  /** TF Serving's GetModelMetadata (signature_def) of an AVAILABLE version. */
  getModelMetadata(model: string, selector?: number | VersionSelector): Promise<GetModelMetadataResponse>;
  /**
   * Replaces the config list, like TF Serving's HandleReloadConfigRequest: removed models are
   * unloaded, added ones loaded (this waits for them), changed policies applied, then labels set.
   */
  reloadConfig(options: Pick<ModelServerOptions, 'modelConfigList'>): Promise<void>;
  /** Polls one model's repository (or all) now instead of waiting for the interval. */
  pollNow(model?: string): Promise<void>;
  /** Resolves when no load, unload or retry is in progress. */
  whenIdle(): Promise<void>;
  /** What the source of a model has seen: published and stored versions, last error, back-off. */
  sourceState(model: string): Promise<SourceState>;
  /** The labels of a model as they are now. */
  versionLabels(model: string): Promise<VersionLabels>;
  /** Names of the configured models. */
  modelNames(): Promise<string[]>;
  /**
   * A JSON snapshot of the server's metrics, keyed by TF Serving's metric names: requests by status
   * (`/tensorflow/serving/request_count`), request latency, batching queue latency and batch sizes,
   * model load and warmup latency, and the backend in use. See `MetricsSnapshot`.
   */
  metrics(): Promise<MetricsSnapshot>;
  /**
   * The same metrics in the Prometheus text exposition format (`# HELP`, `# TYPE`, `_bucket{le=…}`,
   * `_sum`, `_count`), names sanitized as TF Serving's exporter does: `:tensorflow:serving:request_count`.
   */
  prometheusMetrics(): Promise<string>;
  /** Stops polling, waits for in-flight requests, unloads everything. */
  close(): Promise<void>;
}

/** True where `ModelServer.start` runs the manager in a Web Worker unless told otherwise: browser pages. */
export function workerByDefault(): boolean {
  return typeof window !== 'undefined' && typeof Worker !== 'undefined';
}

export const ModelServer = {
  /**
   * Starts serving: picks a backend, loads what the store already holds (offline), polls each
   * repository once, and resolves when every model's aspired versions are AVAILABLE or failed.
   * In a browser page the manager runs in a module Web Worker (`worker: false` keeps it on this thread).
   * Rejects with FAILED_PRECONDITION if a version label points at a version that is not AVAILABLE.
   */
  async start(options: ModelServerOptions): Promise<ModelServer> {
    if (options?.worker ?? workerByDefault()) {
      const { WorkerModelServer } = await import('../../worker/worker-model-server.js');
      return WorkerModelServer.start(options);
    }
    const { LocalModelServer } = await import('./local-model-server.js');
    return LocalModelServer.start(options);
  },
};
