import type { VersionLabels } from '../src/core/version-labels.js';
import type { MetricsSnapshot } from '../src/metrics/metrics-registry.js';
import type { RestOptions } from '../src/rest/handler.js';
import { ServingError } from '../src/core/status.js';
import type { BackendName } from '../src/runtime/backends.js';
import type { SourceState } from '../src/sources/model-source.js';
import type { GetModelMetadataResponse, GetModelStatusResponse, PredictOptions, PredictRequest, PredictResponse, VersionSelector } from '../src/server/api-types.js';
import type { ModelServer } from '../src/server/model-server.js';
import type { ModelServerOptions } from '../src/server/model-server-options.js';
import { normalizeModelConfigList } from '../src/server/model-server-options.js';
import { DownloadProgressEvent, SourceErrorEvent, VersionStateEvent } from '../src/server/version-state-event.js';
import type { ClientMessage, SerializedResponse, ServerMethod, WorkerMessage, WorkerStartOptions } from './protocol.js';
import { transferablesOf } from './transfer.js';

/** File name of the worker script, next to this module in dist/ and in the browser bundle. */
const WORKER_FILE = './tfjs-serving.worker.js';
/** A worker that dies more often than this within the window is not restarted again. */
const MAX_RESTARTS_PER_WINDOW = 5;
const RESTART_WINDOW_MS = 60_000;

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
 * A ModelServer whose manager runs in a module Web Worker. Requests go over a typed protocol
 * (`worker/protocol.ts`) with ids; input and output tensors move as transferred ArrayBuffers — the
 * typed arrays of a request's inputs are detached after the call unless `transferInputs: false`.
 * If the worker dies (an uncaught error, GPU device lost), calls in flight fail with UNAVAILABLE and
 * a new worker starts, loading what the IndexedDB store holds, and serving goes on.
 */
export class WorkerModelServer extends EventTarget implements ModelServer {
  readonly mode = 'worker' as const;
  private worker!: Worker;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private ready!: Promise<void>;
  private startOptions: WorkerStartOptions;
  private closed = false;
  private restarts = 0;
  /** True once a worker answered `start`: before that a death is a failed start, not a crash. */
  private started = false;
  /** When workers died lately (ms), to stop restarting one that keeps dying. */
  private deaths: number[] = [];
  /** Set when workers keep dying: every call fails with this, no more restarts. */
  private broken: string | undefined;
  private backendName: BackendName = 'cpu';

  private constructor(
    options: WorkerStartOptions,
    private readonly workerUrl: URL,
    private readonly transferInputs: boolean,
  ) {
    super();
    this.startOptions = options;
  }

  static async start(options: ModelServerOptions): Promise<WorkerModelServer> {
    if (typeof options !== 'object' || options === null) throw new ServingError('INVALID_ARGUMENT', 'ModelServer.start needs an options object with a modelConfigList');
    if (options.store || options.fetch) {
      throw new ServingError('INVALID_ARGUMENT', 'store and fetch cannot cross to a worker: leave them out (the worker uses IndexedDB and its own fetch), or pass worker: false');
    }
    normalizeModelConfigList(options.modelConfigList); // fail here, with the caller's stack, not in the worker
    const { store: _s, fetch: _f, worker: _w, workerUrl, transferInputs, listeners, ...rest } = options;
    const url = workerUrl ? new URL(String(workerUrl), typeof location !== 'undefined' ? location.href : undefined) : new URL(/* @vite-ignore */ WORKER_FILE, import.meta.url);
    const client = new WorkerModelServer(rest, url, transferInputs ?? true);
    for (const [type, listener] of Object.entries(listeners ?? {})) if (listener) client.addEventListener(type, listener);
    client.spawn();
    try {
      await client.ready;
    } catch (e) {
      client.closed = true;
      client.worker.terminate();
      throw e;
    }
    return client;
  }

  get backend(): BackendName {
    return this.backendName;
  }

  /** How many times the worker was replaced after dying. */
  get workerRestarts(): number {
    return this.restarts;
  }

  /**
   * Chaos testing of recovery: makes the worker fail as an uncaught exception would, or (on WebGPU)
   * lose its GPU device. Either way the client restarts the worker.
   */
  crashWorkerForTesting(how: 'throw' | 'lose-gpu-device' = 'throw', reason = 'crash requested by the client'): void {
    this.post({ kind: 'crash', how, reason });
  }

  predict(request: PredictRequest, options?: PredictOptions): Promise<PredictResponse> {
    const transfer = this.transferInputs ? transferablesOf(request?.inputs) : [];
    return this.call('predict', options ? [request, options] : [request], transfer) as Promise<PredictResponse>;
  }

  /**
   * Answers a TF Serving REST request in the worker, where the version's files are (so classify and
   * regress read the converter's exact parse spec) and off the page's thread.
   */
  async handleRest(request: Request, options?: RestOptions): Promise<Response> {
    if (this.broken) throw new ServingError('UNAVAILABLE', this.broken);
    if (this.closed) throw new ServingError('FAILED_PRECONDITION', 'the server is closed');
    await this.ready;
    const body = request.method === 'GET' || request.method === 'HEAD' ? null : await request.arrayBuffer();
    const answer = (await this.request(
      { kind: 'rest', id: this.nextId++, request: { url: request.url, method: request.method, headers: [...request.headers], body }, options },
      body ? [body] : [],
    )) as SerializedResponse;
    return new Response(answer.body, { status: answer.status, headers: answer.headers as [string, string][] });
  }

  getModelStatus(model: string, version?: number): Promise<GetModelStatusResponse> {
    return this.call('getModelStatus', [model, version]) as Promise<GetModelStatusResponse>;
  }

  getModelMetadata(model: string, selector?: number | VersionSelector): Promise<GetModelMetadataResponse> {
    return this.call('getModelMetadata', [model, selector]) as Promise<GetModelMetadataResponse>;
  }

  async reloadConfig(options: Pick<ModelServerOptions, 'modelConfigList'>): Promise<void> {
    normalizeModelConfigList(options?.modelConfigList);
    await this.call('reloadConfig', [{ modelConfigList: options.modelConfigList }]);
    // A restarted worker must come back with the config in force.
    this.startOptions = { ...this.startOptions, modelConfigList: options.modelConfigList };
  }

  async pollNow(model?: string): Promise<void> {
    await this.call('pollNow', [model]);
  }

  async whenIdle(): Promise<void> {
    await this.call('whenIdle', []);
  }

  sourceState(model: string): Promise<SourceState> {
    return this.call('sourceState', [model]) as Promise<SourceState>;
  }

  versionLabels(model: string): Promise<VersionLabels> {
    return this.call('versionLabels', [model]) as Promise<VersionLabels>;
  }

  modelNames(): Promise<string[]> {
    return this.call('modelNames', []) as Promise<string[]>;
  }

  metrics(): Promise<MetricsSnapshot> {
    return this.call('metrics', []) as Promise<MetricsSnapshot>;
  }

  prometheusMetrics(): Promise<string> {
    return this.call('prometheusMetrics', []) as Promise<string>;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.request({ kind: 'close', id: this.nextId++ }).catch(() => undefined);
    this.closed = true;
    this.worker.terminate();
    this.failPending('the server was closed');
  }

  private spawn(): void {
    const worker = new Worker(this.workerUrl, { type: 'module', name: 'tfjs-serving' });
    this.worker = worker;
    worker.addEventListener('message', (e: MessageEvent<WorkerMessage>) => this.onMessage(worker, e.data));
    worker.addEventListener('error', (e) => {
      e.preventDefault();
      this.onWorkerDeath(worker, `the worker failed: ${e.message || 'it could not be loaded or threw'}`);
    });
    worker.addEventListener('messageerror', () => this.onWorkerDeath(worker, 'a message from the worker could not be read'));
    const id = this.nextId++;
    this.ready = this.request({ kind: 'start', id, options: this.startOptions }).then(() => undefined);
  }

  private onMessage(from: Worker, msg: WorkerMessage): void {
    if (from !== this.worker) return; // a dead worker's last words
    switch (msg.kind) {
      case 'ready':
        this.started = true;
        this.backendName = msg.backend;
        this.settle(msg.id, (p) => p.resolve(undefined));
        return;
      case 'result':
        this.settle(msg.id, (p) => p.resolve(msg.value));
        return;
      case 'error':
        this.settle(msg.id, (p) => p.reject(new ServingError(msg.code, msg.message)));
        return;
      case 'fatal':
        this.onWorkerDeath(from, msg.message);
        return;
      case 'event':
        if (msg.type === 'statechange') {
          for (const type of ['statechange', msg.state.toLowerCase()]) {
            this.dispatchEvent(new VersionStateEvent(type, msg.model, msg.version, msg.state, msg.status, msg.previousState, msg.isUpdate));
          }
        } else if (msg.type === 'progress') {
          this.dispatchEvent(new DownloadProgressEvent(msg.model, msg.version, msg.loadedBytes, msg.totalBytes));
        } else {
          this.dispatchEvent(new SourceErrorEvent(msg.model, msg.code, msg.message));
        }
        return;
    }
  }

  private onWorkerDeath(worker: Worker, reason: string): void {
    // One death can be told twice (the worker's own `fatal`, then its `error` event): count it once.
    if (worker !== this.worker || this.closed || this.broken) return;
    worker.terminate();
    if (!this.started) {
      // The first worker never came up (a wrong workerUrl, a script that fails to load): no restarts.
      this.closed = true;
      this.failPending(`the tfjs-serving worker could not start from ${this.workerUrl.href}: ${reason}`);
      return;
    }
    const now = Date.now();
    this.deaths = [...this.deaths.filter((t) => now - t < RESTART_WINDOW_MS), now];
    if (this.deaths.length > MAX_RESTARTS_PER_WINDOW) {
      this.broken = `the tfjs-serving worker died ${this.deaths.length} times within ${RESTART_WINDOW_MS / 1000} s and is not restarted again; last: ${reason}`;
      this.failPending(this.broken);
      return;
    }
    this.failPending(`${reason}; the request was lost and a new worker is starting`);
    this.restarts++;
    this.dispatchEvent(new WorkerRestartEvent(reason));
    this.spawn();
    this.ready.catch(() => undefined); // calls will see the error
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

  private async call(method: ServerMethod, args: unknown[], transfer: Transferable[] = []): Promise<unknown> {
    if (this.broken) throw new ServingError('UNAVAILABLE', this.broken);
    if (this.closed) throw new ServingError('FAILED_PRECONDITION', 'the server is closed');
    await this.ready;
    return this.request({ kind: 'call', id: this.nextId++, method, args }, transfer);
  }

  private request(msg: ClientMessage & { id: number }, transfer: Transferable[] = []): Promise<unknown> {
    return new Promise((resolve, reject) => {
      this.pending.set(msg.id, { resolve, reject });
      try {
        this.worker.postMessage(msg, transfer);
      } catch (e) {
        this.pending.delete(msg.id);
        reject(ServingError.from(e, 'INVALID_ARGUMENT', 'the request cannot be sent to the worker: '));
      }
    });
  }

  private post(msg: ClientMessage): void {
    this.worker.postMessage(msg);
  }
}
