import { ServingError } from '../core/status.js';
import type { VersionLabels } from '../core/version-labels.js';
import type { MetricsSnapshot } from '../metrics/metrics-registry.js';
import { toPrometheusText } from '../metrics/metrics-registry.js';
import { mergeSnapshots } from '../metrics/merge-snapshots.js';
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
import type { ModelConfig, ModelServerOptions } from '../server/model-server-options.js';
import { checkFreshWorkerStartTimeout, checkSwapMode, normalizeModelConfigList } from '../server/model-server-options.js';
import { ServerEventTarget, SourceErrorEvent, WorkerRestartEvent, addServerListeners } from '../server/version-state-event.js';
import { atDeadline, requestEnded } from '../runtime/servable.js';
import { isTfTensor, tensorInputOf } from '../runtime/tensor.js';
import type { SourceState } from '../sources/model-source.js';
import { decodeEvent } from './event-wire.js';
import { FreshWorkerSwap } from './fresh-worker-swap.js';
import { InferencePool, checkInferenceWorkers } from './inference-pool.js';
import type { MethodArgs, MethodResult, SerializedResponse, ServerMethod, UnbundledClientMessage, WorkerMemory, WorkerMessage, WorkerStartOptions } from './protocol.js';
import { transferablesOf } from './transfer.js';
import type { DeathOutcome, WorkerLike, WorkerSpawner } from './worker-supervisor.js';
import { RESTART_WINDOW_MS, WorkerSupervisor } from './worker-supervisor.js';

declare const __TFJS_SERVING_BUNDLED__: boolean | undefined;

const BUNDLED = typeof __TFJS_SERVING_BUNDLED__ !== 'undefined' && __TFJS_SERVING_BUNDLED__;

/**
 * The worker script: beside this module in the browser bundle (for messages: the bundled default is
 * started by `spawnBundledWorker`), or in dist/worker/ of the package.
 */
function defaultWorkerUrl(): URL {
  return BUNDLED ? new URL('tfjs-serving.worker.js', new URL(/* @vite-ignore */ './', import.meta.url)) : new URL(/* @vite-ignore */ '../../worker/tfjs-serving.worker.js', import.meta.url);
}

/** Said when the default worker of the unbundled build (the package's root import) cannot start in a page. */
const UNBUNDLED_HINT =
  " (this is the package's unbundled build, whose worker imports TF.js by package name: in a web app, import ModelServer from 'tfjs-serving/browser', the browser bundle, whose worker and WASM binaries bundlers ship and static servers find beside it)";

/**
 * The browser bundle's own worker, written the one way bundlers (Vite, webpack 5) recognize a
 * module worker: an app that bundles `tfjs-serving/browser` bundles the worker, with what it imports,
 * instead of copying one file of it. (The comment keeps this library's own build from doing it; the
 * minifier drops the comment.)
 */
const spawnBundledWorker: WorkerSpawner = () => new Worker(new URL(/* @vite-ignore */ './tfjs-serving.worker.js', import.meta.url), { type: 'module', name: 'tfjs-serving' });

interface Pending {
  resolve(value: unknown): void;
  reject(error: ServingError): void;
  /** The worker the request was sent to. */
  worker: WorkerLike;
}

export { WorkerRestartEvent };

/** The page's base URL: what a relative basePath means to the person who wrote it. */
function pageBase(): string | undefined {
  if (typeof document !== 'undefined') return document.baseURI;
  return typeof location !== 'undefined' ? location.href : undefined;
}

/**
 * The config list with relative basePaths resolved against the page (`document.baseURI`) here, before
 * it crosses: in the worker they would resolve against the worker script's URL.
 */
function resolveBasePaths(list: readonly ModelConfig[]): ModelConfig[] {
  const base = pageBase();
  return list.map((c) => {
    try {
      return { ...c, basePath: new URL(c.basePath, base).href };
    } catch {
      return c; // not a URL: the worker's source says so with the model's name
    }
  });
}

/** Inputs as they cross: `tf.Tensor`s become `{dtype, shape, data}` (copied), other values stay as given. */
function wireInputs(inputs: unknown): unknown {
  if (isTfTensor(inputs)) return tensorInputOf(inputs);
  if (typeof inputs !== 'object' || inputs === null || Array.isArray(inputs) || ArrayBuffer.isView(inputs)) return inputs;
  return Object.fromEntries(Object.entries(inputs).map(([k, v]) => [k, isTfTensor(v) ? tensorInputOf(v) : v]));
}

/**
 * A ModelServer whose manager runs in a module Web Worker. Every method crosses as one typed `call`
 * (`protocol.ts`) with an id; outputs move as transferred ArrayBuffers, inputs are copied (transferred,
 * and so detached, only with `transferInputs: true`). A predict's AbortSignal stays on the page: its
 * abort sends `cancel` for the call's id. Relative basePaths are resolved against the page. If the
 * worker dies (an uncaught error, GPU device lost), calls in flight fail with UNAVAILABLE and the
 * WorkerSupervisor starts a new worker, which loads what the IndexedDB store holds, and serving goes on.
 * With `swapMode: 'fresh-worker'` each version swap moves serving to a fresh worker (`FreshWorkerSwap`)
 * and the old one is terminated once its requests in flight are answered, giving its memory back.
 */
export class WorkerModelServer extends ServerEventTarget implements ModelServer {
  readonly mode = 'worker' as const;
  private readonly supervisor: WorkerSupervisor;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  /** How many of `pending` each worker has. */
  private readonly inFlight = new Map<WorkerLike, number>();
  private ready: Promise<void> = Promise.resolve();
  /** The serving worker answered its start (until it is restarted): calls are posted at once, not after a wait on `ready`. */
  private started = false;
  /** The worker is the unbundled build's default (the root import in a page): a failed start says which import to use. */
  private unbundledDefault = false;
  private startOptions: WorkerStartOptions;
  private closed = false;
  /** Set when workers keep dying: every call fails with this, no more restarts. */
  private broken: string | undefined;
  private backendName: BackendName = 'cpu';
  /** Source errors already logged on the page console (each distinct one once). */
  private readonly logged = new Set<string>();
  /** swapMode 'fresh-worker': moves serving to a fresh worker at each swap. */
  private readonly swap: FreshWorkerSwap | undefined;
  /** `inferenceWorkers` above 1: the workers beside the serving one that predictions are spread over. */
  private readonly pool: InferencePool | undefined;

  private constructor(
    options: WorkerStartOptions,
    workerUrl: URL,
    private readonly transferInputs: boolean,
    listeners: ModelServerOptions['listeners'],
    spawnWorker?: WorkerSpawner,
  ) {
    super();
    this.startOptions = options;
    addServerListeners(this, listeners);
    this.supervisor = new WorkerSupervisor(workerUrl, {
      message: (msg, from) => this.onMessage(msg, from),
      death: (reason, outcome) => this.onDeath(reason, outcome),
      besideDeath: (worker, reason) => {
        this.swap?.died(worker);
        if (this.pool?.has(worker)) {
          this.pool.drop(worker);
          console.warn(`tfjs-serving: an inference worker died and is left out: ${reason}`);
        }
        this.failPending(reason, worker);
      },
    }, spawnWorker);
    if (options.swapMode === 'fresh-worker') {
      this.swap = new FreshWorkerSwap(
        {
          supervisor: this.supervisor,
          startOptions: () => this.startOptions,
          request: (msg, to) => this.request(msg, [], to),
          pendingOn: (worker) => this.pendingOn(worker),
          failPendingOn: (worker, reason) => this.failPending(reason, worker),
          dispatch: (event) => this.dispatchEvent(event),
          moved: (backend) => {
            this.backendName = backend;
          },
        },
        () => this.nextId++,
        checkFreshWorkerStartTimeout(options.freshWorkerStartTimeoutMs),
      );
    }
    const workers = checkInferenceWorkers(options.inferenceWorkers, options.swapMode);
    if (workers > 1) {
      this.pool = new InferencePool(
        {
          supervisor: this.supervisor,
          request: (msg, to) => this.request(msg, [], to),
          pendingOn: (worker) => this.pendingOn(worker),
          nextId: () => this.nextId++,
        },
        workers - 1,
      );
    }
    this.sendStart();
    setRestEndpoint(this, (request, options) => this.handleRest(request, options));
  }

  /** `spawnWorker`: how the worker is started (default a module Web Worker; Node's `nodeWorkerSpawner` runs a worker_threads thread). */
  static async start(options: ModelServerOptions, spawnWorker?: WorkerSpawner): Promise<WorkerModelServer> {
    if (typeof options !== 'object' || options === null) throw new ServingError('INVALID_ARGUMENT', 'ModelServer.start needs an options object with a modelConfigList');
    if (options.store || options.fetch) {
      throw new ServingError('INVALID_ARGUMENT', 'store and fetch cannot cross to a worker: leave them out (the worker uses IndexedDB and its own fetch), or pass worker: false');
    }
    normalizeModelConfigList(options.modelConfigList); // fail here, with the caller's stack, not in the worker
    checkSwapMode(options.swapMode, true);
    checkFreshWorkerStartTimeout(options.freshWorkerStartTimeoutMs);
    checkInferenceWorkers(options.inferenceWorkers, options.swapMode);
    const { store: _s, fetch: _f, worker: _w, workerUrl, transferInputs, listeners, ...rest } = options;
    const url = workerUrl ? new URL(String(workerUrl), pageBase()) : defaultWorkerUrl();
    const spawn = spawnWorker ?? (!workerUrl && BUNDLED ? spawnBundledWorker : undefined);
    const client = new WorkerModelServer({ ...rest, modelConfigList: resolveBasePaths(rest.modelConfigList) }, url, transferInputs ?? false, listeners, spawn);
    client.unbundledDefault = !workerUrl && !spawnWorker && !BUNDLED;
    try {
      await client.ready;
      // The serving worker has downloaded what the store lacked: the others load from the store.
      await client.pool?.start(client.startOptions);
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

  /** swapMode 'fresh-worker': how many times serving moved to a fresh worker. */
  get freshWorkerSwaps(): number {
    return this.swap?.swaps ?? 0;
  }

  /** Workers predictions are spread over now (`inferenceWorkers`, less any that failed). */
  get inferenceWorkers(): number {
    return this.pool?.size ?? 1;
  }

  /** Workers alive now: the serving one, the other inference workers, a fresh one warming up, old ones finishing their requests. */
  get liveWorkers(): number {
    return this.supervisor.liveWorkers;
  }

  /** The serving worker's memory: its WASM heap bytes (on wasm) and `tf.memory()`. */
  async workerMemory(): Promise<WorkerMemory> {
    this.checkOpen();
    await this.ready;
    return (await this.request({ kind: 'memory', id: this.nextId++ })) as WorkerMemory; // the host answers a MemoryMessage with a WorkerMemory
  }

  /**
   * Chaos testing of recovery: makes the worker fail as an uncaught exception would, or (on WebGPU)
   * lose its GPU device. Either way the client restarts the worker.
   */
  crashWorkerForTesting(how: 'throw' | 'lose-gpu-device' = 'throw', reason = 'crash requested by the client'): void {
    this.supervisor.post({ kind: 'crash', how, reason });
  }

  predict<O extends string = string>(request: PredictRequest, options: PredictOptions = {}): Promise<PredictResponse<O>> {
    try {
      // The signal stays here (it cannot cross); the deadline crosses as an absolute Date.now() time.
      const { signal, timeoutMs, deadline, ...rest } = options ?? {};
      const limits = [deadline, typeof timeoutMs === 'number' ? Date.now() + timeoutMs : timeoutMs].filter((d) => d !== undefined);
      const ended = requestEnded({ signal });
      if (ended) return Promise.reject(ended);
      // wireInputs keeps every form of PredictRequest['inputs'] (tensors become TensorInputs).
      const wire = typeof request === 'object' && request !== null ? { ...request, inputs: wireInputs(request.inputs) as PredictRequest['inputs'] } : request;
      // tf.Tensors were copied into plain data above, so only the caller's own typed arrays are transferred.
      const transfer = this.transferInputs ? transferablesOf(request?.inputs) : [];
      const crossing: PredictOptions = limits.length > 0 ? { ...rest, deadline: Math.min(...(limits as number[])) } : rest; // a non-number is refused by the worker with its name
      const pool = this.pool;
      if (!pool) return this.call('predict', [wire, crossing], transfer, signal, crossing.deadline);
      // Picked when the call is sent (not now): calls made together see each other's load.
      let to: WorkerLike | undefined;
      const asked = typeof request === 'object' && request !== null ? request : undefined;
      const answer = this.call('predict', [wire, crossing], transfer, signal, crossing.deadline, () => (to = pool.pick(asked?.model, asked?.version)));
      // Another inference worker may not have a version the serving one has yet (it polls on its own):
      // once more on the serving worker (not with transferred inputs: they went with the first try).
      return answer.catch((e: unknown) => {
        if (!(e instanceof ServingError) || e.code !== 'NOT_FOUND' || !to || to === this.supervisor.worker || transfer.length > 0) throw e;
        return this.call('predict', [wire, crossing], [], signal, crossing.deadline);
      });
    } catch (e) {
      return Promise.reject(ServingError.from(e, 'INVALID_ARGUMENT', 'predict: '));
    }
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
    const modelConfigList = resolveBasePaths(options.modelConfigList);
    await this.call('reloadConfig', [{ modelConfigList }]);
    // A restarted worker must come back with the config in force.
    this.startOptions = { ...this.startOptions, modelConfigList };
    // The serving worker took it: so does every inference worker (one that refuses it is left out).
    await this.onMembers((to) => this.call('reloadConfig', [{ modelConfigList }], [], undefined, undefined, to), true);
  }

  /** Polls now; with swapMode 'fresh-worker' also waits for the swap the poll started, if any. */
  async pollNow(model?: string): Promise<void> {
    await this.call('pollNow', [model]);
    await this.onMembers((to) => this.call('pollNow', [model], [], undefined, undefined, to));
    await this.swap?.whenSettled();
  }

  /** Resolves when nothing loads, unloads or swaps (a fresh-worker swap included). */
  async whenIdle(): Promise<void> {
    await this.call('whenIdle', []);
    await this.onMembers((to) => this.call('whenIdle', [], [], undefined, undefined, to));
    await this.swap?.whenSettled();
  }

  sourceState(model: string): Promise<SourceState> {
    return this.call('sourceState', [model]);
  }

  versionLabels(model: string): Promise<VersionLabels> {
    return this.call('versionLabels', [model]);
  }

  /** The config in force on this side (start options, then each reloadConfig): answered without waiting for a busy worker. */
  async modelNames(): Promise<string[]> {
    return this.startOptions.modelConfigList.map((c) => c.name);
  }

  /** The metrics, summed over the inference workers when there are several. */
  async metrics(): Promise<MetricsSnapshot> {
    const own = await this.call('metrics', []);
    if (!this.pool) return own;
    const others = await Promise.allSettled(this.pool.workers().map((to) => this.call('metrics', [], [], undefined, undefined, to)));
    return mergeSnapshots([own, ...others.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []))]);
  }

  async prometheusMetrics(): Promise<string> {
    return this.pool ? toPrometheusText(await this.metrics()) : this.call('prometheusMetrics', []);
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

  /**
   * Runs `fn` for each inference worker beside the serving one; with `dropOnError`, one that fails is
   * left out (a reload it refused would leave it serving another config), else its error is ignored.
   */
  private async onMembers(fn: (to: WorkerLike) => Promise<unknown>, dropOnError = false): Promise<void> {
    const pool = this.pool;
    if (!pool) return;
    await Promise.all(
      pool.workers().map((to) =>
        fn(to).catch((e: unknown) => {
          if (!dropOnError) return;
          pool.drop(to);
          console.warn(`tfjs-serving: an inference worker refused the new config and is left out: ${ServingError.from(e).message}`);
        }),
      ),
    );
  }

  /** Requests sent to `worker` and not answered yet (read for every prediction with inferenceWorkers: kept, not counted). */
  private pendingOn(worker: WorkerLike): number {
    return this.inFlight.get(worker) ?? 0;
  }

  private track(worker: WorkerLike, by: 1 | -1): void {
    const n = (this.inFlight.get(worker) ?? 0) + by;
    if (n > 0) this.inFlight.set(worker, n);
    else this.inFlight.delete(worker);
  }

  /** One method of the ModelServer, run in the worker (the serving one, or `to`); typed from the interface itself. */
  private async call<M extends ServerMethod>(
    method: M,
    args: MethodArgs<M>,
    transfer: Transferable[] = [],
    signal?: AbortSignal,
    deadline?: number,
    to?: WorkerLike | (() => WorkerLike),
  ): Promise<MethodResult<M>> {
    this.checkOpen();
    if (!this.started) await this.ready;
    if (signal || typeof deadline === 'number') {
      const ended = requestEnded({ signal, deadline: typeof deadline === 'number' ? deadline : undefined });
      if (ended) throw ended;
    }
    const id = this.nextId++;
    const answer = this.request({ kind: 'call', id, method, args }, transfer, typeof to === 'function' ? to() : to);
    if (signal || typeof deadline === 'number') {
      // The page hears at once, even while the worker is busy running; the host drops its side (its answer is then ignored).
      // (The deadline crossed with the call, so the worker drops its side by itself; only an abort is sent.)
      const onAbort = () => {
        this.supervisor.post({ kind: 'cancel', id }, [], this.pending.get(id)?.worker);
        this.settle(id, (p) => p.reject(requestEnded({ signal }) ?? new ServingError('CANCELLED', 'the request was cancelled')));
      };
      const onDeadline = () => this.settle(id, (p) => p.reject(new ServingError('DEADLINE_EXCEEDED', `the request's deadline passed ${Date.now() - (deadline ?? 0)} ms ago`)));
      const stopTimer = typeof deadline === 'number' ? atDeadline(deadline, onDeadline) : undefined;
      signal?.addEventListener('abort', onAbort, { once: true });
      const done = () => {
        stopTimer?.();
        signal?.removeEventListener('abort', onAbort);
      };
      void answer.then(done, done);
    }
    return (await answer) as MethodResult<M>; // the host answers a call with what the server's own method resolved to
  }

  private checkOpen(): void {
    if (this.broken) throw new ServingError('UNAVAILABLE', this.broken);
    if (this.closed) throw new ServingError('FAILED_PRECONDITION', 'the server is closed');
  }

  private sendStart(): void {
    this.started = false;
    this.ready = this.request({ kind: 'start', id: this.nextId++, options: this.startOptions }).then(() => {
      this.started = true;
    });
  }

  private onMessage(msg: WorkerMessage, from: WorkerLike): void {
    const serving = from === this.supervisor.worker;
    switch (msg.kind) {
      case 'bundle':
        // One worker turn's messages (a batch's answers): handled in order, in this one task.
        for (const m of msg.messages) this.onMessage(m, from);
        return;
      case 'ready':
        if (serving) {
          this.supervisor.markStarted();
          this.backendName = msg.backend;
        }
        this.settle(msg.id, (p) => p.resolve(msg.backend));
        return;
      case 'result':
        this.settle(msg.id, (p) => p.resolve(msg.value));
        return;
      case 'error':
        this.settle(msg.id, (p) => p.reject(new ServingError(msg.code, msg.message)));
        return;
      case 'event':
        if (msg.event.type === 'statechange') this.pool?.heard(from, msg.event.init.model, msg.event.init.version, msg.event.init.state);
        // In a fresh-worker swap: the fresh worker's news only, an old worker's none.
        if (!serving && !(this.swap?.isFresh(from) && this.swap.heardFromFresh(msg.event))) return;
        if (serving && msg.event.type === 'statechange') this.swap?.ledger.fromServing(msg.event.init.model, msg.event.init.version, msg.event.init.state);
        for (const event of decodeEvent(msg.event)) {
          if (event instanceof SourceErrorEvent) this.logSourceError(event);
          this.dispatchEvent(event);
        }
        return;
      case 'swapwanted':
        if (serving) this.swap?.wanted(msg);
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
        this.failPending(`the tfjs-serving worker could not start from ${this.supervisor.url.href}: ${reason}${this.unbundledDefault ? UNBUNDLED_HINT : ''}`);
        return;
      case 'gave-up':
        this.broken = `the tfjs-serving worker died ${this.supervisor.recentDeaths} times within ${RESTART_WINDOW_MS / 1000} s and is not restarted again; last: ${reason}`;
        this.failPending(this.broken);
        return;
      case 'restarted':
        this.swap?.abandon();
        // Requests on the other inference workers go on.
        this.failPending(`${reason}; the request was lost and a new worker is starting`, undefined, this.pool);
        this.dispatchEvent(new WorkerRestartEvent(reason));
        this.sendStart();
        this.ready.catch(() => undefined); // calls will see the error
        return;
    }
  }

  /** A repository that cannot be read is said on the page's console, once per distinct error. */
  private logSourceError(e: SourceErrorEvent): void {
    const key = `${e.model}\n${e.code}\n${e.message}`;
    // On pages only: in Node (serve's worker thread) the listeners say it (serve prints each once).
    if (typeof document === 'undefined' || this.logged.has(key)) return;
    this.logged.add(key);
    console.warn(`tfjs-serving: the source of model ${e.model} reports ${e.code}: ${e.message}`);
  }

  /** Fails the requests in flight (on one worker, or on all). */
  private failPending(message: string, worker?: WorkerLike, except?: InferencePool): void {
    for (const [id, p] of [...this.pending]) {
      if (except?.has(p.worker)) continue;
      if (worker === undefined || p.worker === worker) this.settle(id, (q) => q.reject(new ServingError('UNAVAILABLE', message)));
    }
  }

  private settle(id: number, fn: (p: Pending) => void): void {
    const p = this.pending.get(id);
    if (!p) return;
    this.pending.delete(id);
    this.track(p.worker, -1);
    fn(p);
    this.swap?.settled(p.worker);
  }

  private request(msg: UnbundledClientMessage & { id: number }, transfer: Transferable[] = [], to: WorkerLike = this.supervisor.worker): Promise<unknown> {
    return new Promise((resolve, reject) => {
      this.pending.set(msg.id, { resolve, reject, worker: to });
      this.track(to, 1);
      // Sent at the end of this task with the others made in it; one that cannot be posted fails alone.
      this.supervisor.post(msg, transfer, to, (e) => this.settle(msg.id, (p) => p.reject(ServingError.from(e, 'INVALID_ARGUMENT', 'the request cannot be sent to the worker: '))));
    });
  }
}
