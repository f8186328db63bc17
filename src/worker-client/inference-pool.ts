// `inferenceWorkers: N`, on the page: N − 1 more workers beside the serving one, each a whole server
// loading the same models from the same store, so that predictions run on N cores at once.
import { ServingError } from '../core/status.js';
import type { UnbundledClientMessage, WorkerStartOptions } from './protocol.js';
import type { WorkerLike, WorkerSupervisor } from './worker-supervisor.js';

/** The most inference workers a server may have. */
export const MAX_INFERENCE_WORKERS = 16;

/** Checks `inferenceWorkers`: an integer from 1 to 16 (INVALID_ARGUMENT names the value); 1 when absent. */
export function checkInferenceWorkers(value: unknown, swapMode: unknown): number {
  if (value === undefined) return 1;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > MAX_INFERENCE_WORKERS) {
    throw new ServingError('INVALID_ARGUMENT', `inferenceWorkers must be an integer from 1 to ${MAX_INFERENCE_WORKERS}, got ${JSON.stringify(value)}`);
  }
  if (value > 1 && swapMode === 'fresh-worker') {
    throw new ServingError('INVALID_ARGUMENT', 'inferenceWorkers above 1 cannot be combined with swapMode "fresh-worker" (choose one)');
  }
  return value;
}

/** What the pool needs of its client. */
export interface InferencePoolHost {
  readonly supervisor: WorkerSupervisor;
  /** Sends a request to one worker; resolves with its answer. */
  request(msg: UnbundledClientMessage & { id: number }, to: WorkerLike): Promise<unknown>;
  /** Requests sent to `worker` and not answered yet. */
  pendingOn(worker: WorkerLike): number;
  /** A new id for a request. */
  nextId(): number;
}

/**
 * The extra inference workers. Each runs its own server from the same options (its sources poll the
 * same repository and share the store, as the tabs of one origin do: the download happens once), and
 * the page sends each prediction to the worker with the fewest requests in flight. Status, metadata,
 * events and REST stay with the serving worker; config reloads and polls go to every worker; metrics
 * are summed over all. A member that fails to start or dies is dropped (its requests in flight fail
 * with UNAVAILABLE) and the others go on.
 */
export class InferencePool {
  private readonly members = new Set<WorkerLike>();
  private readonly starting = new Set<WorkerLike>();
  /** `model\0version` of the versions each member has AVAILABLE (from its state events). */
  private readonly available = new Map<WorkerLike, Set<string>>();

  constructor(
    private readonly host: InferencePoolHost,
    private readonly extra: number,
  ) {}

  /** Starts the members with `options`; resolves when each has started or been dropped. */
  async start(options: WorkerStartOptions): Promise<void> {
    const spawned = Array.from({ length: this.extra }, () => this.host.supervisor.spawnBeside());
    await Promise.all(
      spawned.map(async (worker) => {
        this.starting.add(worker);
        try {
          await this.host.request({ kind: 'start', id: this.host.nextId(), options }, worker);
          if (this.starting.has(worker)) this.members.add(worker);
        } catch (e) {
          this.drop(worker);
          console.warn(`tfjs-serving: an inference worker could not start and is left out: ${ServingError.from(e).message}`);
        } finally {
          this.starting.delete(worker);
        }
      }),
    );
  }

  /** Inference workers serving now, the serving one included. */
  get size(): number {
    return 1 + this.members.size;
  }

  /** Whether `worker` is one of the members (not the serving worker). */
  has(worker: WorkerLike): boolean {
    return this.members.has(worker);
  }

  /** A member's version changed state (its own statechange event). */
  heard(worker: WorkerLike, model: string, version: number, state: string): void {
    if (!this.members.has(worker) && !this.starting.has(worker)) return;
    let set = this.available.get(worker);
    if (!set) this.available.set(worker, (set = new Set()));
    if (state === 'AVAILABLE') set.add(`${model}\0${version}`);
    else set.delete(`${model}\0${version}`);
  }

  /**
   * The worker a prediction of `model` (pinned to `version`, when given) goes to: among the serving
   * worker and the members that have such a version AVAILABLE (they poll on their own, so one may be a
   * moment behind), the one with the fewest requests in flight; the serving one on a tie.
   */
  pick(model?: unknown, version?: unknown): WorkerLike {
    let best = this.host.supervisor.worker;
    let load = this.host.pendingOn(best);
    for (const w of this.members) {
      if (!this.serves(w, model, version)) continue;
      const l = this.host.pendingOn(w);
      if (l < load) {
        best = w;
        load = l;
      }
    }
    return best;
  }

  private serves(worker: WorkerLike, model: unknown, version: unknown): boolean {
    if (typeof model !== 'string') return true; // a bad request: any worker says so
    const set = this.available.get(worker);
    if (!set) return false;
    if (typeof version === 'number') return set.has(`${model}\0${version}`);
    for (const key of set) if (key.startsWith(`${model}\0`)) return true;
    return false;
  }

  /** The members, to send a reload or poll to each. */
  workers(): WorkerLike[] {
    return [...this.members];
  }

  /** A member died or failed: it serves no more. */
  drop(worker: WorkerLike): void {
    this.starting.delete(worker);
    this.members.delete(worker);
    this.available.delete(worker);
    this.host.supervisor.retire(worker);
  }
}
