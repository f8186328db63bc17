// The ModelServer interface alone (types): what REST, gRPC and the worker client talk to.
import type { VersionLabels } from '../core/version-labels.js';
import type { MetricsSnapshot } from '../metrics/metrics-registry.js';
import type { BackendName } from '../runtime/backends.js';
import type { SourceState } from '../sources/model-source.js';
import type {
  GetModelMetadataResponse,
  GetModelStatusResponse,
  GetSignatureResponse,
  PredictOptions,
  PredictRequest,
  PredictResponse,
  VersionSelector,
} from './api-types.js';
import type { ModelServerOptions } from './model-server-options.js';
import type { ModelServerEventMap } from './version-state-event.js';

/**
 * A TF Serving model server for TF.js graph models. The same API whether it runs in this realm
 * (Node, a worker, or a page with `worker: false`) or in a Web Worker behind a client (the default in
 * browser pages). Fires `VersionStateEvent` (`statechange`, `start`, `loading`, `available`,
 * `unloading`, `end`), `DownloadProgressEvent` (`progress`), `TotalProgressEvent` (`totalprogress`),
 * `SourceErrorEvent` (`sourceerror`), `LoadFailureEvent` (`loadfailure`) and, in worker mode, `WorkerRestartEvent` (`workerrestart`):
 * `ModelServerEventMap` types each listener by its event type.
 */
export interface ModelServer extends EventTarget {
  addEventListener<K extends keyof ModelServerEventMap>(type: K, listener: (event: ModelServerEventMap[K]) => unknown, options?: boolean | AddEventListenerOptions): void;
  addEventListener(type: string, listener: EventListenerOrEventListenerObject | null, options?: boolean | AddEventListenerOptions): void;
  removeEventListener<K extends keyof ModelServerEventMap>(type: K, listener: (event: ModelServerEventMap[K]) => unknown, options?: boolean | EventListenerOptions): void;
  removeEventListener(type: string, listener: EventListenerOrEventListenerObject | null, options?: boolean | EventListenerOptions): void;
  /** Where the manager runs: here, or in a Web Worker. */
  readonly mode: 'local' | 'worker';
  /** The TF.js backend predictions run on. */
  readonly backend: BackendName;
  /**
   * Runs one prediction on the version the request picks; the version stays loaded until it finishes.
   * `options.entrypoint` labels it in the `request_latency` metric (TF Serving's `REST`/`GRPC`; default `local`).
   * `O` optionally names the signature's outputs for the types (`predict<'scores'>(…).outputs.scores`);
   * it is the caller's statement, not checked against the signature (`getSignature` says what is there).
   */
  predict<O extends string = string>(request: PredictRequest, options?: PredictOptions): Promise<PredictResponse<O>>;
  /** TF Serving's GetModelStatus: every version seen (newest first), or one version. */
  getModelStatus(model: string, version?: number): Promise<GetModelStatusResponse>;
  /** TF Serving's GetModelMetadata (signature_def) of an AVAILABLE version. */
  getModelMetadata(model: string, selector?: number | VersionSelector): Promise<GetModelMetadataResponse>;
  /**
   * One signature (default `serving_default`) of the version the selector picks now, as read at load:
   * inputs, outputs and the tf.Example parse spec. The REST and gRPC front ends read requests with it.
   */
  getSignature(model: string, selector?: VersionSelector, signatureName?: string): Promise<GetSignatureResponse>;
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

