/**
 * No-op Transposes (a constant perm [0, 1, …, n-1], as Tensordot and layout code leave them) become
 * Identity, which identity removal then drops. Returns how many were changed.
 */
import type { NodeDef } from '../proto/messages.js';
import { constValue, nodeMap, parseRef } from './graph.js';

export function dropIdentityTransposes(nodes: NodeDef[]): number {
  const byName = nodeMap(nodes);
  let changed = 0;
  for (const n of nodes) {
    if ((n.op !== 'Transpose' && n.op !== 'ConjugateTranspose') || n.input.length < 2 || n.input.slice(2).some((i) => !i.startsWith('^'))) continue;
    if (n.op === 'ConjugateTranspose' && ![undefined, 1, 2, 3, 9, 14, 17, 19].includes(n.attr.T?.type)) continue; // real dtypes only
    const permRef = parseRef(n.input[1]!);
    const perm = byName.get(permRef.node);
    if (!perm || perm.op !== 'Const' || permRef.index !== 0) continue;
    const v = constValue(perm);
    if (Array.isArray(v.values) || v.shape.length !== 1) continue;
    const p = Array.from(v.values as ArrayLike<number>);
    if (!p.every((x, i) => x === i)) continue;
    n.op = 'Identity';
    n.input = [n.input[0]!, ...n.input.slice(2)];
    n.attr = n.attr.T ? { T: n.attr.T } : {};
    changed++;
  }
  return changed;
}
