/**
 * Op fusion for TF.js (what grappler's remapper plus `fuse_depthwise_conv2d.py`
 * produce in the official converter):
 * - `Add`/`AddV2` of a 1-D constant after Conv2D / Depthwise / MatMul → `BiasAdd`;
 * - Conv2D + BiasAdd [+ Relu|Relu6|Elu|LeakyRelu|Sigmoid] → `_FusedConv2D`;
 * - MatMul + BiasAdd [+ activation] → `_FusedMatMul`;
 * - DepthwiseConv2dNative + BiasAdd [+ Relu|Relu6|Elu], or + activation alone
 *   → `FusedDepthwiseConv2dNative`.
 * - Keras' PReLU, `Add(Relu(x), Mul(Const -alpha, Relu(Neg(x))))`, → `Prelu(x, alpha)`
 *   (`fuse_prelu.py`), and a Prelu after a fused op's BiasAdd joins it:
 *   `fused_ops: [BiasAdd, Prelu]`, `num_args: 2`, inputs `[x, w, bias, alpha]`.
 * The fused node takes the name of the last node it replaces, so consumers
 * are unchanged. Only single-consumer chains in NHWC float32 are fused.
 */
import type { AttrValue, NodeDef } from '../proto/messages.js';
import { DT } from '../tensor.js';
import { attrString, constValue, consumersMap, listAttr, makeConst, nodeMap, parseRef, encodeUtf8 } from './graph.js';

const ACTIVATIONS = new Set(['Relu', 'Relu6', 'Elu', 'LeakyRelu', 'Sigmoid']);
const DEPTHWISE_ACTIVATIONS = new Set(['Relu', 'Relu6', 'Elu']);
const BIAS_TARGETS = new Set(['Conv2D', 'DepthwiseConv2dNative', 'MatMul']);

function isFloat(n: NodeDef): boolean {
  const t = n.attr.T?.type;
  return t === undefined || t === DT.FLOAT;
}

/** Add/AddV2(conv-like, 1-D const) → BiasAdd (when that is exactly what it computes). */
export function normalizeBiasAdds(nodes: NodeDef[]): void {
  const byName = nodeMap(nodes);
  const consumers = consumersMap(nodes);
  for (const n of nodes) {
    if ((n.op !== 'Add' && n.op !== 'AddV2') || n.input.length !== 2 || !isFloat(n)) continue;
    const src = byName.get(parseRef(n.input[0]!).node);
    const b = byName.get(parseRef(n.input[1]!).node);
    if (!src || !BIAS_TARGETS.has(src.op) || parseRef(n.input[0]!).index !== 0) continue;
    if ((consumers.get(src.name) ?? []).length !== 1) continue;
    if (!b || b.op !== 'Const' || constValue(b).shape.length !== 1) continue;
    if ((attrString(src, 'data_format') ?? 'NHWC') !== 'NHWC') continue;
    n.op = 'BiasAdd';
    n.attr = { T: n.attr.T ?? { type: DT.FLOAT }, data_format: { s: encodeUtf8('NHWC') } };
  }
}

/**
 * Keras' PReLU pattern → `Prelu(x, alpha)`, named like the Add (so its consumers are unchanged), with
 * a new Const `<add>/alpha` = -(the Mul's constant). The replaced Relu/Neg/Mul nodes are left for
 * pruning (other consumers may still read them). Returns the number of Prelu nodes made.
 */
export function fusePrelu(nodes: NodeDef[]): number {
  const byName = nodeMap(nodes);
  const src = (ref: string | undefined): NodeDef | undefined => {
    if (ref === undefined || ref.startsWith('^')) return undefined;
    const r = parseRef(ref);
    return r.index === 0 ? byName.get(r.node) : undefined;
  };
  const sameTensor = (a: string | undefined, b: string | undefined) =>
    a !== undefined && b !== undefined && parseRef(a).node === parseRef(b).node && parseRef(a).index === parseRef(b).index;
  let made = 0;
  const added: NodeDef[] = [];
  for (const n of nodes) {
    if ((n.op !== 'Add' && n.op !== 'AddV2') || n.input.length !== 2 || !isFloat(n)) continue;
    for (const [pi, mi] of [[0, 1], [1, 0]] as const) {
      const pos = src(n.input[pi]);
      const mul = src(n.input[mi]);
      if (pos?.op !== 'Relu' || mul?.op !== 'Mul' || mul.input.length !== 2) continue;
      const x = pos.input[0];
      let alphaNode: NodeDef | undefined;
      let negRelu: NodeDef | undefined;
      for (const [ci, ri] of [[0, 1], [1, 0]] as const) {
        const c = src(mul.input[ci]);
        const r = src(mul.input[ri]);
        if (c?.op === 'Const' && r?.op === 'Relu') {
          alphaNode = c;
          negRelu = r;
        }
      }
      const neg = src(negRelu?.input[0]);
      if (!alphaNode || neg?.op !== 'Neg' || !sameTensor(neg.input[0], x)) continue;
      const a = constValue(alphaNode);
      if (a.dtype !== DT.FLOAT) continue;
      const alphaName = `${n.name}/alpha`;
      if (byName.has(alphaName)) continue;
      const alpha = makeConst(alphaName, { dtype: DT.FLOAT, shape: a.shape.slice(), values: (a.values as Float32Array).map((v) => -v) });
      added.push(alpha);
      byName.set(alphaName, alpha);
      n.op = 'Prelu';
      n.input = [x!, alphaName];
      n.attr = { T: n.attr.T ?? { type: DT.FLOAT } };
      made++;
      break;
    }
  }
  nodes.unshift(...added);
  return made;
}

const fusedOps = (ops: string[]): AttrValue => listAttr({ s: ops.map((o) => encodeUtf8(o)) });

export function fuseOps(nodes: NodeDef[]): NodeDef[] {
  normalizeBiasAdds(nodes);
  const consumers = consumersMap(nodes);
  const single = (n: NodeDef): NodeDef | undefined => {
    const c = consumers.get(n.name) ?? [];
    if (c.length !== 1) return undefined;
    const only = c[0]!;
    // It must read output 0 exactly once.
    const uses = only.input.filter((i) => parseRef(i).node === n.name);
    return uses.length === 1 && parseRef(uses[0]!).index === 0 ? only : undefined;
  };
  const removed = new Set<string>();
  const replaced = new Map<string, NodeDef>();
  for (const base of nodes) {
    if (!BIAS_TARGETS.has(base.op) || removed.has(base.name) || !isFloat(base)) continue;
    if (base.op !== 'MatMul' && (attrString(base, 'data_format') ?? 'NHWC') !== 'NHWC') continue;
    const isDepthwise = base.op === 'DepthwiseConv2dNative';
    const acts = isDepthwise ? DEPTHWISE_ACTIVATIONS : ACTIVATIONS;
    let next = single(base);
    let biasAdd: NodeDef | undefined;
    if (next && next.op === 'BiasAdd' && parseRef(next.input[0]!).node === base.name && (attrString(next, 'data_format') ?? 'NHWC') === 'NHWC') {
      biasAdd = next;
      next = single(next);
    }
    // Prelu joins only after a BiasAdd (num_args 2: bias, alpha), reading it as its input 0.
    const prelu = biasAdd && next?.op === 'Prelu' && parseRef(next.input[0]!).node === biasAdd.name && next.input[1] ? next : undefined;
    const act = prelu ?? (next && acts.has(next.op) ? next : undefined);
    if (!biasAdd && !(isDepthwise && act)) continue;
    const last = act ?? biasAdd!;
    const ops = [biasAdd ? 'BiasAdd' : 'NoOp', ...(act ? [act.op] : [])];
    const attr: Record<string, AttrValue> = { ...base.attr };
    // SavedModels strip default-valued attrs; the fused ops' TF.js mappers have no defaults for them.
    if (base.op !== 'MatMul') {
      attr.dilations ??= listAttr({ i: [1, 1, 1, 1] });
      attr.data_format ??= { s: encodeUtf8('NHWC') };
      if (base.op === 'Conv2D') attr.explicit_paddings ??= listAttr({});
    } else {
      attr.transpose_a ??= { b: false };
      attr.transpose_b ??= { b: false };
    }
    attr.fused_ops = fusedOps(ops);
    attr.num_args = { i: (biasAdd ? 1 : 0) + (prelu ? 1 : 0) };
    attr.epsilon = { f: 0 };
    if (act?.op === 'LeakyRelu') attr.leakyrelu_alpha = { f: act.attr.alpha?.f ?? 0.2 };
    const op = base.op === 'Conv2D' ? '_FusedConv2D' : base.op === 'MatMul' ? '_FusedMatMul' : 'FusedDepthwiseConv2dNative';
    const fused: NodeDef = { name: last.name, op, input: [...base.input.slice(0, 2), ...(biasAdd ? [biasAdd.input[1]!] : []), ...(prelu ? [prelu.input[1]!] : [])], attr };
    removed.add(base.name);
    if (biasAdd) removed.add(biasAdd.name);
    if (act) removed.add(act.name);
    replaced.set(last.name, fused);
  }
  if (replaced.size === 0) return nodes;
  const out: NodeDef[] = [];
  for (const n of nodes) {
    const r = replaced.get(n.name);
    if (r) out.push(r);
    else if (!removed.has(n.name)) out.push(n);
  }
  return out;
}
