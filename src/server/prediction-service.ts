// TF Serving's PredictionServiceImpl (and GetModelMetadataImpl): requests resolved to a version
// through the ServerCore, answered by that version's servable, recorded in the metrics.
import type { StatusCode } from '../core/status.js';
import { ServingError } from '../core/status.js';
import type { ServingMetrics } from '../metrics/serving-metrics.js';
import { microsSince } from '../metrics/serving-metrics.js';
import type { PredictResult, RequestContext } from '../runtime/servable.js';
import type { TensorOutput } from '../runtime/tensor.js';
import { atDeadline, requestEnded } from '../runtime/servable.js';
import { signatureDefJson } from '../runtime/signature.js';
import type { GetModelMetadataResponse, GetSignatureResponse, PredictOptions, PredictRequest, PredictResponse, VersionSelector } from './api-types.js';
import type { ServerCore } from './server-core.js';

export class PredictionService {
  constructor(
    private readonly core: ServerCore,
    private readonly metrics: ServingMetrics,
  ) {}

  /**
   * Runs one prediction on the version the request picks; the version stays loaded until it
   * finishes. The servable validates and runs it (batched, when the loader wrapped it for batching).
   */
  async predict(request: PredictRequest, options: PredictOptions = {}): Promise<PredictResponse> {
    const startedAt = performance.now();
    const asked = typeof request === 'object' && request !== null ? request.model : undefined;
    const modelName = this.core.isConfigured(asked) ? asked : '(unknown)';
    const entrypoint = options.entrypoint ?? 'local';
    const resolved: { version?: number } = {};
    try {
      const response = await this.predictNow(request, requestContext(options), options.userId, resolved);
      this.record(modelName, resolved.version, 'OK', startedAt, entrypoint);
      return response;
    } catch (e) {
      this.record(modelName, resolved.version, ServingError.from(e).code, startedAt, entrypoint);
      throw e;
    }
  }

  /** Request count and latency, and per version (for canary vs stable) once the request picked one. */
  private record(model: string, version: number | undefined, status: StatusCode, startedAt: number, entrypoint: string): void {
    const micros = microsSince(startedAt);
    this.metrics.recordRequest(model, status, micros, entrypoint);
    if (version !== undefined) this.metrics.recordVersionRequest(model, version, status, micros);
  }

  /** TF Serving's GetModelMetadata (signature_def) of the version the selector picks. */
  async getModelMetadata(model: string, selector: number | VersionSelector = {}): Promise<GetModelMetadataResponse> {
    const handle = await this.core.servableHandleWhenLoaded(model, typeof selector === 'number' ? { version: selector } : selector, undefined, false);
    try {
      const defs = Object.fromEntries([...handle.servable.signatures].map(([k, s]) => [k, signatureDefJson(s)]));
      return {
        model_spec: { name: model, signature_name: '', version: String(handle.id.version) },
        metadata: { signature_def: { signature_def: defs } },
      };
    } finally {
      handle.release();
    }
  }

  /** One signature (with its parse spec) of the version the selector picks now. */
  async getSignature(model: string, selector: VersionSelector = {}, signatureName?: string): Promise<GetSignatureResponse> {
    const handle = await this.core.servableHandleWhenLoaded(model, selector, undefined, false);
    try {
      const signature = handle.servable.signature(signatureName, `model ${handle.id.name} version ${handle.id.version}`);
      return { model: { name: handle.id.name, version: handle.id.version, signatureName: signature.name }, signature };
    } finally {
      handle.release();
    }
  }

  private async predictNow(request: PredictRequest, context: RequestContext | undefined, userId: string | undefined, resolved: { version?: number }): Promise<PredictResponse> {
    if (typeof request !== 'object' || request === null) throw new ServingError('INVALID_ARGUMENT', 'predict needs a request object {model, inputs, version?, label?, signatureName?}');
    const ended = requestEnded(context);
    if (ended) throw ended;
    // With on-demand loading, a model not loaded is loaded first, within the request's deadline.
    const got = this.core.servableHandleWhenLoaded(request.model, { version: request.version, label: request.label, userId }, context);
    const handle = got instanceof Promise ? await got : got;
    resolved.version = handle.id.version;
    let run: Promise<PredictResult>;
    try {
      const where = `model ${handle.id.name} version ${handle.id.version}`;
      if (request.signatureName !== undefined && typeof request.signatureName !== 'string') {
        throw new ServingError('INVALID_ARGUMENT', `${where}: signatureName must be a string`);
      }
      run = handle.servable.predict(request.signatureName, request.inputs, where, context);
    } catch (e) {
      handle.release();
      throw e;
    }
    if (!context) {
      // Nothing can end the wait early: hold the handle while awaiting the (batched) run.
      try {
        return responseOf(handle.id, await run);
      } finally {
        handle.release();
      }
    }
    // The handle is held until the (batched) run is done, even when the caller stopped waiting for it.
    void run.then(() => handle.release(), () => handle.release());
    return endsWith(
      run.then((result) => responseOf(handle.id, result)),
      context,
    );
  }
}

/** The response of a run on the version `id`: its outputs, and `output` when there is only one. */
function responseOf(id: { readonly name: string; readonly version: number }, { signature, outputs }: PredictResult): PredictResponse {
  let only: TensorOutput | undefined;
  let count = 0;
  for (const key in outputs) {
    if (++count > 1) break;
    only = outputs[key];
  }
  return { model: { name: id.name, version: id.version, signatureName: signature.name }, outputs, ...(count === 1 && only ? { output: only } : {}) };
}

/** The request's cancellation and deadline: the earlier of `deadline` and now + `timeoutMs`. */
function requestContext(options: PredictOptions): RequestContext | undefined {
  const { signal, timeoutMs, deadline } = options;
  // Told by its structure: a signal from another realm (a frame) is an AbortSignal too.
  if (signal !== undefined && (typeof signal?.aborted !== 'boolean' || typeof signal.addEventListener !== 'function')) throw new ServingError('INVALID_ARGUMENT', 'predict options.signal must be an AbortSignal');
  for (const [name, v] of [['timeoutMs', timeoutMs], ['deadline', deadline]] as const) {
    if (v !== undefined && (typeof v !== 'number' || Number.isNaN(v))) throw new ServingError('INVALID_ARGUMENT', `predict options.${name} must be a number of ms, got ${JSON.stringify(v)}`);
  }
  const limits = [deadline, timeoutMs === undefined ? undefined : Date.now() + timeoutMs].filter((d): d is number => d !== undefined);
  if (!signal && limits.length === 0) return undefined;
  return { signal, deadline: limits.length ? Math.min(...limits) : undefined };
}

/**
 * `run`, or CANCELLED as soon as the signal aborts, or DEADLINE_EXCEEDED as soon as the deadline
 * passes: a request dropped while it runs has its answer discarded (the run itself cannot be stopped).
 */
function endsWith<T>(run: Promise<T>, context: RequestContext): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const { signal, deadline } = context;
    let stopTimer = () => {};
    const end = () => {
      const why = requestEnded(context);
      if (why) finish(() => reject(why));
    };
    const finish = (settle: () => void) => {
      stopTimer();
      signal?.removeEventListener('abort', end);
      settle();
    };
    if (deadline !== undefined) stopTimer = atDeadline(deadline, end);
    signal?.addEventListener('abort', end);
    run.then(
      (value) => {
        // An answer that comes after the deadline (or the abort) is not the caller's any more.
        const late = requestEnded(context);
        finish(() => (late ? reject(late) : resolve(value)));
      },
      (e: unknown) => finish(() => reject(e)),
    );
  });
}
