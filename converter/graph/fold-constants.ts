/**
 * Constant folding: every node whose inputs are all constants is evaluated
 * once, at conversion time, and replaced by a Const. Evaluation runs the
 * sub-graph with TF.js itself (a throw-away GraphModel on the current
 * backend), so every op TF.js supports can be folded with TF.js's exact
 * semantics. Random, stateful, dynamic-shape and control-flow ops are never
 * folded, and a result is kept only if it is not much larger than what it
 * replaces (a folded `Fill` or `Tile` could otherwise bloat the weights).
 */
import * as tf from '@tensorflow/tfjs';
import { ConverterError } from '../errors.js';
import type { NodeDef } from '../proto/messages.js';
import { DT, numElements, type HostTensor } from '../tensor.js';
import { buildGraphModel } from '../writer/graph-model-writer.js';
import { constValue, makeConst, nodeMap, parseRef, topoSort, type TensorRef } from './graph.js';
import { loadSupportedOps } from './op-support.js';

const NEVER_FOLD = new Set([
  'Const', 'Placeholder', 'PlaceholderWithDefault', 'NoOp',
  'RandomUniform', 'RandomUniformInt', 'RandomStandardNormal', 'TruncatedNormal', 'Multinomial',
  'Switch', 'Merge', 'Enter', 'Exit', 'NextIteration', 'LoopCond', 'StatelessIf', 'StatelessWhile', 'If', 'While',
  'NonMaxSuppressionV2', 'NonMaxSuppressionV3', 'NonMaxSuppressionV4', 'NonMaxSuppressionV5', 'Where',
  'HashTable', 'HashTableV2', 'LookupTableImport', 'LookupTableImportV2', 'LookupTableFind', 'LookupTableFindV2',
  'LookupTableSize', 'LookupTableSizeV2', 'InitializeTable', 'InitializeTableV2',
]);
const NEVER_FOLD_PREFIX = ['TensorArray', 'TensorList', 'EmptyTensorList', 'Ragged', 'SimpleML'];

function foldableOp(op: string): boolean {
  if (NEVER_FOLD.has(op) || NEVER_FOLD_PREFIX.some((p) => op.startsWith(p))) return false;
  return loadSupportedOps().ops.has(op);
}

function fromTf(t: tf.Tensor): HostTensor {
  const shape = t.shape.slice();
  switch (t.dtype) {
    case 'float32':
      return { dtype: DT.FLOAT, shape, values: new Float32Array(t.dataSync() as Float32Array) };
    case 'int32':
      return { dtype: DT.INT32, shape, values: new Int32Array(t.dataSync() as Int32Array) };
    case 'bool':
      return { dtype: DT.BOOL, shape, values: new Uint8Array(t.dataSync() as Uint8Array) };
    case 'string':
      return { dtype: DT.STRING, shape, values: (t.dataSync() as unknown as Uint8Array[]).map((b) => new Uint8Array(b)) };
    default:
      throw new ConverterError('UNIMPLEMENTED', `cannot fold a ${t.dtype} tensor`);
  }
}

function byteSize(t: HostTensor): number {
  if (Array.isArray(t.values)) return t.values.reduce((s, b) => s + b.length + 4, 0);
  return (t.values as Float32Array).byteLength;
}

/**
 * Evaluates tensors `targets` of `nodes` with TF.js. Every ancestor must be a
 * Const or a foldable op (throws FAILED_PRECONDITION otherwise).
 */
export function evaluateTensors(nodes: readonly NodeDef[], targets: readonly TensorRef[]): HostTensor[] {
  const byName = nodeMap(nodes);
  const need = new Map<string, NodeDef>();
  const stack = targets.map((t) => t.node);
  while (stack.length) {
    const name = stack.pop()!;
    if (need.has(name)) continue;
    const n = byName.get(name);
    if (!n || (n.op !== 'Const' && !foldableOp(n.op))) {
      throw new ConverterError('FAILED_PRECONDITION', `tensor depends on "${name}" (${n?.op ?? 'missing'}), which is not constant`);
    }
    need.set(name, n);
    for (const i of n.input) if (!i.startsWith('^')) stack.push(parseRef(i).node);
  }
  const sub = topoSort([...need.values()]).map((n) => ({ ...n, input: n.input.filter((i) => !i.startsWith('^')) }));
  const built = buildGraphModel({ nodes: sub, functions: new Map() }, { generatedBy: '', versions: undefined, signature: null });
  const model = tf.loadGraphModelSync([
    { modelTopology: built.modelJson.modelTopology, weightsManifest: built.modelJson.weightsManifest } as unknown as tf.io.ModelJSON,
    built.weightData,
  ]);
  const names = targets.map((t) => `${t.node}:${t.index}`);
  let arr: tf.Tensor[] = [];
  try {
    const out = model.execute({}, names);
    arr = Array.isArray(out) ? out : [out];
    return arr.map(fromTf);
  } finally {
    tf.dispose(arr);
    model.dispose();
  }
}

/** Folds constant sub-graphs in `nodes`. Nodes in `keep` are never replaced. */
export function foldConstants(nodes: NodeDef[], keep: ReadonlySet<string>): NodeDef[] {
  const order = topoSort(nodes);
  const byName = nodeMap(nodes);
  const constant = new Set<string>();
  for (const n of order) {
    if (n.op === 'Const') constant.add(n.name);
    // A node with a control input (a gated TF1 branch / loop-body constant) is never folded, nor anything past it.
    else if (!keep.has(n.name) && n.input.length > 0 && foldableOp(n.op) && n.input.every((i) => !i.startsWith('^') && constant.has(parseRef(i).node))) {
      constant.add(n.name);
    }
  }
  // The frontier: folded tensors read by a node that is not folded.
  const targets = new Map<string, TensorRef>();
  for (const n of nodes) {
    if (constant.has(n.name)) continue;
    for (const i of n.input) {
      const r = parseRef(i);
      const src = byName.get(r.node);
      if (src && src.op !== 'Const' && constant.has(r.node)) targets.set(`${r.node}:${r.index}`, { node: r.node, index: r.index });
    }
  }
  if (targets.size === 0) return nodes;
  const refs = [...targets.values()];
  const values = evaluateTensors(nodes, refs);
  // Size guard: keep a folded value only if it is small or not larger than the constants it came from.
  const ancestorsBytes = (name: string): number => {
    const seen = new Set<string>();
    const st = [name];
    let total = 0;
    while (st.length) {
      const x = st.pop()!;
      if (seen.has(x)) continue;
      seen.add(x);
      const n = byName.get(x)!;
      if (n.op === 'Const') total += byteSize(constValue(n));
      else for (const i of n.input) st.push(parseRef(i).node);
    }
    return total;
  };
  const replacement = new Map<string, string>(); // "node:k" → new const name
  const newConsts: NodeDef[] = [];
  const taken = new Set(byName.keys());
  refs.forEach((r, i) => {
    const v = values[i]!;
    const size = byteSize(v);
    if (size > 4096 && size > ancestorsBytes(r.node) && numElements(v.shape) > 1) return;
    let name = r.index === 0 ? `${r.node}/folded` : `${r.node}/folded_${r.index}`;
    for (let k = 1; taken.has(name); k++) name = `${r.node}/folded_${r.index}_${k}`;
    taken.add(name);
    newConsts.push(makeConst(name, v));
    replacement.set(`${r.node}:${r.index}`, name);
  });
  if (replacement.size === 0) return nodes;
  for (const n of nodes) {
    if (constant.has(n.name)) continue;
    n.input = n.input.map((i) => {
      const r = parseRef(i);
      return replacement.get(`${r.node}:${r.index}`) ?? i;
    });
  }
  return [...newConsts, ...nodes];
}
