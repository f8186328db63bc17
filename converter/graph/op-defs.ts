/**
 * Output-argument layouts of ops, needed to turn function-body references
 * ("node:outArg:idx") into flat output indices ("node:k"). The SavedModel's
 * own `stripped_op_list` is used when it lists the op; a table covers the
 * multi-output ops TF.js supports (older exports strip only the outer graph's
 * ops); any other op is treated as single-output-per-arg.
 */
import { ConverterError } from '../errors.js';
import type { ArgDef, AttrValue, FunctionDef, NodeDef, OpDef } from '../proto/messages.js';
import type { FlatFunction } from './graph.js';

type ArgSpec = [name: string, size?: { number?: string; list?: string }];

const single = (...names: string[]): ArgSpec[] => names.map((n) => [n]);
const FUNCTION_CALL: ArgSpec[] = [['output', { list: 'Tout' }]];

/** Multi-output ops (single-output ops need no entry). */
const KNOWN_OUTPUTS: Record<string, ArgSpec[]> = {
  FusedBatchNorm: single('y', 'batch_mean', 'batch_variance', 'reserve_space_1', 'reserve_space_2'),
  FusedBatchNormV2: single('y', 'batch_mean', 'batch_variance', 'reserve_space_1', 'reserve_space_2'),
  FusedBatchNormV3: single('y', 'batch_mean', 'batch_variance', 'reserve_space_1', 'reserve_space_2', 'reserve_space_3'),
  _FusedBatchNormEx: single('y', 'batch_mean', 'batch_variance', 'reserve_space_1', 'reserve_space_2', 'reserve_space_3'),
  Split: [['output', { number: 'num_split' }]],
  SplitV: [['output', { number: 'num_split' }]],
  Unpack: [['output', { number: 'num' }]],
  ShapeN: [['output', { number: 'N' }]],
  IdentityN: [['output', { list: 'T' }]],
  DynamicPartition: [['outputs', { number: 'num_partitions' }]],
  TopKV2: single('values', 'indices'),
  TopK: single('values', 'indices'),
  Unique: single('y', 'idx'),
  UniqueV2: single('y', 'idx'),
  UniqueWithCounts: single('y', 'idx', 'count'),
  NonMaxSuppressionV4: single('selected_indices', 'valid_outputs'),
  NonMaxSuppressionV5: single('selected_indices', 'selected_scores', 'valid_outputs'),
  Switch: single('output_false', 'output_true'),
  Merge: single('output', 'value_index'),
  BroadcastGradientArgs: single('r0', 'r1'),
  Qr: single('q', 'r'),
  LookupTableExportV2: single('keys', 'values'),
  TensorArrayV3: single('handle', 'flow'),
  TensorArrayGradV3: single('grad_handle', 'flow_out'),
  TensorListPopBack: single('output_handle', 'tensor'),
  StringSplit: single('indices', 'values', 'shape'),
  StringSplitV2: single('indices', 'values', 'shape'),
  StringNGrams: single('ngrams', 'ngrams_splits'),
  SparseFillEmptyRows: single('output_indices', 'output_values', 'empty_row_indicator', 'reverse_index_map'),
  SparseReshape: single('output_indices', 'output_shape'),
  RaggedTensorToSparse: [['sparse_indices'], ['sparse_values'], ['sparse_dense_shape']],
  ParseExample: [
    ['sparse_indices', { number: 'Nsparse' }],
    ['sparse_values', { list: 'sparse_types' }],
    ['sparse_shapes', { number: 'Nsparse' }],
    ['dense_values', { list: 'Tdense' }],
  ],
  ParseSingleExample: [
    ['sparse_indices', { number: 'num_sparse' }],
    ['sparse_values', { list: 'sparse_types' }],
    ['sparse_shapes', { number: 'num_sparse' }],
    ['dense_values', { list: 'Tdense' }],
  ],
  ParseExampleV2: [
    ['sparse_indices', { number: 'num_sparse' }],
    ['sparse_values', { list: 'sparse_types' }],
    ['sparse_shapes', { number: 'num_sparse' }],
    ['dense_values', { list: 'Tdense' }],
    ['ragged_values', { list: 'ragged_value_types' }],
    ['ragged_row_splits', { list: 'ragged_split_types' }],
  ],
  StatefulPartitionedCall: FUNCTION_CALL,
  PartitionedCall: FUNCTION_CALL,
  StatelessIf: FUNCTION_CALL,
  If: FUNCTION_CALL,
  StatelessWhile: [['output', { list: 'T' }]],
  While: [['output', { list: 'T' }]],
};

const te = new TextEncoder();
const ints = (...i: number[]): AttrValue => ({ list: { s: [], i, f: [], b: [], type: [], shape: [], tensor: [], func: [] } });
const str = (v: string): AttrValue => ({ s: te.encode(v) });
const NHWC = str('NHWC');
const CONV_DEFAULTS = { dilations: ints(1, 1, 1, 1), data_format: NHWC, explicit_paddings: ints() };

/**
 * Defaults of attrs that SavedModels strip (`stripped_default_attrs`) and
 * that the TF.js op mappers need, for ops the model's own stripped_op_list
 * does not describe (TF 2.3-era exports list only the outer graph's ops).
 */
const DEFAULT_ATTRS: Record<string, Record<string, AttrValue>> = {
  Conv2D: CONV_DEFAULTS,
  DepthwiseConv2dNative: CONV_DEFAULTS,
  Conv2DBackpropInput: CONV_DEFAULTS,
  Conv3D: { dilations: ints(1, 1, 1, 1, 1), data_format: str('NDHWC') },
  MaxPool: { data_format: NHWC },
  AvgPool: { data_format: NHWC },
  BiasAdd: { data_format: NHWC },
  FusedBatchNorm: { epsilon: { f: 0.0001 }, data_format: NHWC, is_training: { b: true } },
  FusedBatchNormV2: { epsilon: { f: 0.0001 }, data_format: NHWC, is_training: { b: true } },
  FusedBatchNormV3: { epsilon: { f: 0.0001 }, data_format: NHWC, is_training: { b: true } },
  MatMul: { transpose_a: { b: false }, transpose_b: { b: false } },
  BatchMatMul: { adj_x: { b: false }, adj_y: { b: false } },
  BatchMatMulV2: { adj_x: { b: false }, adj_y: { b: false } },
  StridedSlice: { begin_mask: { i: 0 }, end_mask: { i: 0 }, ellipsis_mask: { i: 0 }, new_axis_mask: { i: 0 }, shrink_axis_mask: { i: 0 } },
  Squeeze: { squeeze_dims: ints() },
  Sum: { keep_dims: { b: false } },
  Mean: { keep_dims: { b: false } },
  Max: { keep_dims: { b: false } },
  Min: { keep_dims: { b: false } },
  Prod: { keep_dims: { b: false } },
  All: { keep_dims: { b: false } },
  Any: { keep_dims: { b: false } },
  ResizeBilinear: { align_corners: { b: false }, half_pixel_centers: { b: false } },
  ResizeNearestNeighbor: { align_corners: { b: false }, half_pixel_centers: { b: false } },
  LeakyRelu: { alpha: { f: 0.2 } },
  GatherV2: { batch_dims: { i: 0 } },
  OneHot: { axis: { i: -1 } },
  Cumsum: { exclusive: { b: false }, reverse: { b: false } },
  Cumprod: { exclusive: { b: false }, reverse: { b: false } },
  TopKV2: { sorted: { b: true } },
  DepthToSpace: { data_format: NHWC },
  Cast: { Truncate: { b: false } },
};

export interface OpRegistry {
  /** Output arg names and sizes for node `n`, or undefined if the op is unknown. */
  outputLayout(n: NodeDef): { name: string; size: number }[] | undefined;
  /** Restores attrs that `stripped_default_attrs` removed, from the OpDef's defaults. */
  restoreDefaults(n: NodeDef): void;
}

function argSize(n: NodeDef, spec: ArgSpec[1], defaults: Record<string, AttrValue | undefined>): number {
  if (!spec) return 1;
  if (spec.number) {
    const v = n.attr[spec.number]?.i ?? defaults[spec.number]?.i;
    return v === undefined ? 1 : Number(v);
  }
  if (spec.list) {
    const v = n.attr[spec.list]?.list ?? defaults[spec.list]?.list;
    return v ? v.type.length : 0;
  }
  return 1;
}

function specsFromOpDef(op: OpDef): ArgSpec[] {
  return op.outputArg.map((a: ArgDef): ArgSpec => {
    if (a.numberAttr) return [a.name, { number: a.numberAttr }];
    if (a.typeListAttr) return [a.name, { list: a.typeListAttr }];
    return [a.name];
  });
}

export function makeOpRegistry(strippedOps: readonly OpDef[], functions: readonly FunctionDef[]): OpRegistry {
  const fromModel = new Map<string, { specs: ArgSpec[]; defaults: Record<string, AttrValue | undefined> }>();
  for (const op of strippedOps) {
    const defaults: Record<string, AttrValue | undefined> = {};
    for (const a of op.attr) defaults[a.name] = a.defaultValue;
    fromModel.set(op.name, { specs: specsFromOpDef(op), defaults });
  }
  // A function name can be used directly as an op.
  for (const f of functions) fromModel.set(f.signature.name, { specs: specsFromOpDef(f.signature), defaults: {} });
  return {
    outputLayout(n) {
      const m = fromModel.get(n.op);
      const specs = m?.specs ?? KNOWN_OUTPUTS[n.op];
      if (!specs) return undefined;
      const defaults = m?.defaults ?? {};
      return specs.map(([name, size]) => ({ name, size: argSize(n, size, defaults) }));
    },
    restoreDefaults(n) {
      const defaults = fromModel.get(n.op)?.defaults ?? DEFAULT_ATTRS[n.op];
      if (!defaults) return;
      for (const [k, v] of Object.entries(defaults)) if (v && n.attr[k] === undefined) n.attr[k] = v;
    },
  };
}

/**
 * Rewrites a FunctionDef's body to flat references. `"arg"` stays (an input
 * argument), `"node:out:idx"` becomes `"node:k"` (or `"node"` for k = 0),
 * `"^node"` stays.
 */
export function flattenFunction(f: FunctionDef, ops: OpRegistry): FlatFunction {
  const byName = new Map<string, NodeDef>();
  for (const n of f.nodeDef) byName.set(n.name, n);
  const argNames = new Set(f.signature.inputArg.map((a) => a.name));
  const layoutCache = new Map<string, { name: string; size: number }[] | undefined>();
  // For ops without a known layout, remember which output arg names are referenced.
  const unknownArgNames = new Map<string, Set<string>>();
  const refs = (s: string) => {
    if (s.startsWith('^')) return;
    const parts = s.split(':');
    if (parts.length === 3) {
      const n = byName.get(parts[0]!);
      if (n && !layoutCache.has(n.name)) layoutCache.set(n.name, ops.outputLayout(n));
      if (n && !layoutCache.get(n.name)) {
        let set = unknownArgNames.get(n.name);
        if (!set) unknownArgNames.set(n.name, (set = new Set()));
        set.add(parts[1]!);
      }
    }
  };
  for (const n of f.nodeDef) n.input.forEach(refs);
  Object.values(f.ret).forEach(refs);

  const flat = (s: string): string => {
    if (s.startsWith('^')) return s;
    const parts = s.split(':');
    if (parts.length === 1) {
      if (argNames.has(s) || byName.has(s)) return s;
      throw new ConverterError('INVALID_ARGUMENT', `function ${f.signature.name}: input "${s}" names neither an argument nor a node`);
    }
    if (parts.length === 2) return parts[1] === '0' ? parts[0]! : s; // already flat
    const [node, arg, idxS] = parts as [string, string, string];
    const idx = Number(idxS);
    const layout = layoutCache.get(node);
    if (!layout) {
      const used = unknownArgNames.get(node);
      if (used && used.size > 1) {
        throw new ConverterError(
          'UNIMPLEMENTED',
          `function ${f.signature.name}: op ${byName.get(node)?.op} of node "${node}" has several output args (${[...used].join(', ')}) and its OpDef is unknown`,
        );
      }
      return idx === 0 ? node : `${node}:${idx}`;
    }
    let k = 0;
    for (const a of layout) {
      if (a.name === arg) {
        k += idx;
        return k === 0 ? node : `${node}:${k}`;
      }
      k += a.size;
    }
    throw new ConverterError('INVALID_ARGUMENT', `function ${f.signature.name}: node "${node}" (${byName.get(node)?.op}) has no output arg "${arg}"`);
  };

  const nodes = f.nodeDef.map((n) => {
    const c = { ...n, input: n.input.map(flat), attr: { ...n.attr } };
    ops.restoreDefaults(c);
    return c;
  });
  const ret: Record<string, string> = {};
  for (const [k, v] of Object.entries(f.ret)) ret[k] = flat(v);
  return {
    name: f.signature.name,
    inputArgs: f.signature.inputArg,
    outputArgs: f.signature.outputArg,
    nodes,
    ret,
    attr: f.attr,
    argAttr: f.argAttr,
  };
}
