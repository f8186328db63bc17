import { ServingError } from '../core/status.js';
import type { VersionLabels } from '../core/version-labels.js';
import type { MetricsSnapshot } from '../metrics/metrics-registry.js';
import type { RestOptions } from '../rest/handler.js';
import { setRestEndpoint } from '../rest/rest-endpoint.js';
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
import { normalizeModelConfigList } from '../server/model-server-options.js';
import type { SourceState } from '../sources/model-source.js';
import { decodeEvent } from './event-wire.js';
import type { ClientMessage, MethodArgs, MethodResult, SerializedResponse, ServerMethod, WorkerMessage, WorkerStartOptions } from './protocol.js';
import { transferablesOf } from './transfer.js';
import type { DeathOutcome } from './worker-supervisor.js';
import { RESTART_WINDOW_MS, WorkerSupervisor } from './worker-supervisor.js';

declare const __TFJS_SERVING_BUNDLED__: boolean | undefined;

/** The worker script beside this module in the browser bundle, or in dist/worker/ of the package. */
function defaultWorkerUrl(): URL {
  const bundled = typeof __TFJS_SERVING_BUNDLED__ !== 'undefined' && __TFJS_SERVING_BUNDLED__;
  return new URL(/* @vite-ignore */ bundled ? './tfjs-serving.worker.js' : '../../worker/tfjs-serving.worker.js', import.meta.url);
}

interface Pending {
  resolve(value: unknown): void;
  reject(error: ServingError): void;
}

/** Fired when the worker died and a new one took over (`workerrestart`). */
export class WorkerRestartEvent extends Event {
  constructor(readonly reason: string) {
    super('workerrestart');
  }
}

/**
 * A ModelServer whose manager runs in a module Web Worker. Every method crosses as one typed `call`
 * (`protocol.ts`) with an id; input and output tensors move as transferred ArrayBuffers — the typed
 * arrays of a request's inputs are detached after the call unless `transferInputs: false`. If the
 * worker dies (an uncaught error, GPU device lost), calls in flight fail with UNAVAILABLE and the
 * WorkerSupervisor starts a new worker, which loads what the IndexedDB store holds, and serving goes on.
 */
export class WorkerModelServer extends EventTarget implements ModelServer {
  readonly mode = 'worker' as const;
  private readonly supervisor: WorkerSupervisor;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private ready: Promise<void> = Promise.resolve();
  private startOptions: WorkerStartOptions;
  private closed = false;
  /** Set when workers keep dying: every call fails with this, no more restarts. */
  private broken: string | undefined;
  private backendName: BackendName = 'cpu';

  private constructor(
    options: WorkerStartOptions,
    workerUrl: URL,
    private readonly transferInputs: boolean,
    listeners: ModelServerOptions['listeners'],
  ) {
    super();
    this.startOptions = options;
    for (const [type, listener] of Object.entries(listeners ?? {})) if (listener) this.addEventListener(type, listener);
    this.supervisor = new WorkerSupervisor(workerUrl, {
      message: (msg) => this.onMessage(msg),
      death: (reason, outcome) => this.onDeath(reason, outcome),
    });
    this.sendStart();
    setRestEndpoint(this, (request, options) => this.handleRest(request, options));
  }

  static async start(options: ModelServerOptions): Promise<WorkerModelServer> {
    if (typeof options !== 'object' || options === null) throw new ServingError('INVALID_ARGUMENT', 'ModelServer.start needs an options object with a modelConfigList');
    if (options.store || options.fetch) {
      throw new ServingError('INVALID_ARGUMENT', 'store and fetch cannot cross to a worker: leave them out (the worker uses IndexedDB and its own fetch), or pass worker: false');
    }
    normalizeModelConfigList(options.modelConfigList); // fail here, with the caller's stack, not in the worker
    const { store: _s, fetch: _f, worker: _w, workerUrl, transferInputs, listeners, ...rest } = options;
    const url = workerUrl ? new URL(String(workerUrl), typeof location !== 'undefined' ? location.href : undefined) : defaultWorkerUrl();
    const client = new WorkerModelServer(rest, url, transferInputs ?? true, listeners);
    try {
      await client.ready;
    } catch (e) {
      client.closed = true;
      client.supervisor.stop();
      throw e;
    }
    return client;
  }

  get backend(): BackendName {
    return this.backendName;
  }

  /** How many times the worker was replaced after dying. */
  get workerRestarts(): number {
    return this.supervisor.restarts;
  }

  /**
   * Chaos testing of recovery: makes the worker fail as an uncaught exception would, or (on WebGPU)
   * lose its GPU device. Either way the client restarts the worker.
   */
  crashWorkerForTesting(how: 'throw' | 'lose-gpu-device' = 'throw', reason = 'crash requested by the client'): void {
    this.supervisor.post({ kind: 'crash', how, reason });
  }

  predict(request: PredictRequest, options?: PredictOptions): Promise<PredictResponse> {
    const transfer = this.transferInputs ? transferablesOf(request?.inputs) : [];
    return this.call('predict', [request, options], transfer);
  }

  getModelStatus(model: string, version?: number): Promise<GetModelStatusResponse> {
    return this.call('getModelStatus', [model, version]);
  }

  getModelMetadata(model: string, selector?: number | VersionSelector): Promise<GetModelMetadataResponse> {
    return this.call('getModelMetadata', [model, selector]);
  }

  getSignature(model: string, selector?: VersionSelector, signatureName?: string): Promise<GetSignatureResponse> {
    return this.call('getSignature', [model, selector, signatureName]);
  }

  async reloadConfig(options: Pick<ModelServerOptions, 'modelConfigList'>): Promise<void> {
    normalizeModelConfigList(options?.modelConfigList);
    await this.call('reloadConfig', [{ modelConfigList: options.modelConfigList }]);
    // A restarted worker must come back with the config in force.
    this.startOptions = { ...this.startOptions, modelConfigList: options.modelConfigList };
  }

  pollNow(model?: string): Promise<void> {
    return this.call('pollNow', [model]);
  }

  whenIdle(): Promise<void> {
    return this.call('whenIdle', []);
  }

  sourceState(model: string): Promise<SourceState> {
    return this.call('sourceState', [model]);
  }

  versionLabels(model: string): Promise<VersionLabels> {
    return this.call('versionLabels', [model]);
  }

  modelNames(): Promise<string[]> {
    return this.call('modelNames', []);
  }

  metrics(): Promise<MetricsSnapshot> {
    return this.call('metrics', []);
  }

  prometheusMetrics(): Promise<string> {
    return this.call('prometheusMetrics', []);
  }

  /**
   * Answers a TF Serving REST request in the worker, next to the servables and off the page's thread
   * (`answerServiceWorkerRequests` uses it for this client).
   */
  async handleRest(request: Request, options?: RestOptions): Promise<Response> {
    this.checkOpen();
    await this.ready;
    const body = request.method === 'GET' || request.method === 'HEAD' ? null : await request.arrayBuffer();
    const answer = (await this.request(
      { kind: 'rest', id: this.nextId++, request: { url: request.url, method: request.method, headers: [...request.headers], body }, options },
      body ? [body] : [],
    )) as SerializedResponse; // the host answers a RestMessage with a SerializedResponse
    return new Response(answer.body, { status: answer.status, headers: answer.headers.map(([k, v]): [string, string] => [k, v]) });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.request({ kind: 'close', id: this.nextId++ }).catch(() => undefined);
    this.closed = true;
    this.supervisor.stop();
    this.failPending('the server was closed');
  }

  /** One method of the ModelServer, run in the worker; typed from the interface itself. */
  private async call<M extends ServerMethod>(method: M, args: MethodArgs<M>, transfer: Transferable[] = []): Promise<MethodResult<M>> {
    this.checkOpen();
    await this.ready;
    const value = await this.request({ kind: 'call', id: this.nextId++, method, args }, transfer);
    return value as MethodResult<M>; // the host answers a call with what the server's own method resolved to
  }

  private checkOpen(): void {
    if (this.broken) throw new ServingError('UNAVAILABLE', this.broken);
    if (this.closed) throw new ServingError('FAILED_PRECONDITION', 'the server is closed');
  }

  private sendStart(): void {
    this.ready = this.request({ kind: 'start', id: this.nextId++, options: this.startOptions }).then(() => undefined);
  }

  private onMessage(msg: WorkerMessage): void {
    switch (msg.kind) {
      case 'ready':
        this.supervisor.markStarted();
        this.backendName = msg.backend;
        this.settle(msg.id, (p) => p.resolve(undefined));
        return;
      case 'result':
        this.settle(msg.id, (p) => p.resolve(msg.value));
        return;
      case 'error':
        this.settle(msg.id, (p) => p.reject(new ServingError(msg.code, msg.message)));
        return;
      case 'event':
        for (const event of decodeEvent(msg.event)) this.dispatchEvent(event);
        return;
      case 'fatal':
        return; // the supervisor handles deaths
    }
  }

  private onDeath(reason: string, outcome: DeathOutcome): void {
    if (this.closed) return;
    switch (outcome) {
      case 'never-started':
        this.closed = true;
        this.failPending(`the tfjs-serving worker could not start from ${this.supervisor.url.href}: ${reason}`);
        return;
      case 'gave-up':
        this.broken = `the tfjs-serving worker died ${this.supervisor.recentDeaths} times within ${RESTART_WINDOW_MS / 1000} s and is not restarted again; last: ${reason}`;
        this.failPending(this.broken);
        return;
      case 'restarted':
        this.failPending(`${reason}; the request was lost and a new worker is starting`);
        this.dispatchEvent(new WorkerRestartEvent(reason));
        this.sendStart();
        this.ready.catch(() => undefined); // calls will see the error
        return;
    }
  }

  private failPending(message: string): void {
    const pending = [...this.pending.values()];
    this.pending.clear();
    for (const p of pending) p.reject(new ServingError('UNAVAILABLE', message));
  }

  private settle(id: number, fn: (p: Pending) => void): void {
    const p = this.pending.get(id);
    if (!p) return;
    this.pending.delete(id);
    fn(p);
  }

  private request(msg: ClientMessage & { id: number }, transfer: Transferable[] = []): Promise<unknown> {
    return new Promise((resolve, reject) => {
      this.pending.set(msg.id, { resolve, reject });
      try {
        this.supervisor.post(msg, transfer);
      } catch (e) {
        this.pending.delete(msg.id);
        reject(ServingError.from(e, 'INVALID_ARGUMENT', 'the request cannot be sent to the worker: '));
      }
    });
  }
}
