/**
 * BatchNorm folding (as `fold_batch_norms.py`): an inference-mode
 * `FusedBatchNorm(V2|V3)` / `BatchNormWithGlobalNormalization` after a
 * `Conv2D` or `DepthwiseConv2dNative` (optionally through a BiasAdd/Add of a
 * constant) is folded into the filter and a bias:
 *   scale = gamma / sqrt(var + eps); W' = W * scale[c_out];
 *   offset = beta - (mean - bias) * scale.
 * The conv keeps its name and reads `<conv>_weights`; a `BiasAdd` named like
 * the BatchNorm, reading `<conv>_bn_offset`, takes the BatchNorm's place.
 */
import type { NodeDef } from '../proto/messages.js';
import { DT, type HostTensor } from '../tensor.js';
import { attrBool, attrFloat, attrString, constValue, consumersMap, makeConst, nodeMap, parseRef, sAttr } from './graph.js';

const BN_OPS = new Set(['FusedBatchNorm', 'FusedBatchNormV2', 'FusedBatchNormV3', 'BatchNormWithGlobalNormalization']);
const CONV_OPS = new Set(['Conv2D', 'DepthwiseConv2dNative']);
const BIAS_OPS = new Set(['BiasAdd', 'Add', 'AddV2']);

function floatConst(byName: Map<string, NodeDef>, ref: string | undefined): Float32Array | undefined {
  if (!ref) return undefined;
  const n = byName.get(parseRef(ref).node);
  if (!n || n.op !== 'Const') return undefined;
  const v = constValue(n);
  return v.dtype === DT.FLOAT && v.values instanceof Float32Array ? v.values : undefined;
}

export function foldBatchNorms(nodes: NodeDef[]): NodeDef[] {
  const byName = nodeMap(nodes);
  const consumers = consumersMap(nodes);
  const onlyConsumer = (name: string, c: NodeDef) => (consumers.get(name) ?? []).every((x) => x === c);
  const remove = new Set<string>();
  const replace = new Map<string, NodeDef[]>(); // node name → nodes to put in its place
  for (const bn of nodes) {
    if (!BN_OPS.has(bn.op) || remove.has(bn.name)) continue;
    const isBNWGN = bn.op === 'BatchNormWithGlobalNormalization';
    if (!isBNWGN && attrBool(bn, 'is_training') !== false) continue;
    if ((attrString(bn, 'data_format') ?? 'NHWC') !== 'NHWC') continue;
    // Only output 0 may be used.
    if ((consumers.get(bn.name) ?? []).some((c) => c.input.some((i) => parseRef(i).node === bn.name && parseRef(i).index !== 0))) continue;
    let src = byName.get(parseRef(bn.input[0] ?? '').node);
    let biasNode: NodeDef | undefined;
    let bias: Float32Array | undefined;
    if (src && BIAS_OPS.has(src.op) && onlyConsumer(src.name, bn)) {
      const b = floatConst(byName, src.input[1]);
      const conv = byName.get(parseRef(src.input[0] ?? '').node);
      if (!b || !conv || !CONV_OPS.has(conv.op)) continue;
      biasNode = src;
      bias = b;
      src = conv;
    }
    const conv = src;
    if (!conv || !CONV_OPS.has(conv.op) || !onlyConsumer(conv.name, biasNode ?? bn)) continue;
    if ((attrString(conv, 'data_format') ?? 'NHWC') !== 'NHWC') continue;
    const filterNode = byName.get(parseRef(conv.input[1] ?? '').node);
    if (!filterNode || filterNode.op !== 'Const') continue;
    const filter = constValue(filterNode);
    if (filter.dtype !== DT.FLOAT || filter.shape.length !== 4) continue;
    const [, , cin, last] = filter.shape as [number, number, number, number];
    const channels = conv.op === 'Conv2D' ? last : cin * last;
    // Parameters (BNWGN input order: t, mean, var, beta, gamma).
    const [meanRef, varRef, betaRef, gammaRef] = isBNWGN
      ? [bn.input[1], bn.input[2], bn.input[3], bn.input[4]]
      : [bn.input[3], bn.input[4], bn.input[2], bn.input[1]];
    const mean = floatConst(byName, meanRef);
    const variance = floatConst(byName, varRef);
    const beta = floatConst(byName, betaRef);
    const gammaUsed = !isBNWGN || attrBool(bn, 'scale_after_normalization') !== false;
    const gamma = gammaUsed ? floatConst(byName, gammaRef) : new Float32Array(channels).fill(1);
    if (!mean || !variance || !beta || !gamma) continue;
    if ([mean, variance, beta, gamma].some((a) => a.length !== channels) || (bias && bias.length !== channels)) continue;
    const eps = attrFloat(bn, isBNWGN ? 'variance_epsilon' : 'epsilon') ?? 0.0001;
    const scale = new Float32Array(channels);
    const offset = new Float32Array(channels);
    for (let c = 0; c < channels; c++) {
      scale[c] = gamma[c]! / Math.sqrt(variance[c]! + eps);
      offset[c] = beta[c]! - (mean[c]! - (bias ? bias[c]! : 0)) * scale[c]!;
    }
    const w = filter.values as Float32Array;
    const w2 = new Float32Array(w.length);
    const inner = conv.op === 'Conv2D' ? last : cin * last; // scale index = position within the last (one or two) dims
    for (let i = 0; i < w.length; i++) w2[i] = w[i]! * scale[i % inner]!;
    const weights: HostTensor = { dtype: DT.FLOAT, shape: filter.shape.slice(), values: w2 };
    const wNode = makeConst(`${conv.name}_weights`, weights);
    const oNode = makeConst(`${conv.name}_bn_offset`, { dtype: DT.FLOAT, shape: [channels], values: offset });
    const newConv: NodeDef = { ...conv, input: [conv.input[0]!, wNode.name, ...conv.input.slice(2)], attr: { ...conv.attr } };
    const biasAdd: NodeDef = {
      name: bn.name,
      op: 'BiasAdd',
      input: [conv.name, oNode.name],
      attr: { T: conv.attr.T ?? { type: DT.FLOAT }, data_format: sAttr('NHWC') },
    };
    replace.set(conv.name, [wNode, oNode, newConv]);
    replace.set(bn.name, [biasAdd]);
    if (biasNode) remove.add(biasNode.name);
  }
  if (replace.size === 0) return nodes;
  const out: NodeDef[] = [];
  for (const n of nodes) {
    if (remove.has(n.name)) continue;
    const r = replace.get(n.name);
    if (r) out.push(...r);
    else out.push(n);
  }
  return out;
}
