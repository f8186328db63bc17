/**
 * Pruning to what the signature outputs need, plus the small clean-ups that
 * go with it: dropping control edges (TF.js turns `^x` into a data
 * dependency), stripping device placements and debug ops.
 */
import type { NodeDef } from '../proto/messages.js';
import { nodeMap, parseRef, type FlatFunction } from './graph.js';

/** Removes `^ctrl` inputs. Inference graphs need no ordering once state is gone. */
export function stripControlInputs(nodes: readonly NodeDef[]): void {
  for (const n of nodes) if (n.input.some((i) => i.startsWith('^'))) n.input = n.input.filter((i) => !i.startsWith('^'));
}

/** Keeps the nodes reachable (through data inputs) from `outputs`, in their original order. */
export function pruneToOutputs(nodes: readonly NodeDef[], outputs: Iterable<string>): NodeDef[] {
  const byName = nodeMap(nodes);
  const keep = new Set<string>();
  const stack = [...outputs];
  while (stack.length) {
    const name = stack.pop()!;
    if (keep.has(name)) continue;
    const n = byName.get(name);
    if (!n) continue;
    keep.add(name);
    for (const i of n.input) stack.push(parseRef(i).node);
  }
  return nodes.filter((n) => keep.has(n.name));
}

/**
 * Functions referenced through `func` attrs of `nodes` (e.g. a While's `cond` and `body`), in first-use
 * order; with `transitive`, also those their bodies reference.
 */
export function referencedFunctions(nodes: readonly NodeDef[], functions: ReadonlyMap<string, FlatFunction>, transitive = true): string[] {
  const seen = new Set<string>();
  const visit = (ns: readonly NodeDef[]) => {
    for (const n of ns) {
      for (const a of Object.values(n.attr)) {
        const names = [a.func?.name, ...(a.list?.func ?? []).map((f) => f.name)];
        for (const fname of names) {
          if (!fname || seen.has(fname)) continue;
          const f = functions.get(fname);
          if (!f) continue;
          seen.add(fname);
          if (transitive) visit(f.nodes);
        }
      }
    }
  };
  visit(nodes);
  return [...seen];
}

const DEBUG_PASSTHROUGH = new Set(['CheckNumerics', 'CheckNumericsV2', 'Print', 'DebugIdentity', 'DebugIdentityV2']);
const DEBUG_SINKS = new Set(['Assert', 'PrintV2', 'NoOp']);

/**
 * Strips device placements; turns pass-through debug ops into Identity and
 * drops debug sinks (which, without control edges, nothing depends on).
 * Returns the number of debug ops changed.
 */
export function stripDevicesAndDebugOps(nodes: NodeDef[]): NodeDef[] {
  const out: NodeDef[] = [];
  for (const n of nodes) {
    delete n.device;
    if (DEBUG_SINKS.has(n.op)) continue;
    if (DEBUG_PASSTHROUGH.has(n.op) && n.input.length > 0) {
      out.push({ name: n.name, op: 'Identity', input: [n.input[0]!], attr: n.attr.T ? { T: n.attr.T } : {} });
      continue;
    }
    out.push(n);
  }
  return out;
}
