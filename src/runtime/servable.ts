import { ServingError } from '../core/status.js';
import type { SignatureSpec } from './signature.js';
import type { TensorOutput } from './tensor.js';

/** How long loading a version took (set by the loader, for metrics). */
export interface LoadTimings {
  /** The whole load, warmup included (µs). */
  readonly loadMicros: number;
  /** Replaying the warmup requests (µs); undefined when warmup is off. */
  readonly warmupMicros?: number;
  /** Warmup requests replayed. */
  readonly warmupRequests?: number;
}

/** How long the phases of one run took (ms), filled in by the runtime when asked. */
export interface RunTiming {
  /** Making the input tensors (the upload, on a GPU backend, is lazy: it happens in execute) and executing the graph. */
  executeMs?: number;
  /** Reading every output back to the CPU (`data()`), from the end of execute. */
  readbackMs?: number;
}

/** What one prediction produced: the signature that ran and its outputs by output key. */
export interface PredictResult {
  readonly signature: SignatureSpec;
  readonly outputs: Record<string, TensorOutput>;
}

/** What a request carries besides its inputs: how it may be cancelled, and until when it is wanted. */
export interface RequestContext {
  /** Aborted when the caller no longer wants the answer. */
  readonly signal?: AbortSignal;
  /** An absolute `Date.now()` time after which the answer is not wanted. */
  readonly deadline?: number;
}

/** Why a request must not run (any more): CANCELLED, DEADLINE_EXCEEDED, or undefined while it is wanted. */
export function requestEnded(context: RequestContext | undefined, at?: number): ServingError | undefined {
  if (!context) return undefined;
  if (context.signal?.aborted) {
    const reason = context.signal.reason;
    const why = reason instanceof Error ? `: ${reason.message}` : typeof reason === 'string' ? `: ${reason}` : '';
    return new ServingError('CANCELLED', `the request was cancelled (its AbortSignal was aborted${why})`);
  }
  if (context.deadline === undefined) return undefined;
  const now = at ?? Date.now(); // read only for a request with a deadline
  if (now >= context.deadline) {
    return new ServingError('DEADLINE_EXCEEDED', `the request's deadline passed ${now - context.deadline} ms ago`);
  }
  return undefined;
}

/** The longest delay setTimeout takes (longer ones fire at once). */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Calls `fn` once `Date.now()` reaches `deadline` (never for an infinite one; long waits are re-armed);
 * returns what stops it.
 */
export function atDeadline(deadline: number, fn: () => void): () => void {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const arm = () => {
    if (!Number.isFinite(deadline)) return;
    const wait = deadline - Date.now();
    // A timer may fire a little before the wall clock gets there: check, and wait again if so.
    timer = wait <= 0 ? undefined : setTimeout(arm, Math.min(MAX_TIMER_MS, wait));
    if (timer === undefined) fn();
  };
  arm();
  return () => clearTimeout(timer);
}

/**
 * One loaded model version that answers requests (TF Serving's servable: a SavedModelBundle and its
 * session). It owns its requests: `predict` picks the signature, validates the inputs against it and
 * the graph (INVALID_ARGUMENT before any backend work) and runs them. A batching wrapper is a
 * Servable too (TF Serving's BatchingSession wrapping a Session), put around it at load time.
 */
export interface Servable {
  /** Every signature of the version, by name, as read once at load (parse specs included). */
  readonly signatures: ReadonlyMap<string, SignatureSpec>;
  /** Bytes of the version's files. */
  readonly sizeBytes: number;
  /** How long the version took to load and warm up. */
  readonly loadTimings: LoadTimings | undefined;
  /** The signature `name` (default `serving_default`), or INVALID_ARGUMENT listing the ones there are. `where` names the version in errors. */
  signature(name: string | undefined, where: string): SignatureSpec;
  /**
   * Validates and runs one request on signature `signatureName` (default `serving_default`). A request
   * whose `context` has ended (cancelled, past its deadline) before it runs is not run.
   */
  predict(signatureName: string | undefined, inputs: unknown, where: string, context?: RequestContext): Promise<PredictResult>;
}
