// tfjs-serving: TF Serving's model lifecycle for TensorFlow.js. Public API: re-exports only (and the
// registration of the page-side worker client, so ModelServer.start can run the manager in a worker).
import './worker-client/register.js';

export { ModelServer, setWorkerModelServerFactory } from './server/model-server.js';
export type { WorkerModelServerFactory } from './server/model-server.js';
export { LocalModelServer } from './server/local-model-server.js';
export { WorkerModelServer, WorkerRestartEvent } from './worker-client/worker-model-server.js';
export type { ModelServerOptions, ModelConfig, AspiredVersionPolicyName, ModelLoading, ServerEventListeners, ServerEventType } from './server/model-server-options.js';
export type { SwapMode } from './server/model-server-options.js';
export type { WorkerMemory } from './worker-client/protocol.js';
export type {
  PredictRequest,
  PredictResponse,
  PredictOptions,
  GetModelStatusResponse,
  GetModelMetadataResponse,
  GetSignatureResponse,
  VersionSelector,
} from './server/api-types.js';
export { VersionStateEvent, DownloadProgressEvent, TotalProgressEvent, SourceErrorEvent, LoadFailureEvent } from './server/version-state-event.js';
export type {
  VersionStateEventInit,
  DownloadProgressEventInit,
  TotalProgressEventInit,
  SourceErrorEventInit,
  LoadFailureEventInit,
  ProgressPhase,
  ModelServerEventMap,
  ServerEventListener,
} from './server/version-state-event.js';

export { ServingError } from './core/status.js';
export type { Status, StatusCode } from './core/status.js';
export type { ServableId } from './core/servable-id.js';
export type { ManagerState, ServableState } from './core/servable-state.js';
export type { CanaryVersionPolicy, ServableVersionPolicy } from './core/servable-version-policy.js';
export type { CanarySplit } from './core/canary.js';
export type { VersionLabels } from './core/version-labels.js';

export type { TensorInput, TensorOutput, InputValue, NestedArray, TensorData, TypedArrayInput, TfTensorLike } from './runtime/tensor.js';
export type { TensorDType } from './runtime/dtypes.js';
export type { BackendName } from './runtime/backends.js';
export type { Servable, PredictResult, LoadTimings } from './runtime/servable.js';
export type { SignatureSpec, TensorSpec } from './runtime/signature.js';

export type { BatchingParameters, NormalizedBatchingParameters } from './batching/batching-parameters.js';
export { DEFAULT_BATCHING_PARAMETERS } from './batching/batching-parameters.js';
export type { MetricsSnapshot, MetricSnapshot, CounterSnapshot, GaugeSnapshot, HistogramSnapshot, ValueSample, HistogramSample, MetricLabels, MetricType } from './metrics/metrics-registry.js';
export { METRIC_NAMES } from './metrics/serving-metrics.js';

export type { ModelStore, StoredVersion, VersionFile, VersionWriter } from './storage/model-store.js';
export { MemoryModelStore } from './storage/memory-model-store.js';
export { IndexedDbModelStore } from './storage/indexed-db-model-store.js';

export type { ModelManifest, ManifestVersion, ManifestSignature } from './repository/manifest.js';
export type { SourceState, ModelSource, DownloadProgress } from './sources/model-source.js';

// The serving core, for building custom sources and loaders.
export { AspiredVersionsManager } from './core/aspired-versions-manager.js';
export type { AspiredVersion, AspiredVersionsManagerOptions } from './core/aspired-versions-manager.js';
export type { Loader, ResourceEstimate } from './core/loader.js';
export type { Source, AspiredVersionsCallback } from './core/source.js';
export type { ServableHandle } from './core/servable-handle.js';
export type { Clock } from './core/clock.js';
export type { AspiredVersionPolicy } from './core/aspired-version-policy.js';
export { availabilityPreservingPolicy } from './core/availability-preserving-policy.js';
export { resourcePreservingPolicy } from './core/resource-preserving-policy.js';
export { ServableStateMonitor } from './core/servable-state-monitor.js';
export { HttpSource } from './sources/http-source.js';
export { TfjsModelLoader } from './runtime/tfjs-model-loader.js';
export { registerSourceFactory } from './server/source-registry.js';
export type { SourceFactory, SourceFactoryOptions } from './server/source-registry.js';

// TF Serving's REST API over Fetch API objects (pages, Service Workers, Node).
export { handleRestRequest, httpStatusOf, DEFAULT_PROMETHEUS_PATH } from './rest/handler.js';
export type { RestOptions } from './rest/handler.js';
