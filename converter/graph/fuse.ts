/**
 * Op fusion for TF.js (what grappler's remapper plus `fuse_depthwise_conv2d.py`
 * produce in the official converter):
 * - `Add`/`AddV2` of a 1-D constant after Conv2D / Depthwise / MatMul → `BiasAdd`;
 * - Conv2D + BiasAdd [+ Relu|Relu6|Elu|LeakyRelu|Sigmoid] → `_FusedConv2D`;
 * - MatMul + BiasAdd [+ activation] → `_FusedMatMul`;
 * - DepthwiseConv2dNative + BiasAdd [+ Relu|Relu6|Elu], or + activation alone
 *   → `FusedDepthwiseConv2dNative`.
 * The fused node takes the name of the last node it replaces, so consumers
 * are unchanged. Only single-consumer chains in NHWC float32 are fused.
 */
import type { AttrValue, NodeDef } from '../proto/messages.js';
import { DT } from '../tensor.js';
import { attrString, constValue, consumersMap, listAttr, nodeMap, parseRef, encodeUtf8 } from './graph.js';

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
    const act = next && acts.has(next.op) ? next : undefined;
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
    attr.num_args = { i: biasAdd ? 1 : 0 };
    attr.epsilon = { f: 0 };
    if (act?.op === 'LeakyRelu') attr.leakyrelu_alpha = { f: act.attr.alpha?.f ?? 0.2 };
    const op = base.op === 'Conv2D' ? '_FusedConv2D' : base.op === 'MatMul' ? '_FusedMatMul' : 'FusedDepthwiseConv2dNative';
    const fused: NodeDef = { name: last.name, op, input: [...base.input.slice(0, 2), ...(biasAdd ? [biasAdd.input[1]!] : [])], attr };
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
