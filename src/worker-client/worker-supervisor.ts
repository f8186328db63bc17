// Keeps one module Web Worker alive for a client: spawns it, notices when it dies, and restarts it
// unless it never started or keeps dying.
import type { ClientMessage, WorkerMessage } from './protocol.js';

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

export interface WorkerSupervisorHandlers {
  /** A message from the current worker (a dead worker's last words are dropped). */
  message(msg: WorkerMessage): void;
  /** The current worker died; `reason` says why, `outcome` what happens next. Called once per death. */
  death(reason: string, outcome: DeathOutcome): void;
}

export class WorkerSupervisor {
  private current: Worker;
  private started = false;
  private stopped = false;
  /** When workers died lately (ms). */
  private deaths: number[] = [];
  /** How many times the worker was replaced after dying. */
  restarts = 0;

  constructor(
    readonly url: URL,
    private readonly handlers: WorkerSupervisorHandlers,
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

  post(msg: ClientMessage, transfer: Transferable[] = []): void {
    this.current.postMessage(msg, transfer);
  }

  /** Terminates the worker for good. */
  stop(): void {
    this.stopped = true;
    this.current.terminate();
  }

  private spawn(): Worker {
    const worker = new Worker(this.url, { type: 'module', name: 'tfjs-serving' });
    worker.addEventListener('message', (e: MessageEvent<WorkerMessage>) => {
      if (worker !== this.current) return; // a dead worker's last words
      if (e.data.kind === 'fatal') this.onDeath(worker, e.data.message);
      else this.handlers.message(e.data);
    });
    worker.addEventListener('error', (e) => {
      e.preventDefault();
      this.onDeath(worker, `the worker failed: ${e.message || 'it could not be loaded or threw'}`);
    });
    worker.addEventListener('messageerror', () => this.onDeath(worker, 'a message from the worker could not be read'));
    return worker;
  }

  private onDeath(worker: Worker, reason: string): void {
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
