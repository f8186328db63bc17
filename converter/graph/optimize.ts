/**
 * Graph optimizations for TF.js, in the order the official converter applies
 * them: constant folding, identity removal, BatchNorm folding into
 * convolutions, then fusion (_FusedConv2D, _FusedMatMul,
 * FusedDepthwiseConv2dNative with bias and activation).
 */
import { foldBatchNorms } from './fold-batchnorm.js';
import { foldConstants } from './fold-constants.js';
import { fuseOps } from './fuse.js';
import type { Graph } from './graph.js';
import { pruneToOutputs } from './prune.js';
import { removeIdentities } from './remove-identity.js';

export interface OptimizeOptions {
  /** Nodes that must keep their names (signature outputs). */
  keep: ReadonlySet<string>;
  fuse: boolean;
}

export function optimizeGraph(graph: Graph, opts: OptimizeOptions): void {
  graph.nodes = removeIdentities(graph.nodes, opts.keep);
  graph.nodes = pruneToOutputs(foldConstants(graph.nodes, opts.keep), opts.keep);
  graph.nodes = removeIdentities(graph.nodes, opts.keep);
  if (opts.fuse) {
    graph.nodes = pruneToOutputs(foldBatchNorms(graph.nodes), opts.keep);
    graph.nodes = fuseOps(graph.nodes);
  }
  for (const f of graph.functions.values()) {
    const keep = new Set(Object.values(f.ret).map((r) => r.split(':')[0]!));
    f.nodes = removeIdentities(f.nodes, keep);
  }
}
