// TF's batch scheduler queue (shared_batch_scheduler.h), for one model version and signature, with
// the event loop standing in for the batch threads. Pure logic: it knows sizes and keys, not tensors.
import type { Clock } from '../core/clock.js';
import { realClock } from '../core/clock.js';
import { ServingError } from '../core/status.js';
import { nextTurn } from './next-turn.js';

/** Rows `[offset, offset + size)` of a task; a whole task unless large batch splitting cut it. */
export interface TaskPiece<T> {
  readonly task: T;
  readonly offset: number;
  readonly size: number;
  /** Rows of the whole task. */
  readonly taskSize: number;
}

/** Tasks run together. Only tasks with the same key share a batch. */
export interface Batch<T> {
  readonly key: string;
  readonly pieces: readonly TaskPiece<T>[];
  /** Rows of all pieces. */
  readonly size: number;
}

export interface BatchSchedulerOptions {
  /** The largest task accepted (TF: input_batch_size_limit). */
  readonly maxBatchSize: number;
  /** The largest batch run; equals maxBatchSize unless splitting. */
  readonly maxExecutionBatchSize: number;
  readonly batchTimeoutMicros: number;
  readonly maxEnqueuedBatches: number;
  readonly numBatchThreads: number;
  readonly enableLargeBatchSplitting: boolean;
  /** Sizes a batch is padded up to (none: any size runs as is). */
  readonly allowedBatchSizes?: readonly number[];
  /**
   * TF's `batch_padding_policy`, for a batch that runs before it is full: `PAD_UP` (default) runs all
   * it holds, padded up to the next allowed size; `BATCH_DOWN` runs the largest allowed size it fills
   * (whole pieces, padded up to an allowed size if pieces do not add up to it exactly) and leaves the
   * rest at the head of the queue, due at once — fewer padding rows, one more batch.
   */
  readonly batchPaddingPolicy?: 'PAD_UP' | 'BATCH_DOWN';
}

/** Time and timers; tests pass a fake. */
export type SchedulerClock = Clock;
export { realClock };

interface QueuedBatch<T> {
  key: string;
  pieces: TaskPiece<T>[];
  size: number;
  /** No more tasks join: full, or a task did not fit. */
  closed: boolean;
  /** When its oldest task was enqueued (ms, clock time). */
  oldest: number;
  /**
   * Opened on an empty queue (`pending` until the end of the turn in which no more requests joined it):
   * if no batch is in flight then, it runs (`ripe`) instead of waiting for the timeout — requests that
   * arrive in the same turn or in consecutive turns still share it; else it is timed (`no`).
   */
  eager: 'no' | 'pending' | 'ripe';
}

/**
 * Collects tasks into batches and hands each batch to `processBatch`, like TF's queue:
 * - a task joins the open batch of its key if it fits, else that batch closes and a new one opens;
 * - a batch runs when a "thread" is free and it is closed (full), or its oldest task waited
 *   `batchTimeoutMicros`, or its first task found the queue empty and no batch in flight (the timeout is a
 *   maximum wait, as in TF Serving, not a minimum: nothing is gained by waiting when nothing else is
 *   queued and the device has room) — then it runs on the event loop's next turn, so requests arriving
 *   in the same turn batch; "at once" for a full batch is after the current synchronous work;
 * - `numBatchThreads` batches are in flight at most (a batch counts until `processBatch` settles, its
 *   readback included): with 2, batch k+1 is dispatched while batch k's outputs are read back;
 * - at most `maxEnqueuedBatches` batches wait; a task needing one more is UNAVAILABLE at once;
 * - a task over `maxBatchSize` rows is INVALID_ARGUMENT; with splitting, a task is cut across the open
 *   batch and new batches of at most `maxExecutionBatchSize` rows.
 * `processBatch` owns the outcome of every task it is given and should not reject.
 */
export class BatchScheduler<T> {
  private readonly queue: QueuedBatch<T>[] = [];
  private running = 0;
  private kicked = false;
  private timer: unknown;
  private timerAt = Number.POSITIVE_INFINITY;
  private closed = false;

  constructor(
    private readonly options: BatchSchedulerOptions,
    private readonly processBatch: (batch: Batch<T>) => Promise<void>,
    private readonly clock: SchedulerClock = realClock,
  ) {}

  /** Batches waiting (open or closed, not running). */
  get numEnqueuedBatches(): number {
    return this.queue.length;
  }

  /** Rows waiting in all batches. */
  get numEnqueuedRows(): number {
    return this.queue.reduce((s, b) => s + b.size, 0);
  }

  /** Batches running now. */
  get numRunningBatches(): number {
    return this.running;
  }

  /** Enqueues `size` rows of `task`; throws INVALID_ARGUMENT or UNAVAILABLE (the task is then not enqueued). */
  schedule(task: T, size: number, key = ''): void {
    const o = this.options;
    if (this.closed) throw new ServingError('UNAVAILABLE', 'the batch scheduler is closed: the model version was unloaded');
    if (!Number.isInteger(size) || size < 1) throw new ServingError('INVALID_ARGUMENT', `Task size ${size} must be a positive integer`);
    if (size > o.maxBatchSize) {
      throw new ServingError('INVALID_ARGUMENT', `Task size ${size} is larger than maximum input batch size ${o.maxBatchSize}`);
    }
    const limit = o.maxExecutionBatchSize;
    let open = this.openBatch(key);
    const now = this.clock.now();
    // A batch opened on an empty queue may be eager: decided at the end of this turn (see newBatch).
    const eager = this.queue.length === 0;
    if (o.enableLargeBatchSplitting) {
      const capacity = (o.maxEnqueuedBatches - this.queue.length) * limit + (open ? limit - open.size : 0);
      if (size > capacity) {
        throw new ServingError(
          'UNAVAILABLE',
          `The batch scheduling queue to which this task was submitted is full; task size is ${size} but scheduling capacity is only ${capacity} (num_enqueued_batches=${this.queue.length}, max_enqueued_batches=${o.maxEnqueuedBatches}, open_batch_size=${open?.size ?? 0}, max_execution_batch_size=${limit})`,
        );
      }
      let offset = 0;
      while (offset < size) {
        if (!open || open.size >= limit) {
          if (open) open.closed = true;
          open = this.newBatch(key, now, eager);
        }
        const n = Math.min(size - offset, limit - open.size);
        this.add(open, { task, offset, size: n, taskSize: size }, now);
        offset += n;
      }
    } else {
      if (open && open.size + size > limit) {
        if (this.queue.length >= o.maxEnqueuedBatches) throw this.full();
        open.closed = true;
        open = undefined;
      }
      if (!open) {
        if (this.queue.length >= o.maxEnqueuedBatches) throw this.full();
        open = this.newBatch(key, now, eager);
      }
      this.add(open, { task, offset: 0, size, taskSize: size }, now);
    }
    this.kick();
  }

  /** Stops the scheduler: later tasks are UNAVAILABLE; returns the batches still waiting (their tasks are the caller's to fail). */
  close(): Batch<T>[] {
    this.closed = true;
    this.clearTimer();
    return this.queue.splice(0).map((b) => ({ key: b.key, pieces: b.pieces, size: b.size }));
  }

  private full(): ServingError {
    return new ServingError(
      'UNAVAILABLE',
      `The batch scheduling queue to which this task was submitted is full (max_enqueued_batches=${this.options.maxEnqueuedBatches})`,
    );
  }

  private openBatch(key: string): QueuedBatch<T> | undefined {
    for (let i = this.queue.length - 1; i >= 0; i--) {
      const b = this.queue[i];
      if (b?.key === key) return b.closed ? undefined : b;
    }
    return undefined;
  }

  private newBatch(key: string, now: number, eager: boolean): QueuedBatch<T> {
    // With a timeout of 0 every batch is due at once: nothing to decide at the end of the turn.
    const decide = eager && this.options.batchTimeoutMicros > 0;
    const b: QueuedBatch<T> = { key, pieces: [], size: 0, closed: false, oldest: now, eager: decide ? 'pending' : 'no' };
    this.queue.push(b);
    if (decide) this.endOfTurn(b, 1); // its first task joins right after this
    return b;
  }

  /**
   * Decides a pending eager batch at the end of a turn. While requests keep arriving turn after turn
   * (a worker receives each request as its own message) it waits another turn, up to the timeout.
   * Then, with no batch in flight there is nothing to wait for, so it runs now; with one in flight it
   * waits for batch-mates up to the timeout, even if another thread is idle — otherwise, under load, an
   * idle thread would take every first arrival alone and batches would stay small. (Deciding at the end
   * of the turn, not at schedule time, sees a batch that has just delivered as finished.)
   */
  private endOfTurn(b: QueuedBatch<T>, seen: number): void {
    nextTurn(() => {
      if (b.eager !== 'pending') return;
      const timeoutMs = this.options.batchTimeoutMicros / 1000;
      if (b.pieces.length > seen && !b.closed && this.clock.now() - b.oldest < timeoutMs) {
        this.endOfTurn(b, b.pieces.length);
        return;
      }
      b.eager = this.running === 0 ? 'ripe' : 'no';
      this.dispatch();
    });
  }

  private add(batch: QueuedBatch<T>, piece: TaskPiece<T>, now: number): void {
    if (batch.pieces.length === 0) batch.oldest = now;
    batch.pieces.push(piece);
    batch.size += piece.size;
    if (batch.size >= this.options.maxExecutionBatchSize) batch.closed = true;
  }

  /** Dispatches after the current synchronous work, so requests made together land in one batch. */
  private kick(): void {
    if (this.kicked || this.closed) return;
    this.kicked = true;
    queueMicrotask(() => {
      this.kicked = false;
      this.dispatch();
    });
  }

  /** Starts what is due; `timerFired` means the batch timeout of the oldest batch has passed. */
  private dispatch(timerFired = false): void {
    if (this.closed) return;
    const timeoutMs = this.options.batchTimeoutMicros / 1000;
    while (this.running < this.options.numBatchThreads && this.queue.length > 0) {
      const now = this.clock.now();
      // When our own timer fired, a coarse clock may read a little short of the timeout: allow 1 ms.
      const due = timeoutMs - (timerFired ? 1 : 0);
      // An eager batch waits for the end of its turn, not for a (short) timeout: callers still arriving
      // in this turn (validating, copying) may take longer. Timeout 0 keeps its meaning: at once.
      const i = this.queue.findIndex((b) => b.closed || b.eager === 'ripe' || (this.timed(b) && now - b.oldest >= due));
      if (i < 0) break;
      const b = this.queue[i];
      if (!b) break;
      const rest = this.batchDown(b);
      if (rest) this.queue.splice(i, 1, rest);
      else this.queue.splice(i, 1);
      this.start({ key: b.key, pieces: b.pieces, size: b.size });
    }
    this.armTimer(timeoutMs);
  }

  /**
   * With `BATCH_DOWN`, cuts an under-full batch to the largest allowed size it reaches (whole pieces)
   * and returns what is left as a batch due at once; undefined when nothing is cut.
   */
  private batchDown(b: QueuedBatch<T>): QueuedBatch<T> | undefined {
    const allowed = this.options.allowedBatchSizes ?? [];
    if (this.options.batchPaddingPolicy !== 'BATCH_DOWN' || allowed.length === 0 || allowed.includes(b.size)) return undefined;
    let down = 0;
    for (const s of allowed) if (s <= b.size) down = s;
    if (down === 0) return undefined;
    let size = 0;
    let n = 0;
    while (n < b.pieces.length && size + (b.pieces[n]?.size ?? 0) <= down) size += b.pieces[n++]?.size ?? 0;
    if (n === 0 || n === b.pieces.length) return undefined;
    const rest: QueuedBatch<T> = { key: b.key, pieces: b.pieces.splice(n), size: b.size - size, closed: b.closed, oldest: b.oldest, eager: 'ripe' };
    b.size = size;
    return rest;
  }

  /** Whether the batch timeout applies to `b` (not to an eager batch waiting for the end of its turn). */
  private timed(b: QueuedBatch<T>): boolean {
    return b.eager !== 'pending' || this.options.batchTimeoutMicros === 0;
  }

  private start(batch: Batch<T>): void {
    this.running++;
    let done: Promise<void>;
    try {
      done = this.processBatch(batch);
    } catch (e) {
      done = Promise.reject(e);
    }
    void done.catch(() => undefined).finally(() => {
      this.running--;
      this.kick();
    });
  }

  /** Wakes up when the oldest waiting batch times out, if a thread is free for it. */
  private armTimer(timeoutMs: number): void {
    // Eager batches are started by their own next-turn callback, not by the timer.
    const timed = this.queue.filter((b) => this.timed(b));
    if (this.running >= this.options.numBatchThreads || timed.length === 0) {
      this.clearTimer();
      return;
    }
    const at = Math.min(...timed.map((b) => b.oldest)) + timeoutMs;
    if (this.timer !== undefined && this.timerAt <= at) return;
    this.clearTimer();
    this.timerAt = at;
    // Whole milliseconds: timers round a fractional delay down and clocks are coarse (100 µs or 1 ms in
    // browsers), so a timer set for the exact remainder can fire a hair early, re-arm, and fall into
    // the 4 ms clamp browsers put on nested timers.
    this.timer = this.clock.setTimeout(() => {
      this.timer = undefined;
      this.timerAt = Number.POSITIVE_INFINITY;
      this.dispatch(true);
    }, Math.max(0, Math.ceil(at - this.clock.now())));
  }

  private clearTimer(): void {
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = Number.POSITIVE_INFINITY;
  }
}
