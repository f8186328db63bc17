import { ServingError } from '../core/status.js';
import type { TensorDType } from './dtypes.js';
import { dtypeFromTf, dtypeToTf } from './dtypes.js';

export const DEFAULT_SERVING_SIGNATURE_DEF_KEY = 'serving_default';
export const PREDICT_METHOD_NAME = 'tensorflow/serving/predict';

/** One input or output of a signature, as the runtime uses it. */
export interface TensorSpec {
  /** The signature key (what requests name), e.g. `x`. */
  readonly key: string;
  /** The graph tensor, e.g. `x:0`. */
  readonly name: string;
  /** TF's dtype name as declared, e.g. `DT_FLOAT`. */
  readonly tfDtype: string;
  /** The TF.js dtype it runs as (undefined when the model does not say). */
  readonly dtype: TensorDType | undefined;
  /** Declared shape, -1 for unknown dims; undefined for unknown rank. */
  readonly shape: readonly number[] | undefined;
}

export interface SignatureSpec {
  readonly name: string;
  readonly methodName: string;
  readonly inputs: readonly TensorSpec[];
  readonly outputs: readonly TensorSpec[];
}

/** TF.js graph-model JSON for a signature (`signature` in model.json). */
interface SignatureJson {
  inputs?: Record<string, TensorInfoJson>;
  outputs?: Record<string, TensorInfoJson>;
  methodName?: string;
}
interface TensorInfoJson {
  name?: string;
  dtype?: string;
  tensorShape?: { dim?: Array<{ size?: string | number }>; unknownRank?: boolean };
}

/** A graph input or output as TF.js reports it (`GraphModel.inputs`). */
export interface GraphTensorInfo {
  readonly name: string;
  readonly shape?: number[];
  readonly dtype?: string;
}

/**
 * Reads a model's signatures: every entry of `userDefinedMetadata.signatures` (the converter's
 * multi-signature output), else `signature` (or the older `userDefinedMetadata.signature`) as
 * `serving_default`, else one built from the graph's own inputs and outputs.
 */
export function readSignatures(
  artifacts: { signature?: unknown; userDefinedMetadata?: Record<string, unknown> },
  graphInputs: readonly GraphTensorInfo[],
  graphOutputs: readonly GraphTensorInfo[],
): Map<string, SignatureSpec> {
  const out = new Map<string, SignatureSpec>();
  const many = artifacts.userDefinedMetadata?.signatures;
  if (many && typeof many === 'object') {
    for (const [name, sig] of Object.entries(many as Record<string, SignatureJson>)) out.set(name, parseSignature(name, sig));
  }
  const single = (artifacts.signature ?? artifacts.userDefinedMetadata?.signature) as SignatureJson | undefined;
  if (!out.has(DEFAULT_SERVING_SIGNATURE_DEF_KEY)) {
    if (single && single.inputs && single.outputs) {
      out.set(DEFAULT_SERVING_SIGNATURE_DEF_KEY, parseSignature(DEFAULT_SERVING_SIGNATURE_DEF_KEY, single));
    } else if (out.size === 0) {
      out.set(DEFAULT_SERVING_SIGNATURE_DEF_KEY, {
        name: DEFAULT_SERVING_SIGNATURE_DEF_KEY,
        methodName: PREDICT_METHOD_NAME,
        inputs: graphInputs.map((t) => fromGraph(t)),
        outputs: graphOutputs.map((t) => fromGraph(t)),
      });
    }
  }
  return out;
}

function fromGraph(t: GraphTensorInfo): TensorSpec {
  const dtype = t.dtype === 'float32' || t.dtype === 'int32' || t.dtype === 'bool' || t.dtype === 'string' ? t.dtype : undefined;
  return {
    key: t.name.replace(/:0$/, ''),
    name: t.name.includes(':') ? t.name : `${t.name}:0`,
    tfDtype: dtype ? dtypeToTf(dtype) : 'DT_INVALID',
    dtype,
    shape: t.shape,
  };
}

function parseSignature(name: string, sig: SignatureJson): SignatureSpec {
  const parse = (infos: Record<string, TensorInfoJson> | undefined): TensorSpec[] =>
    Object.entries(infos ?? {}).map(([key, info]) => {
      if (!info || typeof info.name !== 'string') {
        throw new ServingError('INVALID_ARGUMENT', `signature ${name}: tensor ${key} has no graph tensor name`);
      }
      const shape = info.tensorShape;
      return {
        key,
        name: info.name,
        tfDtype: info.dtype ?? 'DT_INVALID',
        dtype: dtypeFromTf(info.dtype),
        shape: !shape || shape.unknownRank ? undefined : (shape.dim ?? []).map((d) => Number(d.size ?? -1)),
      };
    });
  return { name, methodName: sig.methodName ?? PREDICT_METHOD_NAME, inputs: parse(sig.inputs), outputs: parse(sig.outputs) };
}

/** TF Serving's JSON for one TensorInfo (as in GetModelMetadata). */
export function tensorInfoJson(t: TensorSpec): object {
  return {
    dtype: t.tfDtype,
    tensor_shape: {
      dim: (t.shape ?? []).map((d) => ({ size: String(d), name: '' })),
      unknown_rank: t.shape === undefined,
    },
    name: t.name,
  };
}

/** TF Serving's JSON for one SignatureDef. */
export function signatureDefJson(s: SignatureSpec): object {
  const map = (ts: readonly TensorSpec[]) => Object.fromEntries(ts.map((t) => [t.key, tensorInfoJson(t)]));
  return { inputs: map(s.inputs), outputs: map(s.outputs), method_name: s.methodName, defaults: {} };
}
