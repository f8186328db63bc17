/**
 * Pruning to what the signature outputs need, plus the small clean-ups that
 * go with it: dropping control edges (TF.js turns `^x` into a data
 * dependency) except those gating TF1 branch / loop-body constants,
 * stripping device placements and debug ops.
 */
import type { NodeDef } from '../proto/messages.js';
import { nodeMap, parseRef, type FlatFunction } from './graph.js';

const SWITCH_OPS: ReadonlySet<string> = new Set(['Switch', 'RefSwitch']);
const PIVOT_IDENTITY_OPS: ReadonlySet<string> = new Set(['Identity', 'Snapshot', 'StopGradient', 'PreventGradient']);

/**
 * Removes `^ctrl` inputs. Inference graphs need no ordering once state is gone, except where a control
 * edge *gates* a value in TF1 dataflow control flow: a `Const` inside a `tf.cond` branch or a
 * `tf.while_loop` body hangs on the frame's pivot (`^cond/switch_t`, `^while/Identity`: an Identity of a
 * `Switch` output), possibly through other control-only nodes. (A bare `^Switch` is not treated as a gate:
 * TF.js would read it as the Switch's output 0, i.e. the false branch.) TF.js loads every
 * `Const` as a weight, available from the start whatever its inputs, so a gated Const keeps its value under
 * `<name>/gated_value` (no inputs) and `<name>` becomes `Identity(<name>/gated_value, ^pivot…)`: TF.js maps
 * `^x` to an input name (not a data input of Identity) and pushes a node only once all its inputs have
 * values, so the Identity is not computed in a dead branch and the branch's `Merge` sees the live one only.
 * Other nodes lose their control inputs (TF.js would wait on them, and variadic ops would read them as data).
 */
export function stripControlInputs(nodes: NodeDef[]): void {
  const byName = nodeMap(nodes);
  const memo = new Map<string, string[]>();
  /** Pivots that control input `name` reaches through control edges (itself if it is one). */
  const pivots = (name: string, depth = 0): string[] => {
    const hit = memo.get(name);
    if (hit) return hit;
    memo.set(name, []); // cycle guard
    const n = byName.get(name);
    let out: string[] = [];
    if (n && PIVOT_IDENTITY_OPS.has(n.op) && n.input[0] && !n.input[0].startsWith('^') && SWITCH_OPS.has(byName.get(parseRef(n.input[0]).node)?.op ?? '')) out = [name];
    else if (n && depth < 64 && n.input.length > 0 && n.input.every((i) => i.startsWith('^'))) {
      // A control-only node (e.g. a NoOp grouping the pivot): it gates what hangs on it.
      out = [...new Set(n.input.flatMap((i) => pivots(i.slice(1), depth + 1)))];
    }
    memo.set(name, out);
    return out;
  };
  const gates: NodeDef[] = [];
  const taken = new Set(byName.keys());
  const gated = new Map<NodeDef, string[]>();
  for (const n of nodes) {
    if (n.op !== 'Const' || !n.input.some((i) => i.startsWith('^'))) continue;
    const gating = [...new Set(n.input.filter((i) => i.startsWith('^')).flatMap((i) => pivots(i.slice(1))))];
    if (gating.length > 0) gated.set(n, gating);
  }
  for (const n of nodes) if (n.input.some((i) => i.startsWith('^'))) n.input = n.input.filter((i) => !i.startsWith('^'));
  for (const [n, gating] of gated) {
    let value = `${n.name}/gated_value`;
    for (let k = 1; taken.has(value); k++) value = `${n.name}/gated_value_${k}`;
    taken.add(value);
    const gate: NodeDef = { name: n.name, op: 'Identity', input: [value, ...gating.map((p) => `^${p}`)], attr: { T: { type: n.attr.dtype?.type ?? 0 } } };
    if (n.device !== undefined) gate.device = n.device;
    n.name = value;
    gates.push(gate);
  }
  nodes.push(...gates);
}

/** Keeps the nodes reachable (through data and control inputs) from `outputs`, in their original order. */
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
