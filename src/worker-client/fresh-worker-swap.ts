// swapMode 'fresh-worker', on the page: moves serving to a fresh worker when the serving one holds back
// a new version, so that the old worker's memory (its WASM heap never shrinks) is given back.
import { OK_STATUS, ServingError } from '../core/status.js';
import type { Status } from '../core/status.js';
import type { ManagerState } from '../core/servable-state.js';
import type { BackendName } from '../runtime/backends.js';
import { VersionStateEvent } from '../server/version-state-event.js';
import type { WireEvent } from './event-wire.js';
import type { UnbundledClientMessage, SwapWantedMessage, WorkerStartOptions } from './protocol.js';
import { SwapLedger } from './swap-ledger.js';
import type { WorkerLike, WorkerSupervisor } from './worker-supervisor.js';

/** What the swap needs of its client. */
export interface FreshWorkerSwapHost {
  readonly supervisor: WorkerSupervisor;
  /** The options a worker starts with now (the config in force). */
  startOptions(): WorkerStartOptions;
  /** Sends a request to one worker; resolves with its answer. */
  request(msg: UnbundledClientMessage & { id: number }, to: WorkerLike): Promise<unknown>;
  /** Requests sent to `worker` and not answered yet. */
  pendingOn(worker: WorkerLike): number;
  /** Rejects the requests sent to `worker` and not answered yet (UNAVAILABLE with `reason`). */
  failPendingOn(worker: WorkerLike, reason: string): void;
  /** Fires an event on the page. */
  dispatch(event: Event): void;
  /** Requests now go to a worker on `backend`. */
  moved(backend: BackendName): void;
}

function stateEvents(model: string, version: number, state: ManagerState, previousState: ManagerState | undefined, status: Status = OK_STATUS): VersionStateEvent[] {
  const init = { model, version, state, status, previousState, isUpdate: false };
  return ['statechange', state.toLowerCase()].map((type) => new VersionStateEvent(type, init));
}

/**
 * TF Serving's availability-preserving swap with a worker per generation: when the serving worker holds
 * back a new version (`swapwanted`), a fresh worker starts with the config in force and loads every
 * model from the store (the serving worker already downloaded the version: only one downloads). When its
 * start resolves, its versions are AVAILABLE and warmed; if it serves every model the page has
 * AVAILABLE, requests move to it, the versions it does not serve are reported UNLOADING and END, and the
 * old worker is terminated once its requests in flight are answered. A fresh worker that fails (to start,
 * to load a model) is terminated, the new versions it reported end with its error, and the old worker
 * keeps serving; the same aspired versions are not tried again.
 */
export class FreshWorkerSwap {
  readonly ledger = new SwapLedger();
  /** The fresh worker warming up, if any. */
  private fresh: WorkerLike | undefined;
  private swapping: Promise<void> | undefined;
  /** Old workers finishing their requests in flight. */
  private readonly draining = new Set<WorkerLike>();
  /** A swap was wanted while one was in progress: the new serving worker polls once it serves. */
  private wantedAgain = false;
  /** Aspired versions (`model:versions`) a fresh worker failed on. */
  private readonly refused = new Set<string>();
  /** Completed moves. */
  swaps = 0;

  constructor(
    private readonly host: FreshWorkerSwapHost,
    /** Ids for the requests it sends (the client's sequence). */
    private readonly nextId: () => number,
    /** How long a fresh worker may take to start with its versions AVAILABLE (`freshWorkerStartTimeoutMs`). */
    private readonly startTimeoutMs: number,
  ) {}

  /** Whether `worker` is the fresh worker warming up. */
  isFresh(worker: WorkerLike): boolean {
    return worker === this.fresh;
  }

  /** The serving worker held back new versions of a model: start a fresh worker (one at a time). */
  wanted(msg: SwapWantedMessage): void {
    const key = `${msg.model}:${msg.versions.join(',')}`;
    if (this.refused.has(key)) return;
    if (this.swapping) {
      this.wantedAgain = true;
      return;
    }
    this.swapping = this.swap(key, msg).finally(() => {
      this.swapping = undefined;
      if (!this.wantedAgain) return;
      // The fresh worker may have polled before that version was published: its poll now holds it back in turn.
      this.wantedAgain = false;
      void this.host.request({ kind: 'call', id: this.nextId(), method: 'pollNow', args: [undefined] }, this.host.supervisor.worker).catch(() => undefined);
    });
  }

  /** Resolves when no swap is in progress. */
  async whenSettled(): Promise<void> {
    while (this.swapping) await this.swapping;
  }

  /** Whether the page should hear an event of the fresh worker (decoded after). */
  heardFromFresh(wire: WireEvent): boolean {
    switch (wire.type) {
      case 'statechange':
        return this.ledger.fromFresh(wire.init.model, wire.init.version, wire.init.state);
      case 'progress':
        return this.ledger.progressFromFresh(wire.init.model, wire.init.version);
      default:
        return false; // aggregate progress and source errors are the serving worker's to tell
    }
  }

  /** A request to `worker` was answered (or given up): an old worker with none left is terminated. */
  settled(worker: WorkerLike): void {
    if (this.draining.has(worker) && this.host.pendingOn(worker) === 0) {
      this.draining.delete(worker);
      this.host.supervisor.retire(worker);
    }
  }

  /** A worker beside the serving one died. */
  died(worker: WorkerLike): void {
    this.draining.delete(worker);
  }

  /** The serving worker died and is being restarted in place: a fresh worker is abandoned (the restarted one loads the latest). */
  abandon(): void {
    if (!this.fresh) return;
    this.host.supervisor.retire(this.fresh);
    this.fresh = undefined; // its start fails with the requests in flight, and the swap is refused
  }

  private async swap(key: string, wanted: SwapWantedMessage): Promise<void> {
    const worker = this.host.supervisor.spawnBeside();
    this.fresh = worker;
    let timedOut = false;
    // A fresh worker that hangs (a stalled store read, a lost GPU device) must not hold swaps back for good.
    const timer = setTimeout(() => {
      timedOut = true;
      this.host.failPendingOn(worker, `the fresh worker did not have its versions AVAILABLE within freshWorkerStartTimeoutMs (${this.startTimeoutMs} ms)`);
    }, this.startTimeoutMs);
    try {
      const backend = (await this.host.request({ kind: 'start', id: this.nextId(), options: this.host.startOptions() }, worker)) as BackendName; // the client resolves a start with the worker's backend
      if (this.fresh !== worker) throw new ServingError('UNAVAILABLE', 'the fresh worker was abandoned (the serving worker restarted)');
      const uncovered = this.ledger.uncovered();
      if (uncovered.length > 0) throw new ServingError('UNAVAILABLE', `the fresh worker has no version AVAILABLE of ${uncovered.join(', ')}`);
      // The move: from here on requests go to the fresh worker.
      const old = this.host.supervisor.promote(worker);
      this.fresh = undefined;
      this.host.moved(backend);
      for (const v of this.ledger.move()) {
        for (const e of stateEvents(v.model, v.version, 'UNLOADING', 'AVAILABLE')) this.host.dispatch(e);
        for (const e of stateEvents(v.model, v.version, 'END', 'UNLOADING')) this.host.dispatch(e);
      }
      this.swaps++;
      this.draining.add(old);
      this.settled(old);
    } catch (e) {
      this.refused.add(key);
      if (this.fresh === worker) this.fresh = undefined;
      this.host.supervisor.retire(worker);
      const err = timedOut ? new ServingError('DEADLINE_EXCEEDED', ServingError.from(e, 'UNAVAILABLE').message) : ServingError.from(e, 'UNAVAILABLE');
      const status: Status = { error_code: err.code, error_message: `a fresh worker failed, the old one keeps serving: ${err.message}` };
      for (const v of this.ledger.refuse(wanted)) for (const e of stateEvents(v.model, v.version, 'END', v.state, status)) this.host.dispatch(e);
    } finally {
      clearTimeout(timer);
    }
  }
}
