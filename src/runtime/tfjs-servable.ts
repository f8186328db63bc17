import * as tf from '@tensorflow/tfjs';
import { ServingError, messageOf } from '../core/status.js';
import type { ValidatedInput } from './input-validation.js';
import { validateInputs } from './input-validation.js';
import type { GraphTensorInfo, SignatureSpec } from './signature.js';
import { DEFAULT_SERVING_SIGNATURE_DEF_KEY } from './signature.js';
import type { TensorOutput } from './tensor.js';
import { tensorOutput } from './tensor.js';
import type { LoadTimings, PredictResult, RequestContext, RunTiming, Servable } from './servable.js';
import { requestEnded } from './servable.js';

export type ExecutionMode = 'execute' | 'executeAsync';

/**
 * One loaded TF.js graph model version: its signatures and how to run them. `predict` is the whole
 * request; `validate` and `run` are its two halves, for a batching wrapper that runs many validated
 * requests as one.
 */
export class TfjsServable implements Servable {
  /** `execute` until the graph shows it needs `executeAsync` (dynamic ops, control flow). */
  mode: ExecutionMode = 'execute';
  private readonly graphInputs: ReadonlyMap<string, GraphTensorInfo>;
  private disposed = false;
  /** How long this version took to load and warm up (set by TfjsModelLoader). */
  loadTimings: LoadTimings | undefined;

  constructor(
    readonly model: tf.GraphModel,
    readonly signatures: ReadonlyMap<string, SignatureSpec>,
    /** Bytes of the version's files (for status and metrics). */
    readonly sizeBytes: number,
  ) {
    this.graphInputs = new Map(model.inputs.map((t): [string, GraphTensorInfo] => [t.name, t]));
  }

  signature(name: string | undefined, where: string): SignatureSpec {
    const key = name || DEFAULT_SERVING_SIGNATURE_DEF_KEY;
    const sig = this.signatures.get(key);
    if (!sig) {
      throw new ServingError(
        'INVALID_ARGUMENT',
        `${where}: Serving signature name: ${JSON.stringify(key)} not found in signature def; available: ${[...this.signatures.keys()].join(', ')}`,
      );
    }
    return sig;
  }

  async predict(signatureName: string | undefined, inputs: unknown, where: string, context?: RequestContext): Promise<PredictResult> {
    const signature = this.signature(signatureName, where);
    const validated = this.validate(signature, inputs, where);
    const ended = requestEnded(context);
    if (ended) throw ended;
    return { signature, outputs: await this.run(signature, validated) };
  }

  /** The graph placeholder's shape of a signature input (by graph tensor name, `x:0` or `x`), if the graph says. */
  graphShape(tensorName: string): readonly number[] | undefined {
    return this.graphInputs.get(tensorName.replace(/:\d+$/, ''))?.shape;
  }

  /** Checks inputs against the signature and the graph; throws INVALID_ARGUMENT before any backend work. */
  validate(signature: SignatureSpec, inputs: unknown, where: string): ValidatedInput[] {
    return validateInputs(where, signature, this.graphInputs, inputs);
  }

  /**
   * Runs validated inputs; disposes every tensor it made, whatever happens. One `tf.tensor` per input
   * (a typed array of the input's dtype is taken as is, without a copy), one `execute`, then every
   * output's readback started at once (so a GPU backend submits the pending work right away) and
   * awaited together. `timing`, when given, receives the two phases' durations.
   */
  async run(signature: SignatureSpec, inputs: readonly ValidatedInput[], timing?: RunTiming): Promise<Record<string, TensorOutput>> {
    if (this.disposed) throw new ServingError('UNAVAILABLE', 'the model version was unloaded');
    const t0 = performance.now();
    const feed: tf.NamedTensorMap = {};
    const created: tf.Tensor[] = [];
    const outputNames = signature.outputs.map((o) => o.name);
    let outputs: tf.Tensor[] = [];
    try {
      // Validated values are a typed array or a flat array of the input's dtype: what tf.tensor takes.
      for (const i of inputs) created.push((feed[i.spec.name] = tf.tensor(i.values as tf.TensorLike, i.shape, i.dtype)));
      outputs = await this.execute(feed, outputNames);
      const t1 = performance.now();
      const tensors = signature.outputs.map((spec, k) => {
        const t = outputs[k];
        if (!t) throw new ServingError('INTERNAL', `running signature ${signature.name}: the graph returned no tensor for output ${spec.key}`);
        return t;
      });
      // The same tensor can back two outputs: read it once.
      const reads = new Map<tf.Tensor, Promise<unknown>>();
      for (const t of tensors) if (!reads.has(t)) reads.set(t, t.data());
      const values = await Promise.all(tensors.map((t) => reads.get(t)));
      if (timing) {
        timing.executeMs = t1 - t0;
        timing.readbackMs = performance.now() - t1;
      }
      const result: Record<string, TensorOutput> = {};
      for (const [k, spec] of signature.outputs.entries()) {
        const t = tensors[k]!; // one tensor per output, checked above
        // TF.js dtypes are the runtime's; t.data() gave the typed array (or strings) of that dtype.
        result[spec.key] = tensorOutput(t.dtype as TensorOutput['dtype'], t.shape.slice(), values[k] as TensorOutput['data']);
      }
      return result;
    } catch (e) {
      throw ServingError.from(e, 'INTERNAL', `running signature ${signature.name}: `);
    } finally {
      // Only what this call made: TF.js adds the model's own captured resources (hash tables) to `feed`.
      tf.dispose(created);
      // The same tensor can be returned for two outputs, and an output can be a fed input.
      tf.dispose([...new Set(outputs)].filter((t) => !Object.values(feed).includes(t)));
    }
  }

  private async execute(feed: tf.NamedTensorMap, outputNames: string[]): Promise<tf.Tensor[]> {
    if (this.mode === 'execute') {
      try {
        return asArray(this.model.execute(feed, outputNames));
      } catch (e) {
        if (!/executeAsync/.test(messageOf(e))) throw e;
        this.mode = 'executeAsync'; // the graph has dynamic ops or control flow
      }
    }
    return asArray(await this.model.executeAsync(feed, outputNames));
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.model.dispose();
  }
}

function asArray(t: tf.Tensor | tf.Tensor[] | tf.NamedTensorMap): tf.Tensor[] {
  if (Array.isArray(t)) return t;
  if (t instanceof tf.Tensor) return [t];
  return Object.values(t);
}
