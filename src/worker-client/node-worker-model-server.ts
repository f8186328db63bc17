// `serve`'s ModelServer in Node: the serving core runs in a worker_threads thread (WorkerHost, as the
// browser's worker mode), so a model computing for seconds never holds up the HTTP thread.
import { ServingError } from '../core/status.js';
import type { VersionLabels } from '../core/version-labels.js';
import type { MetricsSnapshot } from '../metrics/metrics-registry.js';
import type { BackendName } from '../runtime/backends.js';
import type {
  GetModelMetadataResponse,
  GetModelStatusResponse,
  GetSignatureResponse,
  PredictOptions,
  PredictRequest,
  PredictResponse,
  VersionSelector,
} from '../server/api-types.js';
import type { ModelServer } from '../server/model-server.js';
import type { ModelServerOptions } from '../server/model-server-options.js';
import { ServerEventTarget, VersionStateEvent, WorkerRestartEvent, addServerListeners } from '../server/version-state-event.js';
import type { SourceState } from '../sources/model-source.js';
import { WIRE_EVENT_TYPES, decodeEvent, encodeEvent } from './event-wire.js';
import { LatestAnswer } from './latest-answer.js';
import type { NodeWorkerData } from './node-worker-spawner.js';
import { nodeWorkerEntryUrl, nodeWorkerSpawner } from './node-worker-spawner.js';
import { StatusMirror } from './status-mirror.js';
import { WorkerModelServer } from './worker-model-server.js';

/** The fallback snapshot is refreshed after predictions at most this often (rendering metrics costs the worker). */
const METRICS_REFRESH_MS = 100;
/** How long a metrics scrape waits for the worker before it is answered with the last snapshot. */
export const METRICS_WAIT_MS = 10;

/**
 * A ModelServer whose core runs in a Node worker_threads thread. Predictions, metadata and config
 * calls cross to the thread (a WorkerModelServer over `nodeWorkerSpawner`; outputs and, with
 * `transferInputs`, inputs move as transferred ArrayBuffers). What probes ask is answered here, on
 * the caller's thread, while the worker computes: `getModelStatus` from a mirror of the worker's
 * state events, `metrics`/`prometheusMetrics` from the worker when it answers within
 * `METRICS_WAIT_MS`, else from the last snapshot it gave. A predict's deadline is kept here too: it
 * is answered DEADLINE_EXCEEDED at the deadline even while the worker is busy, and the worker drops
 * it unrun if it has not started. A worker that dies is restarted (WorkerSupervisor); the new one
 * loads the versions again.
 */
export class NodeWorkerModelServer extends ServerEventTarget implements ModelServer {
  readonly mode = 'worker' as const;
  private readonly prometheusText: LatestAnswer<string>;
  private readonly metricsSnapshot: LatestAnswer<MetricsSnapshot>;

  private constructor(
    private readonly inner: WorkerModelServer,
    private readonly status: StatusMirror,
  ) {
    super();
    this.prometheusText = new LatestAnswer(() => inner.prometheusMetrics(), METRICS_WAIT_MS, METRICS_REFRESH_MS);
    this.metricsSnapshot = new LatestAnswer(() => inner.metrics(), METRICS_WAIT_MS, METRICS_REFRESH_MS);
  }

  /**
   * Starts the worker thread and its server; resolves as `LocalModelServer.start` does (every model's
   * aspired versions AVAILABLE or failed). `store`, `fetch` and `worker` cannot be passed (they do not
   * cross to a thread): `storeDir` keeps versions in a FileSystemModelStore there.
   */
  static async start(options: ModelServerOptions, data: NodeWorkerData = {}): Promise<NodeWorkerModelServer> {
    if (typeof options !== 'object' || options === null) throw new ServingError('INVALID_ARGUMENT', 'NodeWorkerModelServer.start needs an options object with a modelConfigList');
    const { listeners, ...rest } = options;
    // Every event from the first one is mirrored and reaches the `listeners` live: while the worker
    // starts they hear it on a stand-in target, then on the client.
    const status = new StatusMirror();
    const starting = new ServerEventTarget();
    addServerListeners(starting, listeners);
    let client: NodeWorkerModelServer | undefined;
    const relay = (e: Event) => relayEvent(e, status, client ?? starting);
    const relayed = Object.fromEntries([...WIRE_EVENT_TYPES, 'workerrestart'].map((type) => [type, relay]));
    const inner = await WorkerModelServer.start({ ...rest, workerUrl: nodeWorkerEntryUrl().href, listeners: relayed }, nodeWorkerSpawner(data));
    client = new NodeWorkerModelServer(inner, status);
    addServerListeners(client, listeners);
    await Promise.all([client.prometheusText.get(), client.metricsSnapshot.get()]);
    return client;
  }

  get backend(): BackendName {
    return this.inner.backend;
  }

  /** How many times the worker thread was replaced after dying. */
  get workerRestarts(): number {
    return this.inner.workerRestarts;
  }

  /** Chaos testing of recovery: the worker thread fails as an uncaught exception would, and is restarted. */
  crashWorkerForTesting(reason?: string): void {
    this.inner.crashWorkerForTesting('throw', reason);
  }

  /** Runs in the worker; once it is answered, the metrics snapshot kept for busy times is refreshed (at most every 100 ms). */
  predict(request: PredictRequest, options?: PredictOptions): Promise<PredictResponse> {
    const answer = this.inner.predict(request, options);
    const refresh = () => {
      this.prometheusText.refresh();
      this.metricsSnapshot.refresh();
    };
    answer.then(refresh, refresh);
    return answer;
  }

  /** From the mirror of the worker's state events: answered at once, even while the worker computes. */
  async getModelStatus(model: string, version?: number): Promise<GetModelStatusResponse> {
    return this.status.getModelStatus(model, version);
  }

  getModelMetadata(model: string, selector?: number | VersionSelector): Promise<GetModelMetadataResponse> {
    return this.inner.getModelMetadata(model, selector);
  }

  getSignature(model: string, selector?: VersionSelector, signatureName?: string): Promise<GetSignatureResponse> {
    return this.inner.getSignature(model, selector, signatureName);
  }

  reloadConfig(options: Pick<ModelServerOptions, 'modelConfigList'>): Promise<void> {
    return this.inner.reloadConfig(options);
  }

  pollNow(model?: string): Promise<void> {
    return this.inner.pollNow(model);
  }

  whenIdle(): Promise<void> {
    return this.inner.whenIdle();
  }

  sourceState(model: string): Promise<SourceState> {
    return this.inner.sourceState(model);
  }

  versionLabels(model: string): Promise<VersionLabels> {
    return this.inner.versionLabels(model);
  }

  modelNames(): Promise<string[]> {
    return this.inner.modelNames();
  }

  /** The worker's metrics, or its last snapshot when it does not answer within METRICS_WAIT_MS. */
  metrics(): Promise<MetricsSnapshot> {
    return this.metricsSnapshot.get();
  }

  /** The worker's Prometheus text, or its last one when it does not answer within METRICS_WAIT_MS. */
  prometheusMetrics(): Promise<string> {
    return this.prometheusText.get();
  }

  /** Closes the worker's server (in-flight requests finish), then ends the thread. */
  close(): Promise<void> {
    return this.inner.close();
  }
}

/**
 * Mirrors a state change, and fires the event again on `target` (a fresh Event: one cannot be
 * dispatched twice). A worker restart starts the mirror over.
 */
function relayEvent(e: Event, status: StatusMirror, target: EventTarget): void {
  if (e instanceof WorkerRestartEvent) {
    // What the dead worker had loaded is gone: status says what the new one brings up, not stale AVAILABLEs.
    status.clear();
    target.dispatchEvent(new WorkerRestartEvent(e.reason));
    return;
  }
  if (e instanceof VersionStateEvent) status.update(e);
  const wire = encodeEvent(e);
  if (wire) for (const event of decodeEvent(wire)) target.dispatchEvent(event);
}
