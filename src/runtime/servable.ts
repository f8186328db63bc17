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
  /** Validates and runs one request on signature `signatureName` (default `serving_default`). */
  predict(signatureName: string | undefined, inputs: unknown, where: string): Promise<PredictResult>;
}
