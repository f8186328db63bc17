/**
 * Keras Conv1D, `ExpandDims → Conv2D → Squeeze → BiasAdd [→ activation]`, becomes
 * `ExpandDims → _FusedConv2D(BiasAdd[, activation]) → Squeeze`, as the official converter gets it:
 * the bias (last axis) and an element-wise activation commute with squeezing a spatial axis of size 1.
 * The fused node takes the Conv2D's name and the Squeeze the name of the last node replaced, so
 * consumers are unchanged. Only single-consumer NHWC float chains whose Squeeze drops exactly one
 * spatial axis (1 or 2, or -3 / -2) are fused.
 */
import type { AttrValue, NodeDef } from '../proto/messages.js';
import { DT } from '../tensor.js';
import { attrString, consumersMap, encodeUtf8, listAttr, parseRef } from './graph.js';

const ACTIVATIONS = new Set(['Relu', 'Relu6', 'Elu', 'LeakyRelu', 'Sigmoid']);
const SPATIAL = new Set([1, 2, -3, -2]);

export function fuseConv1D(nodes: NodeDef[]): NodeDef[] {
  const consumers = consumersMap(nodes);
  /** The only consumer of `n`, reading its output 0 once as input 0. */
  const next = (n: NodeDef): NodeDef | undefined => {
    const c = consumers.get(n.name) ?? [];
    if (c.length !== 1) return undefined;
    const only = c[0]!;
    const uses = only.input.filter((i) => parseRef(i).node === n.name);
    return uses.length === 1 && only.input[0] === uses[0] && parseRef(uses[0]!).index === 0 ? only : undefined;
  };
  const isFloat = (n: NodeDef) => (n.attr.T?.type ?? DT.FLOAT) === DT.FLOAT;
  const replaced = new Map<string, NodeDef>();
  const removed = new Set<string>();
  for (const conv of nodes) {
    if (conv.op !== 'Conv2D' || !isFloat(conv) || (attrString(conv, 'data_format') ?? 'NHWC') !== 'NHWC') continue;
    const squeeze = next(conv);
    const dims = squeeze?.attr.squeeze_dims?.list?.i.map(Number) ?? [];
    if (squeeze?.op !== 'Squeeze' || dims.length !== 1 || !SPATIAL.has(dims[0]!)) continue;
    const bias = next(squeeze);
    if (bias?.op !== 'BiasAdd' || (attrString(bias, 'data_format') ?? 'NHWC') !== 'NHWC' || !bias.input[1]) continue;
    const after = next(bias);
    const act = after && ACTIVATIONS.has(after.op) && isFloat(after) ? after : undefined;
    const last = act ?? bias;
    const attr: Record<string, AttrValue> = {
      ...conv.attr,
      fused_ops: listAttr({ s: ['BiasAdd', ...(act ? [act.op] : [])].map(encodeUtf8) }),
      num_args: { i: 1 },
      epsilon: { f: 0 },
    };
    attr.dilations ??= listAttr({ i: [1, 1, 1, 1] });
    attr.data_format ??= { s: encodeUtf8('NHWC') };
    attr.explicit_paddings ??= listAttr({});
    if (act?.op === 'LeakyRelu') attr.leakyrelu_alpha = { f: act.attr.alpha?.f ?? 0.2 };
    replaced.set(conv.name, { name: conv.name, op: '_FusedConv2D', input: [conv.input[0]!, conv.input[1]!, bias.input[1]], attr });
    replaced.set(last.name, { name: last.name, op: 'Squeeze', input: [conv.name], attr: { ...squeeze.attr } });
    removed.add(squeeze.name);
    if (act) removed.add(bias.name);
  }
  if (replaced.size === 0) return nodes;
  return nodes.filter((n) => !removed.has(n.name)).map((n) => replaced.get(n.name) ?? n);
}
