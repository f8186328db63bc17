// tfjs-serving: TF Serving's model lifecycle for TensorFlow.js. Public API: re-exports only.

export { ModelServer } from './server/model-server.js';
export { LocalModelServer } from './server/local-model-server.js';
export type { ModelServerOptions, ModelConfig, AspiredVersionPolicyName } from './server/model-server-options.js';
export type { PredictRequest, PredictResponse, PredictOptions, GetModelStatusResponse, GetModelMetadataResponse, VersionSelector } from './server/api-types.js';
export { VersionStateEvent, DownloadProgressEvent, SourceErrorEvent } from './server/version-state-event.js';

export { ServingError } from './core/status.js';
export type { Status, StatusCode } from './core/status.js';
export type { ServableId } from './core/servable-id.js';
export type { ManagerState, ServableState } from './core/servable-state.js';
export type { ServableVersionPolicy } from './core/servable-version-policy.js';
export type { VersionLabels } from './core/version-labels.js';

export type { TensorInput, TensorOutput, InputValue, NestedArray, TensorData } from './runtime/tensor.js';
export type { TensorDType } from './runtime/dtypes.js';
export type { BackendName } from './runtime/backends.js';

export type { BatchingParameters, NormalizedBatchingParameters } from './batching/batching-parameters.js';
export { DEFAULT_BATCHING_PARAMETERS } from './batching/batching-parameters.js';
export { BatchScheduler } from './batching/batch-scheduler.js';
export type { Batch, BatchSchedulerOptions, TaskPiece } from './batching/batch-scheduler.js';
export { BatchingSession } from './batching/batching-session.js';
export type { BatchingMetricsSink, BatchingSessionOptions } from './batching/batching-session.js';
export { MetricsRegistry, Counter, Gauge, Histogram, exponentialBuckets, sanitizeMetricName, toPrometheusText } from './metrics/metrics-registry.js';
export type { MetricsSnapshot, MetricSnapshot, CounterSnapshot, GaugeSnapshot, HistogramSnapshot, ValueSample, HistogramSample, MetricLabels, MetricType } from './metrics/metrics-registry.js';
export { METRIC_NAMES, ServingMetrics } from './metrics/serving-metrics.js';

export type { ModelStore, StoredVersion, VersionFile, VersionWriter } from './storage/model-store.js';
export { MemoryModelStore } from './storage/memory-model-store.js';
export { IndexedDbModelStore } from './storage/indexed-db-model-store.js';

export type { ModelManifest, ManifestVersion } from './sources/manifest.js';
export type { SourceState, ModelSource, DownloadProgress } from './sources/model-source.js';

// The serving core, for building custom sources and loaders.
export { AspiredVersionsManager } from './core/aspired-versions-manager.js';
export type { AspiredVersion, AspiredVersionsManagerOptions } from './core/aspired-versions-manager.js';
export type { Loader, ResourceEstimate } from './core/loader.js';
export type { Source, AspiredVersionsCallback } from './core/source.js';
export type { ServableHandle } from './core/servable-handle.js';
export type { AspiredVersionPolicy } from './core/aspired-version-policy.js';
export { availabilityPreservingPolicy } from './core/availability-preserving-policy.js';
export { resourcePreservingPolicy } from './core/resource-preserving-policy.js';
export { ServableStateMonitor } from './core/servable-state-monitor.js';
export { HttpSource } from './sources/http-source.js';
export { TfjsModelLoader } from './runtime/tfjs-model-loader.js';

// TF Serving's REST API over Fetch API objects (pages, Service Workers, Node).
export { handleRestRequest, httpStatusOf, DEFAULT_PROMETHEUS_PATH } from './rest/handler.js';
export type { RestOptions } from './rest/handler.js';
