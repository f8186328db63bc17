// TF Serving's BatchingSession for one model version and signature: validated requests join a
// BatchScheduler queue, each batch runs once on concatenated inputs, and its outputs are split back.
import { ServingError } from '../core/status.js';
import type { ValidatedInput } from '../runtime/input-validation.js';
import type { RequestContext, RunTiming } from '../runtime/servable.js';
import { requestEnded } from '../runtime/servable.js';
import type { SignatureSpec } from '../runtime/signature.js';
import type { TensorOutput } from '../runtime/tensor.js';
import { tensorOutput } from '../runtime/tensor.js';
import type { Batch, SchedulerClock, TaskPiece } from './batch-scheduler.js';
import { BatchScheduler, realClock } from './batch-scheduler.js';
import type { FlatValues } from './batch-tensors.js';
import { concatValues, copyRows, padTo, rowSizeOf, rows } from './batch-tensors.js';
import type { NormalizedBatchingParameters } from './batching-parameters.js';
import { paddedBatchSize } from './batching-parameters.js';

/** Where a batching session reports (the server's metrics, for one model). */
export interface BatchingMetricsSink {
  /** A task waited this long (µs) between joining the queue and its (first) batch starting. */
  queuingLatency(micros: number): void;
  /** A batch of `inputSize` rows ran as `processedSize` rows (the difference is padding). */
  batch(inputSize: number, processedSize: number): void;
  /** The model ran once on a batch. */
  wrappedRun(): void;
  /** How long the phases of one batch took (µs). */
  phases?(phases: BatchPhases): void;
}

/** The phases of one batch (µs); what the runner could not say is absent. */
export interface BatchPhases {
  /** Concatenating (and padding) the requests' inputs on the CPU into one array per input. */
  readonly concat: number;
  /** Making the input tensors and executing the graph (on a GPU backend the upload happens here). */
  readonly execute?: number;
  /** Reading the outputs back (one readback per output). */
  readonly readback?: number;
  /** Cutting the outputs into each request's rows. */
  readonly split: number;
}

/** Runs validated inputs of the signature unbatched (the servable's `run`); fills in `timing` if it can. */
export type SignatureRunner = (inputs: readonly ValidatedInput[], timing?: RunTiming) => Promise<Record<string, TensorOutput>>;

export interface BatchingSessionOptions {
  readonly signature: SignatureSpec;
  /** The graph placeholder's shape of a signature input (by graph tensor name), if known. */
  readonly graphShape: (tensorName: string) => readonly number[] | undefined;
  readonly run: SignatureRunner;
  readonly parameters: NormalizedBatchingParameters;
  readonly metrics?: BatchingMetricsSink;
  readonly clock?: SchedulerClock;
  /**
   * How each request gets its rows of a batch's outputs: `views` (default) are `subarray`s of the one
   * buffer read back for the batch, disjoint per request and never written by the library (no copy;
   * a caller that must transfer its output's `.buffer` should copy it first); `copies` are fresh arrays
   * each owning its buffer. In a worker's global scope the default is `copies`: the results are posted,
   * and posting a view clones its whole buffer, batch-mates' rows included.
   */
  readonly outputRows?: 'views' | 'copies';
}

type Outputs = Record<string, TensorOutput>;

interface Task {
  readonly inputs: readonly ValidatedInput[];
  readonly size: number;
  readonly enqueuedAt: number;
  /** Cancellation and deadline of the request (checked before its batch runs). */
  readonly context: RequestContext | undefined;
  started: boolean;
  settled: boolean;
  rowsDone: number;
  readonly parts: Array<{ offset: number; outputs: Outputs }>;
  readonly resolve: (o: Outputs) => void;
  readonly reject: (e: unknown) => void;
}

/**
 * One batching queue. A request is batched when every input's graph placeholder has an unknown batch
 * dimension (`[-1, …]`) and all its inputs share dim 0; otherwise it runs alone, at once. Requests
 * whose inputs differ in a non-batch dimension (or dtype) never share a batch (unless
 * `padVariableLengthInputs`). When a batched run's outputs do not all have dim 0 equal to the batch
 * size (a scalar, a reduction), the batch is re-run request by request and the signature is run
 * unbatched from then on (`unbatchedReason` says why).
 */
export class BatchingSession {
  /** True when the signature's inputs allow batching at all. */
  readonly batchable: boolean;
  private unsplittable: string | undefined;
  private readonly scheduler: BatchScheduler<Task>;
  private readonly clock: SchedulerClock;
  private readonly p: NormalizedBatchingParameters;
  private readonly viewRows: boolean;

  constructor(private readonly options: BatchingSessionOptions) {
    this.p = options.parameters;
    this.viewRows = (options.outputRows ?? (inWorkerScope() ? 'copies' : 'views')) === 'views';
    this.clock = options.clock ?? realClock;
    const { signature } = options;
    const notBatchable = signature.inputs.find((spec) => {
      const shape = options.graphShape(spec.name) ?? spec.shape;
      return shape === undefined || shape.length === 0 || shape[0]! >= 0;
    });
    this.batchable = signature.inputs.length > 0 && notBatchable === undefined;
    if (!this.batchable) {
      this.unsplittable = notBatchable ? `input ${JSON.stringify(notBatchable.key)} has no unknown batch dimension` : 'the signature has no inputs';
    }
    this.scheduler = new BatchScheduler<Task>(this.p, (batch) => this.processBatch(batch), this.clock);
  }

  /** Why requests of this signature run unbatched, or undefined while they are batched. */
  get unbatchedReason(): string | undefined {
    return this.unsplittable;
  }

  /** Batches waiting in the queue. */
  get numEnqueuedBatches(): number {
    return this.scheduler.numEnqueuedBatches;
  }

  /**
   * Runs one validated request, batched with others where it can be. Rejects at once with
   * UNAVAILABLE when the queue is full, INVALID_ARGUMENT when the request has more rows than
   * `maxBatchSize`.
   */
  run(inputs: readonly ValidatedInput[], context?: RequestContext): Promise<Outputs> {
    const ended = requestEnded(context);
    if (ended) return Promise.reject(ended);
    if (this.unsplittable !== undefined) return this.options.run(inputs);
    const size = inputs[0]?.shape[0];
    if (size === undefined || size === 0 || inputs.some((i) => i.shape[0] !== size)) return this.options.run(inputs);
    const key = inputs.map((i) => `${i.dtype}${this.p.padVariableLengthInputs ? `/rank${i.shape.length}` : `/${i.shape.slice(1).join('x')}`}`).join('|');
    return new Promise<Outputs>((resolve, reject) => {
      const task: Task = { inputs, size, enqueuedAt: this.clock.now(), context, started: false, settled: false, rowsDone: 0, parts: [], resolve, reject };
      this.scheduler.schedule(task, size, key);
    });
  }

  /** Stops the queue; tasks still waiting fail with UNAVAILABLE (none do when callers hold their handle). */
  close(): void {
    for (const batch of this.scheduler.close()) {
      for (const piece of batch.pieces) this.fail(piece.task, new ServingError('UNAVAILABLE', 'the model version was unloaded while the request waited in its batching queue'));
    }
  }

  private async processBatch(batch: Batch<Task>): Promise<void> {
    const startedAt = this.clock.now();
    for (const { task } of batch.pieces) {
      if (task.started) continue;
      task.started = true;
      this.options.metrics?.queuingLatency(Math.max(0, Math.round((startedAt - task.enqueuedAt) * 1000)));
    }
    // A request cancelled or past its deadline while it waited leaves without running.
    for (const { task } of batch.pieces) {
      const ended = task.settled ? undefined : requestEnded(task.context);
      if (ended) this.fail(task, ended);
    }
    // A task that failed in an earlier piece needs none of its other pieces.
    const live = batch.pieces.filter((p) => !p.task.settled);
    if (live.length === 0) return;
    if (this.unsplittable !== undefined) return this.runAlone(live);
    const inputSize = live.reduce((s, p) => s + p.size, 0);
    const processed = paddedBatchSize(inputSize, this.p.allowedBatchSizes);
    this.options.metrics?.batch(inputSize, processed);
    this.options.metrics?.wrappedRun();
    const timing: RunTiming = {};
    let outputs: Outputs;
    let concatMicros = 0;
    try {
      const only = live[0]!; // live is not empty (checked above)
      if (live.length === 1 && processed === inputSize && only.size === only.taskSize) {
        // One whole request, nothing to pad: its own inputs and outputs, no concat and no split.
        this.deliver(only, await this.options.run(only.task.inputs, timing));
        this.reportPhases(0, timing, 0);
        return;
      }
      const t0 = this.clock.now();
      const merged = this.merge(live, inputSize, processed);
      concatMicros = (this.clock.now() - t0) * 1000;
      outputs = await this.options.run(merged, timing);
    } catch (e) {
      for (const p of live) this.fail(p.task, e);
      return;
    }
    const bad = Object.entries(outputs).find(([, o]) => o.shape.length === 0 || o.shape[0] !== processed);
    if (bad) {
      this.unsplittable = `output ${JSON.stringify(bad[0])} has shape [${bad[1].shape.join(',')}], whose dim 0 is not the batch size ${processed}`;
      return this.runAlone(live);
    }
    const t1 = this.clock.now();
    let row = 0;
    for (const piece of live) {
      this.deliver(piece, splitOutputs(outputs, row, piece.size, this.viewRows));
      row += piece.size;
    }
    this.reportPhases(concatMicros, timing, (this.clock.now() - t1) * 1000);
  }

  private reportPhases(concat: number, timing: RunTiming, split: number): void {
    const sink = this.options.metrics;
    if (!sink?.phases) return;
    const us = (ms: number | undefined) => (ms === undefined ? undefined : Math.max(0, Math.round(ms * 1000)));
    sink.phases({
      concat: Math.round(concat),
      ...(timing.executeMs !== undefined ? { execute: us(timing.executeMs) } : {}),
      ...(timing.readbackMs !== undefined ? { readback: us(timing.readbackMs) } : {}),
      split: Math.round(split),
    });
  }

  /** Runs each piece on its own (the signature's outputs cannot be split by row). */
  private async runAlone(pieces: readonly TaskPiece<Task>[]): Promise<void> {
    for (const piece of pieces) {
      const task = piece.task;
      if (task.settled) continue;
      try {
        if (piece.size === piece.taskSize) {
          this.deliver(piece, await this.options.run(task.inputs));
        } else {
          // Part of a split request: outputs that cannot be split by row cannot be joined by row either, so
          // the whole request runs alone, and its other pieces find it settled.
          const outputs = await this.options.run(task.inputs);
          if (!task.settled) {
            task.settled = true;
            task.resolve(outputs);
          }
        }
      } catch (e) {
        this.fail(task, e);
      }
    }
  }

  /** Concatenates the pieces' inputs along dim 0 and pads to `processed` rows with copies of the first row. */
  private merge(pieces: readonly TaskPiece<Task>[], inputSize: number, processed: number): ValidatedInput[] {
    const first = pieces[0]!.task.inputs;
    return first.map((input, j) => {
      let rest = input.shape.slice(1);
      if (this.p.padVariableLengthInputs) {
        for (const p of pieces) rest = rest.map((d, k) => Math.max(d, p.task.inputs[j]!.shape[k + 1]!));
      }
      const rowSize = rowSizeOf([0, ...rest]);
      const parts: FlatValues[] = [];
      for (const p of pieces) {
        const t = p.task.inputs[j]!;
        let values = t.values as FlatValues;
        const target = [t.shape[0]!, ...rest];
        if (this.p.padVariableLengthInputs) values = padTo(values, t.shape, target, firstValue(values), t.dtype);
        parts.push(rows(values, rowSize, p.offset, p.offset + p.size));
      }
      if (processed > inputSize) {
        const padRow = rows(parts[0]!, rowSize, 0, 1);
        for (let i = inputSize; i < processed; i++) parts.push(padRow);
      }
      return { spec: input.spec, dtype: input.dtype, shape: [processed, ...rest], values: concatValues(parts, input.dtype) };
    });
  }

  private deliver(piece: TaskPiece<Task>, outputs: Outputs): void {
    const task = piece.task;
    if (task.settled) return;
    task.parts.push({ offset: piece.offset, outputs });
    task.rowsDone += piece.size;
    if (task.rowsDone < task.size) return;
    task.settled = true;
    if (task.parts.length === 1) {
      task.resolve(outputs);
      return;
    }
    task.parts.sort((a, b) => a.offset - b.offset);
    const joined: Outputs = {};
    for (const [key, o] of Object.entries(task.parts[0]!.outputs)) {
      const pieces = task.parts.map((p) => p.outputs[key]!);
      joined[key] = tensorOutput(o.dtype, [pieces.reduce((s, x) => s + x.shape[0]!, 0), ...o.shape.slice(1)], concatValues(pieces.map((x) => x.data), o.dtype));
    }
    task.resolve(joined);
  }

  private fail(task: Task, error: unknown): void {
    if (task.settled) return;
    task.settled = true;
    task.reject(error);
  }
}

function firstValue(values: FlatValues): string | number {
  if (Array.isArray(values)) return values[0] ?? '';
  return values.length ? values[0]! : 0;
}

/** Rows `[row, row + size)` of every output: views of the batch's buffer, or copies. */
function splitOutputs(outputs: Outputs, row: number, size: number, views: boolean): Outputs {
  const out: Outputs = {};
  for (const [key, o] of Object.entries(outputs)) {
    const rowSize = rowSizeOf(o.shape);
    const data = views ? rows(o.data, rowSize, row, row + size) : copyRows(o.data, rowSize, row, row + size);
    out[key] = tensorOutput(o.dtype, [size, ...o.shape.slice(1)], data);
  }
  return out;
}

/** True in a dedicated or shared worker (its results are posted to the page). */
function inWorkerScope(): boolean {
  const g = globalThis as { WorkerGlobalScope?: abstract new () => unknown }; // a browser global, absent in Node and pages
  return typeof g.WorkerGlobalScope === 'function' && globalThis instanceof g.WorkerGlobalScope;
}
