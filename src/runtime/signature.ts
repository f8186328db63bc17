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
  /**
   * How the signature's tf.Example input was parsed, when the converter cut the graph after
   * ParseExample (`userDefinedMetadata.signatures[name].parseSpec` in model.json): classify and
   * regress turn examples into the signature's inputs with it. Kept as recorded; read once at load.
   */
  readonly parseSpec?: Readonly<Record<string, unknown>>;
}

/** TF.js graph-model JSON for a signature (`signature` in model.json). */
interface SignatureJson {
  inputs?: Record<string, TensorInfoJson>;
  outputs?: Record<string, TensorInfoJson>;
  methodName?: string;
  parseSpec?: unknown;
}
interface TensorInfoJson {
  name?: string;
  dtype?: string;
  tensorShape?: { dim?: Array<{ size?: string | number }>; unknownRank?: boolean };
  /** A resource the model captures itself (a hash table from its initializer): not a request input. */
  resourceId?: number;
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
    // Each entry is checked field by field in parseSignature.
    for (const [name, sig] of Object.entries(many as Record<string, SignatureJson>)) out.set(name, parseSignature(name, sig));
  }
  // Checked field by field in parseSignature.
  const single = (artifacts.signature ?? artifacts.userDefinedMetadata?.signature) as SignatureJson | undefined;
  if (!out.has(DEFAULT_SERVING_SIGNATURE_DEF_KEY)) {
    if (single && single.inputs && single.outputs) {
      const parsed = parseSignature(DEFAULT_SERVING_SIGNATURE_DEF_KEY, single);
      out.set(DEFAULT_SERVING_SIGNATURE_DEF_KEY, withStructuredOutputKeys(parsed, artifacts.userDefinedMetadata?.structuredOutputKeys));
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

/**
 * The official converter's structured outputs: the signature lists outputs by tensor name and
 * `structuredOutputKeys` holds the real keys, sorted — which TF gave to `Identity`, `Identity_1`, … in
 * that order. Matched by tensor name (naturally sorted), not by the JSON order that TF.js 4.22's
 * `predict` zips them onto (which swaps values when the JSON order differs).
 */
function withStructuredOutputKeys(sig: SignatureSpec, keys: unknown): SignatureSpec {
  if (!Array.isArray(keys) || keys.length !== sig.outputs.length || !keys.every((k) => typeof k === 'string')) return sig;
  if (!sig.outputs.every((o) => o.key === o.name)) return sig; // the signature already has real keys
  const sorted = [...sig.outputs].sort((a, b) => naturalCompare(a.name, b.name));
  return { ...sig, outputs: sorted.map((o, i) => ({ ...o, key: keys[i] as string })) }; // every key was checked to be a string, one per output
}

/** `Identity:0` < `Identity_1:0` < `Identity_2:0` < `Identity_10:0`. */
function naturalCompare(a: string, b: string): number {
  const parts = (s: string) => {
    const m = /^(.*?)(?:_(\d+))?(?::(\d+))?$/.exec(s);
    return [m?.[1] ?? s, m?.[2] === undefined ? -1 : Number(m[2]), m?.[3] === undefined ? 0 : Number(m[3])] as const;
  };
  const [pa, pb] = [parts(a), parts(b)];
  if (pa[0] !== pb[0]) return pa[0] < pb[0] ? -1 : 1;
  return pa[1] - pb[1] || pa[2] - pb[2];
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
    Object.entries(infos ?? {})
      .filter(([, info]) => info?.resourceId === undefined && info?.dtype !== 'DT_RESOURCE')
      .map(([key, info]) => {
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
  const parseSpec = typeof sig.parseSpec === 'object' && sig.parseSpec !== null && !Array.isArray(sig.parseSpec) ? (sig.parseSpec as Record<string, unknown>) /* a non-array object, just checked */ : undefined;
  return { name, methodName: sig.methodName ?? PREDICT_METHOD_NAME, inputs: parse(sig.inputs), outputs: parse(sig.outputs), ...(parseSpec ? { parseSpec } : {}) };
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
