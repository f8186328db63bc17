// The browser bundle's entry (dist/browser/tfjs-serving.js): light on the page; the serving core and
// TF.js load in the worker (or on demand with `worker: false`). Registers the page-side worker client.
import './worker-client/register.js';

export { ModelServer } from './server/model-server.js';
export { WorkerRestartEvent } from './worker-client/worker-model-server.js';
export type { WorkerModelServer } from './worker-client/worker-model-server.js';
export type { ModelServerOptions, ModelConfig, AspiredVersionPolicyName, ServerEventListeners, ServerEventType, SwapMode } from './server/model-server-options.js';
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
export type { ManagerState } from './core/servable-state.js';
export type { CanaryVersionPolicy, ServableVersionPolicy } from './core/servable-version-policy.js';
export type { CanarySplit } from './core/canary.js';
export type { TensorInput, TensorOutput, InputValue, NestedArray, TensorData, TypedArrayInput, TfTensorLike } from './runtime/tensor.js';
export type { BackendName } from './runtime/backends.js';
export type { SourceState, ModelSource, DownloadProgress } from './sources/model-source.js';
export type { MetricsSnapshot } from './metrics/metrics-registry.js';
export { handleRestRequest } from './rest/handler.js';
export { answerServiceWorkerRequests, registerRestServiceWorker } from './rest/service-worker-bridge.js';
