/**
 * Cutting the graph at a signature's input tensors: each input tensor (after
 * following Identity chains to its source) is replaced by a Placeholder, so
 * whatever produced it (e.g. `ParseExample` in TF Serving's TF1 models) falls
 * away when the graph is pruned. A serialized `tf.Example` input that feeds
 * `ParseExample(V2)` is cut *after* the parse: each dense feature becomes a
 * Placeholder and the parse spec (keys, dtypes, shapes, defaults) is returned
 * so a runtime can feed features directly.
 *
 * Shapes: a signature input that already was a `Placeholder` keeps its declared
 * shape; a placeholder made at a cut point (a computed tensor, or a parsed
 * feature) has unknown rank, because TF never checks the shape of a fed tensor
 * (TF Serving feeds `[3]` to half_plus_two's `x:0`, declared `[-1,1]`). The
 * declared shape stays in the signature (`CutResult.inputs[*].shape`).
 */
import { ConverterError } from '../errors.js';
import type { AttrValue, NodeDef, TensorInfo, TensorShapeProto } from '../proto/messages.js';
import { DT, dtypeName, shapeFromProto, tfjsDtype, type HostTensor, type TfjsDtype } from '../tensor.js';
import { evaluateTensors } from './fold-constants.js';
import {
  attrInt,
  attrTypes,
  constValue,
  nodeMap,
  parseRef,
  tensorName,
  uniqueName,
  type TensorRef,
} from './graph.js';

/**
 * A sparse feature (`tf.io.VarLenFeature`; a `SparseFeature` parses as VarLen features of its index and
 * value keys): each batch becomes a SparseTensor fed to three signature inputs, as ParseExample makes
 * it: `indices` int [n, 2] (example, position), `values` [n], `dense_shape` int [2] = [batch, longest].
 */
export interface SparseParsedFeature {
  kind: 'sparse';
  /** Feature key in the tf.Example. */
  key: string;
  /** dtype of the values. */
  dtype: TfjsDtype;
  /** Signature input keys (and placeholders) fed with the three parts. */
  inputs: { indices: string; values: string; denseShape: string };
  placeholders: { indices: string; values: string; denseShape: string };
}

export interface ParsedFeature {
  /** Absent for dense features (the original spec format). */
  kind?: 'dense';
  /** Feature key in the tf.Example. */
  key: string;
  dtype: TfjsDtype;
  /** Shape of one example's value (the batch dimension is not included). */
  shape: number[];
  /** Default value (flattened) when the feature is missing; null if required. */
  defaultValue: (number | string)[] | null;
  /** Placeholder node fed with the batch of this feature's values. */
  placeholder: string;
}

export interface ParseSpec {
  /** The signature input key that carried the serialized tf.Example strings. */
  serializedInputKey: string;
  op: 'ParseExample' | 'ParseExampleV2';
  features: (ParsedFeature | SparseParsedFeature)[];
}

export interface CutInput {
  key: string;
  info: TensorInfo;
  /** The input's tensor in the (inlined) graph. */
  ref: TensorRef;
}

export interface CutResult {
  /** Signature input key → Placeholder node name (for parsed inputs: feature key → placeholder). */
  inputs: Map<string, { placeholder: string; dtype: number; shape: number[] | undefined }>;
  parseSpec?: ParseSpec;
}

const PARSE_OPS = new Set(['ParseExample', 'ParseExampleV2']);
const td = new TextDecoder();

/** Shared state for cutting several signatures out of one graph. */
export class GraphCutter {
  nodes: NodeDef[];
  private byName: Map<string, NodeDef>;
  private taken: Set<string>;
  /** canonical tensor name → placeholder node */
  private placeholders = new Map<string, string>();
  /** names that may be reused because the node is an Identity/Placeholder being cut away */
  private replaceable = new Set<string>();

  private readonly keep: ReadonlySet<string>;

  /** `keep`: names that must not be reused for placeholders (signature output nodes). */
  constructor(nodes: NodeDef[], keep: ReadonlySet<string> = new Set()) {
    this.nodes = nodes;
    this.keep = keep;
    this.byName = nodeMap(nodes);
    this.taken = new Set(this.byName.keys());
  }

  /** Follows Identity nodes to the tensor's source. */
  canonical(ref: TensorRef): TensorRef {
    let r = ref;
    for (let i = 0; i < 1000; i++) {
      const n = this.byName.get(r.node);
      if (!n || n.op !== 'Identity' || r.index !== 0 || !n.input[0]) return r;
      r = parseRef(n.input[0]);
    }
    return r;
  }

  private outputShape(ref: TensorRef): number[] | undefined {
    const n = this.byName.get(ref.node);
    const s: TensorShapeProto | undefined = n?.attr._output_shapes?.list?.shape[ref.index] ?? (n?.op.startsWith('Placeholder') ? n.attr.shape?.shape : undefined);
    return shapeFromProto(s);
  }

  /** Creates (or reuses) a Placeholder standing for tensor `ref`. */
  placeholderFor(ref: TensorRef, preferredName: string, dtype: number, shape: number[] | undefined): string {
    if (ref.index === 0 && this.isPlaceholderName(ref.node)) return ref.node;
    const canon = this.canonical(ref);
    const key = tensorName(canon);
    const existing = this.placeholders.get(key);
    if (existing) return existing;
    const srcNode = this.byName.get(canon.node);
    const fromPlaceholder = !!srcNode && canon.index === 0 && (srcNode.op === 'Placeholder' || srcNode.op === 'PlaceholderWithDefault');
    if (fromPlaceholder) this.replaceable.add(srcNode.name);
    // Identity nodes that merely forward this tensor are cut away too; their names can be reused.
    for (const n of this.nodes) {
      if (n.op === 'Identity') {
        const c = this.canonical({ node: n.name, index: 0 });
        if (c.node === canon.node && c.index === canon.index) this.replaceable.add(n.name);
      }
    }
    let name: string;
    if (this.replaceable.has(preferredName) && !this.keep.has(preferredName) && !this.isPlaceholderName(preferredName)) {
      name = preferredName;
      this.nodes = this.nodes.filter((n) => n.name !== preferredName);
    } else {
      name = uniqueName(preferredName, this.taken);
    }
    this.taken.add(name);
    const attr: Record<string, AttrValue> = { dtype: { type: dtype % 100 } };
    // An original Placeholder keeps its declared shape. A cut point (the tensor was computed, e.g. an
    // Identity of ParseExample) gets unknown rank: TF never checks the shape of a fed tensor, so TF
    // Serving lets `[3]` through where the signature says `[-1,1]`, and TF.js only checks placeholders
    // whose shape is known. The signature still records the declared shape (metadata only).
    const s = fromPlaceholder ? (shape ?? this.outputShape(canon)) : undefined;
    attr.shape = { shape: s ? { dim: s.map((size) => ({ size })) } : { dim: [], unknownRank: true } };
    const ph: NodeDef = { name, op: 'Placeholder', input: [], attr };
    this.placeholders.set(key, name);
    // Rewire every consumer of the tensor (directly or through Identity chains).
    for (const n of this.nodes) {
      for (let i = 0; i < n.input.length; i++) {
        const inp = n.input[i]!;
        if (inp.startsWith('^')) continue;
        const c = this.canonical(parseRef(inp));
        if (c.node === canon.node && c.index === canon.index) n.input[i] = name;
      }
    }
    this.nodes.push(ph);
    this.byName.set(name, ph);
    return name;
  }

  private isPlaceholderName(name: string): boolean {
    for (const v of this.placeholders.values()) if (v === name) return true;
    return false;
  }

  /** Finds the ParseExample(V2) node that parses serialized tensor `ref`, if any. */
  parseNodeFor(ref: TensorRef): NodeDef | undefined {
    const canon = this.canonical(ref);
    const parses: NodeDef[] = [];
    for (const n of this.nodes) {
      if (!PARSE_OPS.has(n.op) || !n.input[0]) continue;
      const c = this.canonical(parseRef(n.input[0]));
      if (c.node === canon.node && c.index === canon.index) parses.push(n);
    }
    return parses.length === 1 ? parses[0] : undefined;
  }

  /** The constant value of input `ref` of parse node `n` (folded with TF.js if it is computed). */
  private constInput(n: NodeDef, ref: string | undefined, what: string): HostTensor {
    let c = ref ? this.byName.get(parseRef(ref).node) : undefined;
    while (c && c.op === 'Identity' && c.input[0]) c = this.byName.get(parseRef(c.input[0]).node);
    if (c && c.op === 'Const') return constValue(c);
    try {
      return evaluateTensors(this.nodes, [parseRef(ref ?? '')])[0]!;
    } catch (e) {
      const why = e instanceof Error ? e.message : String(e);
      throw new ConverterError('UNIMPLEMENTED', `${n.op} node "${n.name}": its ${what} is not a constant (${why}), so the parse spec cannot be recorded`);
    }
  }

  /** Cuts one signature's inputs. `where` names the signature in errors. */
  cutSignature(inputs: CutInput[], where: string): CutResult {
    const result: CutResult = { inputs: new Map() };
    for (const inp of inputs) {
      const dtype = (inp.info.dtype ?? DT.INVALID) % 100;
      // (Some TF1 exports declare the serialized input DT_FLOAT; what matters is that a parse consumes it.)
      const parse = this.parseNodeFor(inp.ref);
      if (parse) {
        if (result.parseSpec) throw new ConverterError('UNIMPLEMENTED', `${where}: more than one serialized tf.Example input`);
        result.parseSpec = this.cutParse(parse, inp.key, result, where);
        continue;
      }
      const shape = shapeFromProto(inp.info.tensorShape);
      const preferred = inp.ref.index === 0 ? inp.ref.node : `${inp.ref.node}_${inp.ref.index}`;
      const placeholder = this.placeholderFor(inp.ref, preferred, dtype || this.nodeDtype(inp.ref), shape);
      result.inputs.set(inp.key, { placeholder, dtype: dtype || this.nodeDtype(inp.ref), shape: shape ?? this.outputShape(inp.ref) });
    }
    return result;
  }

  private nodeDtype(ref: TensorRef): number {
    const n = this.byName.get(ref.node);
    return (n?.attr.dtype?.type ?? n?.attr.T?.type ?? DT.FLOAT) % 100;
  }

  private cutParse(p: NodeDef, serializedKey: string, result: CutResult, where: string): ParseSpec {
    const tdense = attrTypes(p, 'Tdense');
    const shapes = (p.attr.dense_shapes?.list?.shape ?? []).map((s) => shapeFromProto(s) ?? []);
    let keys: string[];
    let defaultsStart: number;
    let numSparse: number;
    let sparseKeys: string[];
    if (p.op === 'ParseExample') {
      numSparse = attrInt(p, 'Nsparse') ?? 0;
      sparseKeys = p.input.slice(2, 2 + numSparse).map((r, i) => {
        const v = this.constInput(p, r, `sparse key #${i}`).values;
        return Array.isArray(v) ? td.decode(v[0]!) : '';
      });
      const nDense = attrInt(p, 'Ndense') ?? tdense.length;
      const keyRefs = p.input.slice(2 + numSparse, 2 + numSparse + nDense);
      keys = keyRefs.map((r, i) => {
        const v = (this.constInput(p, r, `dense key #${i}`)).values;
        return Array.isArray(v) ? td.decode(v[0]!) : '';
      });
      defaultsStart = 2 + numSparse + nDense;
    } else {
      numSparse = attrInt(p, 'num_sparse') ?? 0;
      const sk = numSparse ? this.constInput(p, p.input[2], 'sparse_keys').values : [];
      sparseKeys = Array.isArray(sk) ? sk.map((b) => td.decode(b)) : [];
      if ((attrInt(p, 'num_ragged') ?? attrTypes(p, 'ragged_value_types').length) > 0) {
        throw new ConverterError('UNIMPLEMENTED', `${where}: ${p.op} node "${p.name}" parses ragged features; only dense and sparse (VarLen) features are supported`);
      }
      const v = (this.constInput(p, p.input[3], 'dense_keys')).values;
      keys = Array.isArray(v) ? v.map((b) => td.decode(b)) : [];
      defaultsStart = 5;
    }
    const features: (ParsedFeature | SparseParsedFeature)[] = [];
    const sparseTypes = attrTypes(p, 'sparse_types');
    sparseKeys.forEach((key, i) => {
      const dt = sparseTypes[i] ?? DT.FLOAT;
      const jsDt = tfjsDtype(dt);
      if (!jsDt || jsDt === 'complex64') throw new ConverterError('UNIMPLEMENTED', `${where}: sparse feature "${key}" has dtype ${dtypeName(dt)}`);
      const part = (index: number, suffix: string, pdt: number, shape: number[]) => {
        const inputKey = `${key}/${suffix}`;
        const placeholder = this.placeholderFor({ node: p.name, index }, safeName(inputKey), pdt, shape);
        result.inputs.set(inputKey, { placeholder, dtype: pdt % 100, shape });
        return [inputKey, placeholder] as const;
      };
      const [ik, ip] = part(i, 'indices', DT.INT64, [-1, 2]);
      const [vk, vp] = part(numSparse + i, 'values', dt, [-1]);
      const [sk, sp] = part(2 * numSparse + i, 'dense_shape', DT.INT64, [2]);
      features.push({ kind: 'sparse', key, dtype: jsDt, inputs: { indices: ik, values: vk, denseShape: sk }, placeholders: { indices: ip, values: vp, denseShape: sp } });
    });
    keys.forEach((key, k) => {
      const dt = tdense[k] ?? DT.FLOAT;
      const jsDt = tfjsDtype(dt);
      if (!jsDt || jsDt === 'complex64') throw new ConverterError('UNIMPLEMENTED', `${where}: feature "${key}" has dtype ${dtypeName(dt)}`);
      const dv = this.constInput(p, p.input[defaultsStart + k], `default for feature "${key}"`).values;
      const defaultValue: (number | string)[] | null = Array.isArray(dv)
        ? dv.length
          ? dv.map((b) => td.decode(b))
          : null
        : dv.length
          ? Array.from(dv as ArrayLike<number>)
          : null;
      const shape = shapes[k] ?? [];
      const ref: TensorRef = { node: p.name, index: 3 * numSparse + k };
      const placeholder = this.placeholderFor(ref, safeName(key), dt, [-1, ...shape]);
      features.push({ key, dtype: jsDt, shape, defaultValue, placeholder });
      result.inputs.set(key, { placeholder, dtype: dt % 100, shape: [-1, ...shape] });
    });
    return { serializedInputKey: serializedKey, op: p.op as ParseSpec['op'], features };
  }
}

function safeName(key: string): string {
  const s = key.replace(/[^A-Za-z0-9_.\-/]/g, '_').replace(/^[^A-Za-z0-9.]+/, '');
  return s || 'feature';
}

