// The protocol between a page's WorkerModelServer client and the worker hosting the serving core.
// Types only: nothing here runs. Every request carries an id and its answer carries the same id
// (no FIFO matching); tensors travel as transferred ArrayBuffers; errors keep their status code.
// Method calls are typed from the ModelServer interface itself (Comlink's way): one generic `call`.

import type { StatusCode } from '../core/status.js';
import type { RestOptions } from '../rest/handler.js';
import type { BackendName } from '../runtime/backends.js';
import type { ModelServer } from '../server/model-server.js';
import type { ModelServerOptions } from '../server/model-server-options.js';
import type { WireEvent } from './event-wire.js';

/** The ModelServer methods a client may call in the worker, by name. */
export type ServerMethod = Exclude<keyof ModelServer, 'mode' | 'backend' | keyof EventTarget | 'close'>;
/** The arguments of a method, as the ModelServer interface declares them. */
export type MethodArgs<M extends ServerMethod> = Parameters<ModelServer[M]>;
/** What a method resolves with. */
export type MethodResult<M extends ServerMethod> = Awaited<ReturnType<ModelServer[M]>>;

/** Options that can cross to the worker: everything but functions and objects with behaviour. */
export type WorkerStartOptions = Omit<ModelServerOptions, 'store' | 'fetch' | 'worker' | 'workerUrl' | 'listeners' | 'transferInputs'>;

// Client → worker

export interface StartMessage {
  readonly kind: 'start';
  readonly id: number;
  readonly options: WorkerStartOptions;
}

export interface CallMessage<M extends ServerMethod = ServerMethod> {
  readonly kind: 'call';
  readonly id: number;
  readonly method: M;
  readonly args: MethodArgs<M>;
}

/** The page no longer wants the answer to call `id` (its AbortSignal fired): the host aborts the call's signal on its side. */
export interface CancelMessage {
  readonly kind: 'cancel';
  readonly id: number;
}

export interface CloseMessage {
  readonly kind: 'close';
  readonly id: number;
}

/**
 * Chaos testing of the client's recovery: the worker fails as an uncaught exception would (`throw`),
 * or destroys its WebGPU device so that the device is lost as on a GPU reset (`lose-gpu-device`).
 */
export interface CrashMessage {
  readonly kind: 'crash';
  readonly how: 'throw' | 'lose-gpu-device';
  readonly reason: string;
}

/** A TF Serving REST request answered in the worker, next to the servables (the Service Worker route's path). */
export interface RestMessage {
  readonly kind: 'rest';
  readonly id: number;
  readonly request: SerializedHttpMessage & { readonly url: string; readonly method: string };
  readonly options?: RestOptions;
}

/** An HTTP request or response as plain data; the body moves as a transferred ArrayBuffer. */
export interface SerializedHttpMessage {
  readonly headers: ReadonlyArray<readonly [string, string]>;
  readonly body: ArrayBuffer | null;
}

/** The answer to a RestMessage (sent as a ResultMessage's value). */
export interface SerializedResponse extends SerializedHttpMessage {
  readonly status: number;
  readonly body: ArrayBuffer;
}

/** Asks the worker for its memory (answered by a ResultMessage whose value is a WorkerMemory). */
export interface MemoryMessage {
  readonly kind: 'memory';
  readonly id: number;
}

/** What a worker's memory is: its WASM heap (which never shrinks) and what TF.js holds. */
export interface WorkerMemory {
  /** The TF.js backend of the worker. */
  readonly backend: BackendName;
  /** Bytes of the WASM backend's linear memory (its high-water mark); undefined on other backends. */
  readonly wasmHeapBytes: number | undefined;
  /** `tf.memory().numTensors` in the worker. */
  readonly numTensors: number;
  /** `tf.memory().numBytes` in the worker. */
  readonly numBytes: number;
}

/**
 * The messages the page sent a worker during one task, in order, as one message (the client's outbox):
 * requests made together (callers resumed by one batch's answers) reach the worker in one task.
 */
export interface ClientBundleMessage {
  readonly kind: 'bundle';
  readonly messages: readonly UnbundledClientMessage[];
}

/** Every client message but a bundle (bundles do not nest). */
export type UnbundledClientMessage = StartMessage | CallMessage | CancelMessage | CloseMessage | CrashMessage | RestMessage | MemoryMessage;

export type ClientMessage = UnbundledClientMessage | ClientBundleMessage;

// Worker → client

export interface ReadyMessage {
  readonly kind: 'ready';
  readonly id: number;
  readonly backend: BackendName;
}

export interface ResultMessage {
  readonly kind: 'result';
  readonly id: number;
  readonly value: unknown;
}

export interface ErrorMessage {
  readonly kind: 'error';
  readonly id: number;
  readonly code: StatusCode;
  readonly message: string;
}

/** A server event, encoded by its wire codec (`event-wire.ts`). */
export interface EventMessage {
  readonly kind: 'event';
  readonly event: WireEvent;
}

/** The worker cannot go on (uncaught error, GPU device lost); the client restarts it. */
export interface FatalMessage {
  readonly kind: 'fatal';
  readonly message: string;
}

/**
 * `swapMode: 'fresh-worker'`: the worker's source aspires a new version of `model` (already committed to
 * the store) and the worker holds it back instead of loading it; the client moves serving to a fresh
 * worker that loads it from the store.
 */
export interface SwapWantedMessage {
  readonly kind: 'swapwanted';
  readonly model: string;
  /** The versions the source aspires now. */
  readonly versions: readonly number[];
}

/**
 * The messages one worker turn produced, in order, as one message: the answers of one batch reach the
 * page in one task, so the callers it resumes send their next requests together (and they batch again).
 */
export interface BundleMessage {
  readonly kind: 'bundle';
  readonly messages: readonly UnbundledWorkerMessage[];
}

/** Every worker message but a bundle (bundles do not nest; `fatal` is never bundled). */
export type UnbundledWorkerMessage = ReadyMessage | ResultMessage | ErrorMessage | EventMessage | FatalMessage | SwapWantedMessage;

export type WorkerMessage = UnbundledWorkerMessage | BundleMessage;
