/**
 * Graph optimizations for TF.js, in the order the official converter applies
 * them: constant folding, identity removal (no-op Transposes included), BatchNorm
 * folding into convolutions, then fusion (Keras Conv1D, _FusedConv2D, _FusedMatMul,
 * FusedDepthwiseConv2dNative with bias and activation). Control-flow bodies
 * get constant folding and identity removal.
 */
import { foldBatchNorms } from './fold-batchnorm.js';
import { foldConstants } from './fold-constants.js';
import { fuseOps, fusePrelu } from './fuse.js';
import { fuseConv1D } from './fuse-conv1d.js';
import { dropIdentityTransposes } from './noop-transpose.js';
import { nodeMap, parseRef, refString, type FlatFunction, type Graph } from './graph.js';
import { pruneToOutputs } from './prune.js';
import { IDENTITY_OPS, removeIdentities } from './remove-identity.js';

export interface OptimizeOptions {
  /** Nodes that must keep their names (signature outputs). */
  keep: ReadonlySet<string>;
  fuse: boolean;
}

export function optimizeGraph(graph: Graph, opts: OptimizeOptions): void {
  graph.nodes = removeIdentities(graph.nodes, opts.keep);
  graph.nodes = pruneToOutputs(foldConstants(graph.nodes, opts.keep), opts.keep);
  dropIdentityTransposes(graph.nodes);
  graph.nodes = pruneToOutputs(removeIdentities(graph.nodes, opts.keep), opts.keep);
  if (opts.fuse) {
    graph.nodes = pruneToOutputs(foldBatchNorms(graph.nodes), opts.keep);
    if (fusePrelu(graph.nodes)) graph.nodes = pruneToOutputs(graph.nodes, opts.keep);
    graph.nodes = fuseConv1D(graph.nodes);
    graph.nodes = fuseOps(graph.nodes);
  }
  for (const f of graph.functions.values()) optimizeFunction(f);
}

/**
 * Control-flow bodies (the functions that stay in the library): constant folding and identity removal,
 * with the function's `ret` as its outputs. Input arguments are never constant. Returned tensors may be
 * re-pointed past Identity nodes, except where two outputs would then name one node at two different
 * output indices (TF.js's function mapper keeps one output index per returned node). No fusion here.
 */
export function optimizeFunction(f: FlatFunction): void {
  const retNodes = () => new Set(Object.values(f.ret).map((r) => parseRef(r).node));
  f.nodes = pruneToOutputs(foldConstants(f.nodes, retNodes()), retNodes());
  dropIdentityTransposes(f.nodes);
  const byName = nodeMap(f.nodes);
  const through = (ref: string): string => {
    let r = parseRef(ref);
    for (let i = 0; i < 1000; i++) {
      const n = byName.get(r.node);
      if (!n || !IDENTITY_OPS.has(n.op) || r.index !== 0 || !n.input[0] || n.input.some((i) => i.startsWith('^'))) break;
      r = parseRef(n.input[0]);
    }
    return refString(r);
  };
  const targets = Object.entries(f.ret).map(([k, v]) => [k, v, through(v)] as const);
  const indices = new Map<string, Set<number>>();
  for (const [, , t] of targets) {
    const r = parseRef(t);
    let set = indices.get(r.node);
    if (!set) indices.set(r.node, (set = new Set()));
    set.add(r.index);
  }
  const keep = new Set<string>();
  for (const [k, v, t] of targets) {
    if (indices.get(parseRef(t).node)!.size > 1) keep.add(parseRef(v).node);
    else f.ret[k] = t;
  }
  f.nodes = pruneToOutputs(removeIdentities(f.nodes, keep), retNodes());
}
