/**
 * Identity removal: consumers of an `Identity` (or `Snapshot` /
 * `StopGradient`, which are identities at inference time) read its input
 * directly. Nodes in `keep` (signature outputs) stay, and so do Identities of a TF1 `Switch` output
 * (`while/Identity`, `cond/switch_t`): they are the pivots of a loop body or branch, which TF1 hangs the
 * frame's other nodes on, and TF.js handles them as TensorFlow does. Identities with a control input (the
 * gates `stripControlInputs` puts on TF1 branch / loop-body constants) stay too.
 */
import type { NodeDef } from '../proto/messages.js';
import { nodeMap, parseRef, refString } from './graph.js';

export const IDENTITY_OPS: ReadonlySet<string> = new Set(['Identity', 'Snapshot', 'StopGradient', 'PreventGradient']);

const SWITCH_OPS: ReadonlySet<string> = new Set(['Switch', 'RefSwitch']);

export function removeIdentities(nodes: readonly NodeDef[], keepNames: ReadonlySet<string>): NodeDef[] {
  const byName = nodeMap(nodes);
  const keep = new Set(keepNames);
  for (const n of nodes) {
    if (IDENTITY_OPS.has(n.op) && n.input[0] && !n.input[0].startsWith('^') && SWITCH_OPS.has(byName.get(parseRef(n.input[0]).node)?.op ?? '')) keep.add(n.name);
    // Gates of branch / loop-body constants (see stripControlInputs): their control input is the point.
    if (IDENTITY_OPS.has(n.op) && n.input.some((i) => i.startsWith('^'))) keep.add(n.name);
  }
  const target = (ref: string): string => {
    let r = parseRef(ref);
    for (let i = 0; i < 1000; i++) {
      const n = byName.get(r.node);
      if (!n || !IDENTITY_OPS.has(n.op) || keep.has(n.name) || r.index !== 0 || !n.input[0] || n.input[0].startsWith('^')) break;
      r = parseRef(n.input[0]);
    }
    return refString(r);
  };
  const out: NodeDef[] = [];
  for (const n of nodes) {
    if (IDENTITY_OPS.has(n.op) && !keep.has(n.name)) continue;
    n.input = n.input.map((i) => (i.startsWith('^') ? i : target(i)));
    out.push(n);
  }
  return out;
}
