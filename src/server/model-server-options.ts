import type { CanarySplit } from '../core/canary.js';
import { validateCanary, validateUserId } from '../core/canary.js';
import type { BatchingParameters, NormalizedBatchingParameters } from '../batching/batching-parameters.js';
import { checkBatchingParameters, normalizeBatchingParameters } from '../batching/batching-parameters.js';
import type { ServableVersionPolicy } from '../core/servable-version-policy.js';
import { validateVersionPolicy } from '../core/servable-version-policy.js';
import { ServingError } from '../core/status.js';
import type { VersionLabels } from '../core/version-labels.js';
import { validateVersionLabels } from '../core/version-labels.js';
import type { BackendName } from '../runtime/backends.js';
import type { ModelStore } from '../storage/model-store.js';
import { decodePublicKey } from '../repository/manifest-signature.js';
import type { ServerEventListeners } from './version-state-event.js';

/** One served model, shaped like TF Serving's `ModelConfig`. */
export interface ModelConfig {
  /** The model's name in requests and URLs. */
  name: string;
  /**
   * URL of the model's directory in a repository (it holds `manifest.json`); relative URLs resolve
   * against the page. In Node it may also be a local directory (a path or `file:` URL) laid out like
   * TF Serving's base_path: numeric version directories (`00000123` is 123) holding a TF.js graph model
   * (`model.json`) or a SavedModel (`saved_model.pb`, converted when imported), polled every
   * `pollIntervalMs` (default 1000 for directories) by the FileSystemSource.
   */
  basePath: string;
  /** Only `tfjs` (TF.js graph models). */
  modelPlatform?: 'tfjs';
  /** Which versions to serve. Default `{latest: {numVersions: 1}}`. */
  modelVersionPolicy?: ServableVersionPolicy;
  /** Labels such as `{stable: 1, canary: 2}`; each may point only at an AVAILABLE version. */
  versionLabels?: VersionLabels;
  /**
   * This model's batching parameters, field by field over the server-wide `batchingParameters` (like
   * TF Serving's per-model `batching_params.pbtxt`). Used only with `enableBatching`.
   */
  batchingParameters?: BatchingParameters;
  /**
   * Base64 raw Ed25519 public keys (`generateSigningKey().publicKey`): the model's manifests must be
   * signed by one of them (`publish --signing_key`), else they are refused with PERMISSION_DENIED and
   * what serves keeps serving. List the old and the new key while rotating. Manifest repositories only.
   */
  trustedPublicKeys?: string[];
  /**
   * A canary rollout (like KServe's `canaryTrafficPercent`): requests that name neither a version nor a
   * label go to `version` for `percent` of users, sticky per user (`predict(…, {userId})`, the REST
   * header `X-Tfjs-Serving-User`, or the id a browser keeps in IndexedDB), and to the stable version —
   * the `stable` label, else the newest AVAILABLE other version — for the others. The canary is kept
   * loaded beside what `modelVersionPolicy` picks among the other versions. Until it is AVAILABLE
   * everyone gets the stable version. Promote: remove `canary` (under `latest` the canary is the newest,
   * so it becomes the default); roll back: `percent: 0` (everyone at once, the canary stays loaded), or
   * remove it under a `specific` policy that does not list it (it unloads). Wins over a manifest's `canary`.
   */
  canary?: CanarySplit;
}

export type { ServerEventListeners, ServerEventType } from './version-state-event.js';

/** When versions are loaded: as soon as they are stored, or when a request asks for their model. */
export type ModelLoading = 'eager' | 'on-demand';

export type AspiredVersionPolicyName = 'availability-preserving' | 'resource-preserving';

/** Everything `ModelServer.start` takes. Only `modelConfigList` is required. */
export interface ModelServerOptions {
  /** The models to serve (TF Serving's `model_config_list`). */
  modelConfigList: ModelConfig[];
  /** Where versions are stored: IndexedDB in browsers, in memory elsewhere unless given (e.g. a FileSystemModelStore). */
  store?: ModelStore;
  /** How often each manifest is polled, in ms. 0 polls once at start. Default 60000. */
  pollIntervalMs?: number;
  /** Swap order: load-then-unload (default) or unload-then-load. */
  aspiredVersionPolicy?: AspiredVersionPolicyName;
  /** Budget for all loaded versions, each estimated at 1.2 × its files' bytes. Default: unlimited. */
  totalModelMemoryLimitBytes?: number;
  /**
   * `eager` (default, TF Serving's way): every aspired version is loaded as soon as it is stored, and
   * what does not fit `totalModelMemoryLimitBytes` fails with RESOURCE_EXHAUSTED. `on-demand`: a model is
   * loaded when a request first asks for it (the request waits, bounded by its deadline), and the least
   * recently used loaded models are unloaded, after their in-flight requests, when another must fit the
   * budget. Sources still poll and download every model; only loading is lazy. See README "On-demand loading".
   */
  modelLoading?: ModelLoading;
  /** Retries after a failed load. Default 5. */
  maxNumLoadRetries?: number;
  /** Wait between load retries in ms. Default 60000. */
  loadRetryIntervalMs?: number;
  /** Loads that may run at once. Default 1. */
  numLoadThreads?: number;
  /**
   * Default true: `start()` (and `reloadConfig`) resolve once every aspired version is AVAILABLE or
   * out of retries. false: once each one's first load attempt ended (AVAILABLE, failed, or waiting to
   * retry; `loadfailure` events tell each failed attempt), so a version retrying for minutes does not
   * hold up the server (`serve` runs so).
   */
  waitForLoadRetries?: boolean;
  /** Let a new label point at a version that is not AVAILABLE yet. Default false. */
  allowVersionLabelsForUnavailableModels?: boolean;
  /**
   * TF Serving's `--fail_if_no_model_versions_found`: `start()` (and `reloadConfig` for the models it
   * adds) rejects with NOT_FOUND when a model has no version after its first poll, naming the model and
   * what its source reported (e.g. the manifest's HTTP 404). Default false: the server starts and keeps polling.
   */
  failIfNoModelVersionsFound?: boolean;
  /** TF.js backends to try, in order. Default webgpu, wasm, cpu in browsers; wasm, cpu in Node. */
  backends?: BackendName[];
  /** URL prefix of the TF.js WASM binaries. */
  wasmPaths?: string;
  /** Warm each version up before it becomes AVAILABLE. Default true. */
  enableModelWarmup?: boolean;
  /**
   * Batch concurrent predictions of a model version and signature into one run, like TF Serving's
   * `--enable_batching`. Default false.
   */
  enableBatching?: boolean;
  /** Server-wide batching parameters (TF Serving's `--batching_parameters_file`); TF Serving's defaults where left out. */
  batchingParameters?: BatchingParameters;
  /** Timeout of each HTTP request of the sources, in ms. Default 30000. */
  requestTimeoutMs?: number;
  /** The fetch to use (default: the global one). Not available with `worker` (functions cannot cross). */
  fetch?: typeof fetch;
  /**
   * Run the manager in a module Web Worker and talk to it through a client. Default: true in browser
   * pages, false elsewhere. `store` and `fetch` must be left out in worker mode (the worker makes its own
   * IndexedDB store).
   */
  worker?: boolean;
  /**
   * Event listeners attached before anything loads, so the first download's `progress` and the first
   * versions' `statechange`/`available` events are seen too (after `start` resolves, use addEventListener).
   */
  listeners?: ServerEventListeners;
  /**
   * Worker mode: transfer the input typed arrays' buffers to the worker instead of copying them (no
   * copy, but they are detached after the call: the caller's arrays become empty). Default false: the
   * inputs are copied and the caller's arrays stay usable. `tf.Tensor` inputs are always copied.
   */
  transferInputs?: boolean;
  /**
   * Worker mode: how a new version replaces a loaded one. `in-place` (default): the worker's manager
   * loads it beside the old one and unloads the old one (TF Serving's availability-preserving swap), but
   * the worker's WASM memory never shrinks, so it keeps the high-water mark of every version it held.
   * `fresh-worker`: the worker downloads the new version into the store but does not load it; a fresh
   * worker starts, loads every model from the store, and once its versions are AVAILABLE and warmed,
   * requests move to it; the old worker finishes its requests in flight and is terminated, giving its
   * memory back. A fresh worker that fails to load is terminated and the old one keeps serving. A swap of
   * any model moves the whole server (all models) to the fresh worker. Needs worker mode.
   */
  swapMode?: SwapMode;
  /**
   * `swapMode: 'fresh-worker'`: how long a fresh worker may take to start and have its versions
   * AVAILABLE and warmed. Past it the fresh worker is terminated, the new versions end with
   * DEADLINE_EXCEEDED and the serving worker keeps serving. Default 300000 (5 minutes).
   */
  freshWorkerStartTimeoutMs?: number;
  /**
   * Worker mode: how many workers run predictions (default 1, at most 16). Above 1, each extra worker is
   * a whole server loading the same models from the same store (each model's memory once per worker),
   * and each prediction goes to the worker with the fewest requests in flight: on wasm or cpu, N workers
   * use N cores. Status, metadata, events and REST stay with the first worker; metrics are summed.
   * Cannot be combined with `swapMode: 'fresh-worker'`.
   */
  inferenceWorkers?: number;
  /** URL of the worker script (default: `tfjs-serving.worker.js` beside the module). */
  workerUrl?: string | URL;
  /**
   * The user this server's requests are assigned to canaries as, when a request gives no `userId`.
   * Default: in browsers (page or worker), a random id made once and kept in IndexedDB, so a user keeps
   * their version across reloads; in Node none: each request without a user id is assigned at random.
   */
  userId?: string;
}

export const DEFAULT_FRESH_WORKER_START_TIMEOUT_MS = 300_000;

/** Checks `freshWorkerStartTimeoutMs`: a positive number of milliseconds (INVALID_ARGUMENT names the value). */
export function checkFreshWorkerStartTimeout(value: unknown): number {
  if (value === undefined) return DEFAULT_FRESH_WORKER_START_TIMEOUT_MS;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new ServingError('INVALID_ARGUMENT', `freshWorkerStartTimeoutMs must be a positive number of milliseconds, got ${JSON.stringify(value)}`);
  }
  return value;
}

/** How a worker-mode server replaces a loaded version (`ModelServerOptions.swapMode`). */
export type SwapMode = 'in-place' | 'fresh-worker';

/**
 * Checks `swapMode`; INVALID_ARGUMENT names the value. `fresh-worker` needs the manager in a worker
 * (`inWorkerMode`), since only a whole worker's memory can be given back.
 */
export function checkSwapMode(swapMode: unknown, inWorkerMode: boolean): SwapMode {
  if (swapMode === undefined) return 'in-place';
  if (swapMode !== 'in-place' && swapMode !== 'fresh-worker') {
    throw new ServingError('INVALID_ARGUMENT', `swapMode must be "in-place" or "fresh-worker", got ${JSON.stringify(swapMode)}`);
  }
  if (swapMode === 'fresh-worker' && !inWorkerMode) {
    throw new ServingError('INVALID_ARGUMENT', 'swapMode "fresh-worker" needs worker mode (the manager in a worker whose memory is given back when it is terminated); leave it out with worker: false');
  }
  return swapMode;
}

export interface NormalizedModelConfig {
  readonly name: string;
  readonly basePath: string;
  readonly modelVersionPolicy: ServableVersionPolicy;
  readonly versionLabels: VersionLabels;
  /** The model's own batching parameters (checked; merged with the server's at use). */
  readonly batchingParameters?: BatchingParameters;
  readonly trustedPublicKeys?: readonly string[];
  readonly canary?: CanarySplit;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

/** Checks a config list; INVALID_ARGUMENT names the model and the field. */
export function normalizeModelConfigList(list: unknown): NormalizedModelConfig[] {
  if (!Array.isArray(list)) throw new ServingError('INVALID_ARGUMENT', `modelConfigList must be a list of {name, basePath, …}, got ${typeof list}`);
  const seen = new Set<string>();
  return list.map((c: unknown, i: number) => {
    const config = c as Partial<ModelConfig> | null; // checked field by field below
    if (typeof config !== 'object' || config === null) throw new ServingError('INVALID_ARGUMENT', `modelConfigList[${i}] must be an object`);
    if (typeof config.name !== 'string' || !NAME.test(config.name)) {
      throw new ServingError('INVALID_ARGUMENT', `modelConfigList[${i}].name must match [A-Za-z0-9][A-Za-z0-9_.-]*, got ${JSON.stringify(config.name)}`);
    }
    if (seen.has(config.name)) throw new ServingError('INVALID_ARGUMENT', `model ${JSON.stringify(config.name)} is configured twice`);
    seen.add(config.name);
    if (typeof config.basePath !== 'string' || config.basePath === '') {
      throw new ServingError('INVALID_ARGUMENT', `modelConfigList[${i}] (${config.name}): basePath must be a non-empty URL string`);
    }
    if (config.modelPlatform !== undefined && config.modelPlatform !== 'tfjs') {
      throw new ServingError('INVALID_ARGUMENT', `model ${config.name}: modelPlatform ${JSON.stringify(config.modelPlatform)} is not supported; only "tfjs"`);
    }
    return {
      name: config.name,
      basePath: config.basePath,
      modelVersionPolicy: validateVersionPolicy(config.modelVersionPolicy, config.name),
      versionLabels: validateVersionLabels(config.versionLabels, config.name),
      ...(config.batchingParameters !== undefined
        ? { batchingParameters: checkBatchingParameters(config.batchingParameters, `model ${config.name}: batchingParameters`) }
        : {}),
      ...(config.trustedPublicKeys !== undefined ? { trustedPublicKeys: checkTrustedPublicKeys(config.trustedPublicKeys, config.name) } : {}),
      ...(config.canary !== undefined ? { canary: checkCanary(config.canary, config.name, config.versionLabels) } : {}),
    };
  });
}

/** A model's canary: valid, and not the version its `stable` label names. */
function checkCanary(canary: unknown, model: string, labels: unknown): CanarySplit {
  const split = validateCanary(canary, `model ${model}`);
  const stable = validateVersionLabels(labels, model).stable;
  if (stable === split.version) {
    throw new ServingError('INVALID_ARGUMENT', `model ${model}: canary.version ${split.version} is also the stable label's version; a canary needs another version to compare with`);
  }
  return split;
}

/** Checks the server-wide default user id (`userId` option). */
export function checkDefaultUserId(options: Pick<ModelServerOptions, 'userId'>): string | undefined {
  return validateUserId(options.userId, 'ModelServer.start options');
}

function checkTrustedPublicKeys(keys: unknown, model: string): string[] {
  const where = `model ${model}: trustedPublicKeys`;
  if (!Array.isArray(keys) || keys.length === 0 || keys.some((k) => typeof k !== 'string')) {
    throw new ServingError('INVALID_ARGUMENT', `${where} must be a non-empty list of base64 Ed25519 public keys`);
  }
  for (const k of keys as string[]) decodePublicKey(k, where); // every element was just checked to be a string
  return [...(keys as string[])]; // checked above: a list of strings
}

/**
 * The batching parameters of a model, or undefined when batching is off: the server's
 * `batchingParameters` with the model's over them, defaults filled in. INVALID_ARGUMENT names the field.
 */
export function batchingParametersFor(
  options: Pick<ModelServerOptions, 'enableBatching' | 'batchingParameters'>,
  config?: Pick<NormalizedModelConfig, 'name' | 'batchingParameters'>,
): NormalizedBatchingParameters | undefined {
  if (options.enableBatching !== undefined && typeof options.enableBatching !== 'boolean') {
    throw new ServingError('INVALID_ARGUMENT', `enableBatching must be true or false, got ${JSON.stringify(options.enableBatching)}`);
  }
  if (!options.enableBatching) return undefined;
  return normalizeBatchingParameters(
    options.batchingParameters,
    config?.batchingParameters,
    'batchingParameters',
    config?.batchingParameters ? `model ${config.name}: batchingParameters` : 'batchingParameters',
  );
}

/** Checks `modelLoading`; INVALID_ARGUMENT names the value and the two accepted. */
export function checkModelLoading(value: unknown): ModelLoading {
  if (value === undefined || value === 'eager') return 'eager';
  if (value === 'on-demand') return 'on-demand';
  throw new ServingError('INVALID_ARGUMENT', `modelLoading must be "eager" or "on-demand", got ${JSON.stringify(value)}`);
}
