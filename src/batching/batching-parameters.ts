import { ServingError } from '../core/status.js';

/**
 * TF Serving's `BatchingParameters` (session_bundle_config.proto), in camelCase. Every field is
 * optional; the defaults are TF Serving's except `numBatchThreads`.
 */
export interface BatchingParameters {
  /**
   * The largest request (rows along dim 0) a queue accepts, and without splitting the largest batch it
   * runs. A larger request is INVALID_ARGUMENT ("Task size N is larger than maximum input batch size
   * M"), as in TF Serving. Default 1000 (TF Serving's). In a browser 32 is a better start: big batches
   * mostly add latency on WebGL/WebGPU/WASM.
   */
  maxBatchSize?: number;
  /** How long (µs) the oldest request of an under-full batch waits for batch-mates. Default 0: a batch runs as soon as the queue is free. */
  batchTimeoutMicros?: number;
  /** Batches (open or full, not yet running) one queue holds; beyond that a request is UNAVAILABLE at once. Default 10. */
  maxEnqueuedBatches?: number;
  /** Batches of one queue that may run at once (TF: threads of the shared pool, there ≈ CPU count). Default 1. */
  numBatchThreads?: number;
  /**
   * Sizes batches are padded up to (with copies of a real row; padded outputs are dropped). Strictly
   * increasing; the last entry must equal `maxBatchSize` (with splitting: `maxExecutionBatchSize`).
   */
  allowedBatchSizes?: number[];
  /** Split a request across batches (up to `maxExecutionBatchSize` rows each) instead of keeping it whole. Default false. */
  enableLargeBatchSplitting?: boolean;
  /** With splitting, the largest batch executed. Default `maxBatchSize`; at most `maxBatchSize`. */
  maxExecutionBatchSize?: number;
  /**
   * Pad inputs whose non-batch dimensions differ (where the graph allows it) to a common shape with each
   * tensor's first element, so they batch together. Default false: such requests run in separate batches.
   */
  padVariableLengthInputs?: boolean;
  /**
   * TF's `batch_padding_policy` for a batch that runs before it is full: `PAD_UP` (default) pads all it
   * holds up to the next allowed size; `BATCH_DOWN` runs the largest allowed size the queued requests
   * fill and leaves the rest for the next batch (less padding, more batches: worth it where a row costs
   * about as much as a batch, e.g. on wasm/cpu). Only with `allowedBatchSizes`.
   */
  batchPaddingPolicy?: 'PAD_UP' | 'BATCH_DOWN';
}

/** Batching parameters with every default filled in and checked. */
export interface NormalizedBatchingParameters {
  readonly maxBatchSize: number;
  readonly batchTimeoutMicros: number;
  readonly maxEnqueuedBatches: number;
  readonly numBatchThreads: number;
  readonly allowedBatchSizes: readonly number[];
  readonly enableLargeBatchSplitting: boolean;
  /** The largest batch executed: `maxExecutionBatchSize` with splitting, else `maxBatchSize`. */
  readonly maxExecutionBatchSize: number;
  readonly padVariableLengthInputs: boolean;
  readonly batchPaddingPolicy: 'PAD_UP' | 'BATCH_DOWN';
}

export const DEFAULT_BATCHING_PARAMETERS = Object.freeze({
  maxBatchSize: 1000,
  batchTimeoutMicros: 0,
  maxEnqueuedBatches: 10,
  numBatchThreads: 1,
  enableLargeBatchSplitting: false,
  padVariableLengthInputs: false,
  batchPaddingPolicy: 'PAD_UP',
});

const KEYS: ReadonlySet<string> = new Set([
  'maxBatchSize',
  'batchTimeoutMicros',
  'maxEnqueuedBatches',
  'numBatchThreads',
  'allowedBatchSizes',
  'enableLargeBatchSplitting',
  'maxExecutionBatchSize',
  'padVariableLengthInputs',
  'batchPaddingPolicy',
]);

/** Checks the shape of a (partial) BatchingParameters object; INVALID_ARGUMENT names the field. */
export function checkBatchingParameters(value: unknown, where: string): BatchingParameters {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ServingError('INVALID_ARGUMENT', `${where} must be an object of BatchingParameters, got ${JSON.stringify(value)}`);
  }
  const p = value as Record<string, unknown>;
  for (const key of Object.keys(p)) {
    if (!KEYS.has(key)) throw new ServingError('INVALID_ARGUMENT', `${where}.${key} is not a batching parameter; known: ${[...KEYS].join(', ')}`);
  }
  const positiveInt = (key: string, min: number) => {
    const v = p[key];
    if (v !== undefined && (typeof v !== 'number' || !Number.isInteger(v) || v < min)) {
      throw new ServingError('INVALID_ARGUMENT', `${where}.${key} must be an integer ≥ ${min}, got ${JSON.stringify(v)}`);
    }
  };
  positiveInt('maxBatchSize', 1);
  positiveInt('maxEnqueuedBatches', 1);
  positiveInt('numBatchThreads', 1);
  positiveInt('maxExecutionBatchSize', 1);
  const timeout = p.batchTimeoutMicros;
  if (timeout !== undefined && (typeof timeout !== 'number' || !Number.isFinite(timeout) || timeout < 0)) {
    throw new ServingError('INVALID_ARGUMENT', `${where}.batchTimeoutMicros must be a non-negative number of microseconds, got ${JSON.stringify(timeout)}`);
  }
  for (const key of ['enableLargeBatchSplitting', 'padVariableLengthInputs']) {
    if (p[key] !== undefined && typeof p[key] !== 'boolean') {
      throw new ServingError('INVALID_ARGUMENT', `${where}.${key} must be true or false, got ${JSON.stringify(p[key])}`);
    }
  }
  const policy = p.batchPaddingPolicy;
  if (policy !== undefined && policy !== 'PAD_UP' && policy !== 'BATCH_DOWN') {
    throw new ServingError('INVALID_ARGUMENT', `${where}.batchPaddingPolicy must be "PAD_UP" or "BATCH_DOWN", got ${JSON.stringify(policy)}`);
  }
  const allowed = p.allowedBatchSizes;
  if (allowed !== undefined) {
    if (!Array.isArray(allowed) || allowed.some((s) => typeof s !== 'number' || !Number.isInteger(s) || s < 1)) {
      throw new ServingError('INVALID_ARGUMENT', `${where}.allowedBatchSizes must be a list of positive integers, got ${JSON.stringify(allowed)}`);
    }
    for (let i = 1; i < allowed.length; i++) {
      if ((allowed[i] as number) <= (allowed[i - 1] as number)) {
        throw new ServingError('INVALID_ARGUMENT', `${where}.allowedBatchSizes entries must be monotonically increasing, got ${JSON.stringify(allowed)}`);
      }
    }
  }
  return { ...(p as BatchingParameters), ...(Array.isArray(allowed) ? { allowedBatchSizes: [...(allowed as number[])] } : {}) };
}

/**
 * Merges server-wide parameters with a model's override (field by field, the model's win), fills in
 * the defaults and checks the whole: INVALID_ARGUMENT names the field, like TF Serving's
 * "Last entry in allowed_batch_sizes must match max_batch_size".
 */
export function normalizeBatchingParameters(serverWide: unknown, override?: unknown, where = 'batchingParameters', overrideWhere = where): NormalizedBatchingParameters {
  const base = checkBatchingParameters(serverWide, where);
  const own = checkBatchingParameters(override, overrideWhere);
  const p = { ...base, ...Object.fromEntries(Object.entries(own).filter(([, v]) => v !== undefined)) } as BatchingParameters;
  const maxBatchSize = p.maxBatchSize ?? DEFAULT_BATCHING_PARAMETERS.maxBatchSize;
  const enableLargeBatchSplitting = p.enableLargeBatchSplitting ?? DEFAULT_BATCHING_PARAMETERS.enableLargeBatchSplitting;
  if (p.maxExecutionBatchSize !== undefined && p.maxExecutionBatchSize > maxBatchSize) {
    throw new ServingError('INVALID_ARGUMENT', `${overrideWhere}.maxExecutionBatchSize (${p.maxExecutionBatchSize}) must be at most maxBatchSize (${maxBatchSize})`);
  }
  const maxExecutionBatchSize = enableLargeBatchSplitting ? (p.maxExecutionBatchSize ?? maxBatchSize) : maxBatchSize;
  const allowedBatchSizes = p.allowedBatchSizes ?? [];
  if (allowedBatchSizes.length > 0) {
    const last = allowedBatchSizes[allowedBatchSizes.length - 1]!;
    if (last !== maxExecutionBatchSize) {
      const field = enableLargeBatchSplitting ? 'maxExecutionBatchSize' : 'maxBatchSize';
      throw new ServingError(
        'INVALID_ARGUMENT',
        `${overrideWhere}.allowedBatchSizes: the last entry must match ${field}; last entry was ${last}; expected ${maxExecutionBatchSize}`,
      );
    }
  }
  return Object.freeze({
    maxBatchSize,
    batchTimeoutMicros: p.batchTimeoutMicros ?? DEFAULT_BATCHING_PARAMETERS.batchTimeoutMicros,
    maxEnqueuedBatches: p.maxEnqueuedBatches ?? DEFAULT_BATCHING_PARAMETERS.maxEnqueuedBatches,
    numBatchThreads: p.numBatchThreads ?? DEFAULT_BATCHING_PARAMETERS.numBatchThreads,
    allowedBatchSizes: Object.freeze([...allowedBatchSizes]),
    enableLargeBatchSplitting,
    maxExecutionBatchSize,
    padVariableLengthInputs: p.padVariableLengthInputs ?? DEFAULT_BATCHING_PARAMETERS.padVariableLengthInputs,
    batchPaddingPolicy: p.batchPaddingPolicy ?? DEFAULT_BATCHING_PARAMETERS.batchPaddingPolicy,
  });
}

/** The batch size a batch of `size` rows is padded to: the next allowed size, or `size` itself. */
export function paddedBatchSize(size: number, allowedBatchSizes: readonly number[]): number {
  for (const s of allowedBatchSizes) if (s >= size) return s;
  return size;
}
