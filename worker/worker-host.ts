import * as tf from '@tensorflow/tfjs';
import { ServingError, messageOf } from '../src/core/status.js';
import { LocalModelServer } from '../src/server/local-model-server.js';
import type { ModelServerOptions, ServerEventListeners } from '../src/server/model-server-options.js';
import { registerSourceFactory } from '../src/server/source-registry.js';
import { handleRestRequest } from '../src/rest/handler.js';
import { WIRE_EVENT_TYPES, encodeEvent } from '../src/worker-client/event-wire.js';
import type { CallMessage, ClientMessage, MethodArgs, SerializedResponse, ServerMethod, WorkerMemory, WorkerMessage, WorkerStartOptions } from '../src/worker-client/protocol.js';
import { transferablesOf } from '../src/worker-client/transfer.js';
import { Outbox } from './outbox.js';
import { SwapGate, gatedSourceFactory } from './swap-gate.js';

/** What the host needs of the worker global scope (a DedicatedWorkerGlobalScope). */
export interface HostScope {
  postMessage(message: WorkerMessage, transfer?: Transferable[]): void;
  addEventListener(type: 'message', listener: (e: MessageEvent<ClientMessage>) => void): void;
  close(): void;
}

const METHODS: ReadonlySet<string> = new Set<ServerMethod>([
  'predict',
  'getModelStatus',
  'getModelMetadata',
  'getSignature',
  'reloadConfig',
  'pollNow',
  'whenIdle',
  'sourceState',
  'versionLabels',
  'modelNames',
  'metrics',
  'prometheusMetrics',
]);

function isPredict(msg: CallMessage): msg is CallMessage<'predict'> {
  return msg.method === 'predict';
}

/** The worker's memory now: the WASM heap (on the wasm backend) and what TF.js holds. */
function workerMemory(): WorkerMemory {
  const backend = tf.getBackend() as WorkerMemory['backend']; // selectBackend set one of the BackendNames
  // TF.js's wasm backend keeps its Emscripten module in `wasm`; HEAPU8 views the whole linear memory (its type is not exported).
  const heap = backend === 'wasm' ? (tf.backend() as unknown as { wasm?: { HEAPU8?: Uint8Array } }).wasm?.HEAPU8 : undefined;
  const { numTensors, numBytes } = tf.memory();
  return { backend, wasmHeapBytes: heap?.buffer.byteLength, numTensors, numBytes };
}

/**
 * Runs a LocalModelServer inside a module Web Worker and answers the client's messages by id.
 * Anything the server cannot survive (an uncaught error, the GPU device lost) is reported as `fatal`
 * and the worker closes itself, so the client can start a fresh one.
 */
export class WorkerHost {
  private server: LocalModelServer | undefined;
  private starting: Promise<LocalModelServer> | undefined;
  /** The signals of predict calls in flight, by call id: a `cancel` from the page aborts one. */
  private readonly cancels = new Map<number, AbortController>();
  /** What this turn sends, posted at its end as one message. */
  private readonly outbox: Outbox;

  /** `local`: options that cannot cross the protocol but the worker's own entry can give (a Node file-system store). */
  constructor(
    private readonly scope: HostScope,
    private readonly local: Pick<ModelServerOptions, 'store'> = {},
  ) {
    this.outbox = new Outbox((message, transfer) => scope.postMessage(message, transfer));
    scope.addEventListener('message', (e) => void this.onMessage(e.data));
  }

  /** Reports a fatal condition and stops the worker. */
  fatal(message: string): void {
    this.outbox.flush();
    this.scope.postMessage({ kind: 'fatal', message });
    this.scope.close();
  }

  private async onMessage(msg: ClientMessage): Promise<void> {
    switch (msg.kind) {
      case 'bundle':
        // One page task's messages (requests made together): handled in order, in this one task.
        for (const m of msg.messages) void this.onMessage(m);
        return;
      case 'start':
        return this.reply(msg.id, async () => {
          const server = await this.start(msg.options);
          this.outbox.send({ kind: 'ready', id: msg.id, backend: server.backend });
          return undefined;
        }, false);
      case 'call':
        if (isPredict(msg)) {
          const started = this.server;
          // Once started, the hot path: straight from the message to the server and back, no turn waited.
          if (started) return this.predict(msg.id, msg.args, started);
          return this.reply(msg.id, async () => this.predict(msg.id, msg.args, await this.ready()), false);
        }
        return this.reply(msg.id, async () => {
          if (!METHODS.has(msg.method)) throw new ServingError('UNIMPLEMENTED', `the worker has no method ${JSON.stringify(msg.method)}`);
          const server = await this.ready();
          // Checked against METHODS above; the args are the method's own (typed by the protocol).
          const fn = server[msg.method] as (...args: unknown[]) => Promise<unknown>;
          return fn.apply(server, [...msg.args]);
        });
      case 'cancel':
        this.cancels.get(msg.id)?.abort(new ServingError('CANCELLED', 'cancelled by the page'));
        return;
      case 'rest':
        return this.reply(msg.id, async () => {
          const server = await this.ready();
          const { url, method, headers, body } = msg.request;
          const response = await handleRestRequest(server, new Request(url, { method, headers: headers.map(([k, v]): [string, string] => [k, v]), body }), msg.options);
          return { status: response.status, headers: [...response.headers], body: await response.arrayBuffer() } satisfies SerializedResponse;
        });
      case 'close':
        return this.reply(msg.id, async () => {
          await this.server?.close();
          this.server = undefined;
          return undefined;
        });
      case 'memory':
        return this.reply(msg.id, async () => workerMemory());
      case 'crash':
        if (msg.how === 'lose-gpu-device') {
          this.gpuDevice()?.destroy();
          return;
        }
        // Fail as an uncaught exception would: after this turn, outside any handler.
        setTimeout(() => {
          throw new Error(msg.reason);
        });
        return;
    }
  }

  private start(options: WorkerStartOptions): Promise<LocalModelServer> {
    if (this.starting) return Promise.reject(new ServingError('FAILED_PRECONDITION', 'the worker was already started'));
    // The page spreads predictions over its inference workers: each worker's own server is one of them.
    const { swapMode, inferenceWorkers: _pool, ...serverOptions } = options;
    // swapMode 'fresh-worker': this worker loads its first versions and holds back swaps (the page moves them to a fresh worker).
    const gate = swapMode === 'fresh-worker' ? new SwapGate((model, versions) => this.outbox.send({ kind: 'swapwanted', model, versions })) : undefined;
    if (gate) registerSourceFactory(gatedSourceFactory(gate));
    // Forward events from the first moment, so the client sees the first download and loads.
    this.starting = LocalModelServer.start({ ...serverOptions, ...this.local, listeners: this.forwarders() }).then((server) => {
      this.server = server;
      gate?.close();
      this.watchGpu();
      return server;
    });
    return this.starting;
  }

  private ready(): Promise<LocalModelServer> {
    if (!this.starting) return Promise.reject(new ServingError('FAILED_PRECONDITION', 'the worker was not started'));
    return this.starting;
  }

  /**
   * One prediction, answered when the server's promise settles. The page's AbortSignal cannot cross:
   * a controller here stands for it, aborted by a `cancel` message.
   */
  private predict(id: number, args: MethodArgs<'predict'>, server: LocalModelServer): void {
    const controller = new AbortController();
    this.cancels.set(id, controller);
    let answer: Promise<unknown>;
    try {
      const [request, options] = args; // in the try: a message whose args are not a list is answered with its error
      answer = server.predict(request, { ...(typeof options === 'object' ? options : {}), signal: controller.signal });
    } catch (e) {
      answer = Promise.reject(e);
    }
    answer.then(
      (value) => {
        this.cancels.delete(id);
        this.answer(id, value);
      },
      (e: unknown) => {
        this.cancels.delete(id);
        this.answerError(id, e);
      },
    );
  }

  private async reply(id: number, run: () => Promise<unknown>, sendResult = true): Promise<void> {
    try {
      const value = await run();
      if (sendResult) this.answer(id, value);
    } catch (e) {
      this.answerError(id, e);
    }
  }

  private answer(id: number, value: unknown): void {
    this.outbox.send({ kind: 'result', id, value }, transferablesOf(value));
  }

  private answerError(id: number, e: unknown): void {
    const err = ServingError.from(e, 'INTERNAL');
    this.outbox.send({ kind: 'error', id, code: err.code, message: err.message });
  }

  /** Forwards the server's events through their wire codecs. */
  private forwarders(): ServerEventListeners {
    const forward = (e: Event) => {
      const event = encodeEvent(e);
      if (event) this.outbox.send({ kind: 'event', event });
    };
    return Object.fromEntries(WIRE_EVENT_TYPES.map((type) => [type, forward]));
  }

  /** On WebGPU, a lost device cannot be recovered in place: report it so the client starts afresh. */
  private watchGpu(): void {
    void this.gpuDevice()?.lost.then((info) => this.fatal(`GPU device lost (${info?.reason ?? 'unknown'}): ${messageOf(info?.message ?? '')}`));
  }

  private gpuDevice(): { lost: Promise<{ message?: string; reason?: string }>; destroy(): void } | undefined {
    if (tf.getBackend() !== 'webgpu') return undefined;
    // TF.js's webgpu backend keeps its GPUDevice in `device`; its type is not exported.
    return (tf.backend() as unknown as { device?: { lost: Promise<{ message?: string; reason?: string }>; destroy(): void } }).device;
  }
}
