// A WorkerSpawner for Node: the serving core in a worker_threads thread behind the WorkerLike seam, so
// a model that computes for seconds never holds up the HTTP thread (status, metrics, probes, deadlines).
import { Worker } from 'node:worker_threads';
import type { ClientMessage, WorkerMessage } from './protocol.js';
import type { WorkerLike, WorkerSpawner } from './worker-supervisor.js';

/** What the Node worker entry (`worker/node-worker-entry.ts`) is started with, besides the protocol's `start`. */
export interface NodeWorkerData {
  /** A FileSystemModelStore directory (`--model_store_dir`); without it versions are kept in memory. */
  readonly storeDir?: string;
}

/** True when this module runs from its TypeScript source (tests, `node --import tsx`), not from dist/. */
function fromSource(): boolean {
  return import.meta.url.endsWith('.ts');
}

/** The Node worker entry beside this module: worker/node-worker-entry.ts in the sources, dist/worker/node-worker-entry.js when built. */
export function nodeWorkerEntryUrl(): URL {
  return new URL(`../../worker/node-worker-entry.${fromSource() ? 'ts' : 'js'}`, import.meta.url);
}

/**
 * Starts a worker_threads Worker on `url`. From the sources, the thread first registers tsx (Node 20
 * does not apply the parent's `--import tsx` to a worker's entry), then imports the entry.
 */
function startThread(url: URL, workerData: NodeWorkerData): Worker {
  if (!url.pathname.endsWith('.ts')) return new Worker(url, { workerData });
  const tsx = import.meta.resolve('tsx/esm/api');
  const boot = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(url.href)}); })`;
  return new Worker(boot, { eval: true, workerData });
}

/** The WorkerLike a worker_threads Worker is: the DOM worker's events over Node's EventEmitter. */
class NodeWorkerLike implements WorkerLike {
  private readonly thread: Worker;
  private readonly errorListeners: Array<(e: { message?: string }) => void> = [];
  private terminated = false;

  constructor(url: URL, workerData: NodeWorkerData) {
    this.thread = startThread(url, workerData);
    this.thread.on('error', (e: unknown) => this.failed(e instanceof Error ? e.message : String(e)));
    // A thread that ends by itself (process.exit in it, the host's close after `fatal`) is a death too.
    this.thread.on('exit', (code: number) => {
      if (!this.terminated) this.failed(`the worker thread exited with code ${code}`);
    });
  }

  postMessage(message: ClientMessage, transfer: Transferable[]): void {
    // Node's transfer list takes ArrayBuffers (and ports); the protocol only ever transfers ArrayBuffers.
    this.thread.postMessage(message, transfer as unknown as ArrayBuffer[]);
  }

  addEventListener(type: 'message', listener: (e: { data: WorkerMessage }) => void): void;
  addEventListener(type: 'error', listener: (e: { message?: string; preventDefault?(): void }) => void): void;
  addEventListener(type: 'messageerror', listener: () => void): void;
  addEventListener(type: 'message' | 'error' | 'messageerror', listener: (e: never) => void): void {
    // Each overload's listener takes the event its type delivers (the overloads above say which).
    const l = listener as (e: unknown) => void;
    if (type === 'message') this.thread.on('message', (data: WorkerMessage) => l({ data }));
    else if (type === 'error') this.errorListeners.push(l);
    else this.thread.on('messageerror', () => l(undefined));
  }

  terminate(): void {
    this.terminated = true;
    void this.thread.terminate();
  }

  private failed(message: string): void {
    for (const l of this.errorListeners) l({ message });
  }
}

/** A WorkerSpawner that starts the serving core in a worker_threads thread of this process. */
export function nodeWorkerSpawner(workerData: NodeWorkerData = {}): WorkerSpawner {
  return (url) => new NodeWorkerLike(url, workerData);
}
