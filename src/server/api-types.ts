import type { Status } from '../core/status.js';
import type { ManagerState } from '../core/servable-state.js';
import type { SignatureSpec } from '../runtime/signature.js';
import type { InputValue, TensorOutput } from '../runtime/tensor.js';

/** A prediction request. Give `version` or `label` (not both), or neither for the latest AVAILABLE version. */
export interface PredictRequest {
  model: string;
  version?: number;
  label?: string;
  /** Default `serving_default`. */
  signatureName?: string;
  /**
   * The inputs by the signature's input keys. Each value is a nested array, a typed array (shape
   * `[length]`), `{dtype?, shape, data}`, or a `tf.Tensor` (read on the caller's side; TF.js need not be
   * loaded there). For a signature with one input, the value alone may be given.
   */
  inputs: Record<string, InputValue> | InputValue;
}

/** How a prediction is made: cancellation, deadline, and the label it gets in metrics. */
export interface PredictOptions {
  /** Where the request came in: `REST`, `local` (the default), … */
  entrypoint?: string;
  /**
   * Cancels the request: one still waiting (for its batch) never runs; one running is dropped (its
   * answer discarded). Either way the call rejects with CANCELLED at once.
   */
  signal?: AbortSignal;
  /**
   * A deadline in ms from now: a request still queued when it passes leaves the queue without running,
   * and the call rejects with DEADLINE_EXCEEDED then (also when the run would finish later).
   */
  timeoutMs?: number;
  /** The same as an absolute `Date.now()` time (what `timeoutMs` becomes when it crosses to a worker); the earlier of the two wins. */
  deadline?: number;
  /**
   * The user this request is assigned to a model's canary as (a stable id of yours: the same id always
   * gets the same version). Default: the server's `userId` option, else the id a browser keeps in
   * IndexedDB; in Node without either, each request is assigned at random. Ignored when the request
   * names a version or a label.
   */
  userId?: string;
}

/**
 * A prediction's answer. `O` names the signature's outputs when the caller states them
 * (`predict<'scores' | 'labels'>(…)` gives `outputs.scores` without an index check); each output's
 * `data` narrows by its `dtype` (`TensorOutput`).
 */
export interface PredictResponse<O extends string = string> {
  /** Which version answered (TF Serving's ModelSpec). */
  model: { name: string; version: number; signatureName: string };
  outputs: Record<O, TensorOutput>;
  /** The output, when the signature has exactly one (the same object as in `outputs`). */
  output?: TensorOutput;
}

/** TF Serving's GetModelStatusResponse, as its REST API writes it. */
export interface GetModelStatusResponse {
  model_version_status: Array<{ version: string; state: ManagerState; status: Status }>;
}

/** TF Serving's GetModelMetadataResponse, as its REST API writes it (note the double `signature_def`). */
export interface GetModelMetadataResponse {
  model_spec: { name: string; signature_name: string; version: string };
  metadata: { signature_def: { signature_def: Record<string, unknown> } };
}

/** Picks a version: a number, a label, or neither (the latest AVAILABLE, or the canary split's pick for `userId`). */
export interface VersionSelector {
  version?: number;
  label?: string;
  /** With neither version nor label: the user whose canary assignment picks the version (see `PredictOptions.userId`). */
  userId?: string;
}

/**
 * One signature of the version a request resolves to now (TF Serving's GetInfoMap), as read once at
 * load: inputs and outputs with dtypes and shapes, and the tf.Example parse spec when it has one.
 * Pin later calls to `model.version` so they see the same signature.
 */
export interface GetSignatureResponse {
  readonly model: { readonly name: string; readonly version: number; readonly signatureName: string };
  readonly signature: SignatureSpec;
}
