// Keeps one module Web Worker alive for a client: spawns it, notices when it dies, and restarts it
// unless it never started or keeps dying. For fresh-worker swaps it also spawns workers beside the
// current one, promotes one to current and retires (terminates) the old one.
import { MessageOutbox } from './message-outbox.js';
import type { ClientBundleMessage, ClientMessage, UnbundledClientMessage, WorkerMessage } from './protocol.js';

/** A worker that dies more often than this within the window is not restarted again. */
export const MAX_RESTARTS_PER_WINDOW = 5;
export const RESTART_WINDOW_MS = 60_000;

/** What the supervisor did about a death. */
export type DeathOutcome =
  /** A new worker is starting. */
  | 'restarted'
  /** The first worker never came up (a wrong URL, a script that fails to load): no restarts. */
  | 'never-started'
  /** Workers kept dying: no more restarts. */
  | 'gave-up';

/** What the supervisor needs of a worker: a browser `Worker`, or a Node thread behind an adapter. */
export interface WorkerLike {
  postMessage(message: ClientMessage, transfer: Transferable[]): void;
  addEventListener(type: 'message', listener: (e: { data: WorkerMessage }) => void): void;
  addEventListener(type: 'error', listener: (e: { message?: string; preventDefault?(): void }) => void): void;
  addEventListener(type: 'messageerror', listener: () => void): void;
  terminate(): void;
}

/** Starts a worker running the script at `url`. */
export type WorkerSpawner = (url: URL) => WorkerLike;

/** A module Web Worker (the default, in pages). */
export const spawnModuleWorker: WorkerSpawner = (url) => new Worker(url, { type: 'module', name: 'tfjs-serving' });

export interface WorkerSupervisorHandlers {
  /** A message from the current worker or one beside it, and which (a dead worker's last words are dropped). */
  message(msg: WorkerMessage, from: WorkerLike): void;
  /** The current worker died; `reason` says why, `outcome` what happens next. Called once per death. */
  death(reason: string, outcome: DeathOutcome): void;
  /** A worker beside the current one died: it was terminated and is not restarted. */
  besideDeath?(worker: WorkerLike, reason: string): void;
}

export class WorkerSupervisor {
  private current: WorkerLike;
  /** What this task sends each worker, posted as one message at its end. */
  private readonly outboxes = new WeakMap<WorkerLike, MessageOutbox<UnbundledClientMessage, ClientBundleMessage>>();
  /** Workers spawned beside the current one (a fresh worker warming up, an old one draining). */
  private readonly beside = new Set<WorkerLike>();
  private started = false;
  private stopped = false;
  /** When workers died lately (ms). */
  private deaths: number[] = [];
  /** How many times the worker was replaced after dying. */
  restarts = 0;

  constructor(
    readonly url: URL,
    private readonly handlers: WorkerSupervisorHandlers,
    private readonly spawnWorker: WorkerSpawner = spawnModuleWorker,
  ) {
    this.current = this.spawn();
  }

  /** Deaths counted against the restart limit in the window now. */
  get recentDeaths(): number {
    return this.deaths.length;
  }

  /** The worker answered its start: from now on a death is a crash, not a failed start. */
  markStarted(): void {
    this.started = true;
  }

  /** The worker requests go to. */
  get worker(): WorkerLike {
    return this.current;
  }

  /**
   * Sends to the current worker, or to `to` (a worker beside it), at the end of this task together with
   * whatever else this task sends it (one message: MessageOutbox). `unsent`: the message could not be
   * posted (a value that cannot be cloned).
   */
  post(msg: UnbundledClientMessage, transfer: Transferable[] = [], to: WorkerLike = this.current, unsent?: (error: unknown) => void): void {
    let box = this.outboxes.get(to);
    if (!box) {
      box = new MessageOutbox<UnbundledClientMessage, ClientBundleMessage>((m, t) => to.postMessage(m, t), (messages) => ({ kind: 'bundle', messages }));
      this.outboxes.set(to, box);
    }
    box.send(msg, transfer, unsent);
  }

  /** Spawns a worker beside the current one, through the same spawner; it is never restarted. */
  spawnBeside(): WorkerLike {
    const worker = this.spawn();
    this.beside.add(worker);
    return worker;
  }

  /** Makes `worker` (spawned beside) the current one; the old current one is now beside it (retire it when drained). */
  promote(worker: WorkerLike): WorkerLike {
    if (!this.beside.delete(worker)) throw new Error('only a worker spawned beside the current one can be promoted');
    const old = this.current;
    this.current = worker;
    this.beside.add(old);
    return old;
  }

  /** Terminates a worker beside the current one. */
  retire(worker: WorkerLike): void {
    if (this.beside.delete(worker)) worker.terminate();
  }

  /** Workers alive: the current one and those beside it. */
  get liveWorkers(): number {
    return this.stopped ? 0 : 1 + this.beside.size;
  }

  /** Terminates the workers for good. */
  stop(): void {
    this.stopped = true;
    this.current.terminate();
    for (const w of this.beside) w.terminate();
    this.beside.clear();
  }

  private spawn(): WorkerLike {
    const worker = this.spawnWorker(this.url);
    worker.addEventListener('message', (e) => {
      if (worker !== this.current && !this.beside.has(worker)) return; // a dead worker's last words
      if (e.data.kind === 'fatal') this.onDeath(worker, e.data.message);
      else this.handlers.message(e.data, worker);
    });
    worker.addEventListener('error', (e) => {
      e.preventDefault?.();
      this.onDeath(worker, `the worker failed: ${e.message || 'it could not be loaded or threw'}`);
    });
    worker.addEventListener('messageerror', () => this.onDeath(worker, 'a message from the worker could not be read'));
    return worker;
  }

  private onDeath(worker: WorkerLike, reason: string): void {
    if (this.beside.delete(worker)) {
      worker.terminate();
      this.handlers.besideDeath?.(worker, reason);
      return;
    }
    // One death can be told twice (the worker's own `fatal`, then its `error` event): count it once.
    if (worker !== this.current || this.stopped) return;
    worker.terminate();
    if (!this.started) {
      this.stopped = true;
      this.handlers.death(reason, 'never-started');
      return;
    }
    const now = Date.now();
    this.deaths = [...this.deaths.filter((t) => now - t < RESTART_WINDOW_MS), now];
    if (this.deaths.length > MAX_RESTARTS_PER_WINDOW) {
      this.stopped = true;
      this.handlers.death(reason, 'gave-up');
      return;
    }
    this.restarts++;
    this.current = this.spawn();
    this.handlers.death(reason, 'restarted');
  }
}
