/**
 * Function-call inlining: every `StatefulPartitionedCall` / `PartitionedCall`
 * (or a node whose op is a library function's name) is replaced by the
 * callee's body, its nodes renamed `<call>/<node>` as TensorFlow does.
 * References to the call's outputs are redirected to the tensors the body
 * returns; the mapping is also returned so signature tensor names can follow.
 */
import { ConverterError } from '../errors.js';
import type { NodeDef } from '../proto/messages.js';
import { FunctionLibrary } from './function-library.js';
import { parseRef, refString, type FlatFunction } from './graph.js';

const CALL_OPS = new Set(['StatefulPartitionedCall', 'PartitionedCall']);

export interface InlineResult {
  nodes: NodeDef[];
  /** Resolves "call:k" references (tensor refs in flat form) to inlined tensors. */
  resolve(ref: string): string;
}

function calleeOf(n: NodeDef, functions: ReadonlyMap<string, FlatFunction>): FlatFunction | undefined {
  if (CALL_OPS.has(n.op)) {
    const callee = n.attr.f?.func?.name;
    // Among `api_implements` alternatives, the one TF.js can run.
    const name = callee && functions instanceof FunctionLibrary ? functions.implementationFor(callee) : callee;
    const f = name ? functions.get(name) : undefined;
    if (!f) throw new ConverterError('NOT_FOUND', `node "${n.name}" (${n.op}) calls function "${name}", which is not in the graph's library`);
    return f;
  }
  if (!functions.has(n.op)) return undefined;
  return functions.get(functions instanceof FunctionLibrary ? functions.implementationFor(n.op) : n.op);
}

/**
 * Inlines all calls in `nodes`. `argNames` are the enclosing function's input
 * arguments (empty for the top-level graph): references to them are kept.
 */
export function inlineCalls(nodes: readonly NodeDef[], functions: ReadonlyMap<string, FlatFunction>, maxDepth = 64): InlineResult {
  // alias: "call:k" (canonical tensor name) → flat ref (may itself be an alias).
  const alias = new Map<string, string>();
  const inlined = new Set<string>();
  const out: NodeDef[] = [];
  const queue: [NodeDef, number][] = nodes.map((n) => [n, 0]);
  while (queue.length) {
    const [n, depth] = queue.shift()!;
    const f = calleeOf(n, functions);
    if (!f) {
      out.push(n);
      continue;
    }
    if (depth >= maxDepth) throw new ConverterError('UNIMPLEMENTED', `function call nesting deeper than ${maxDepth} at "${n.name}" (recursive function "${f.name}"?)`);
    const dataInputs = n.input.filter((i) => !i.startsWith('^'));
    if (dataInputs.length !== f.inputArgs.length) {
      throw new ConverterError(
        'INVALID_ARGUMENT',
        `node "${n.name}" passes ${dataInputs.length} inputs to function "${f.name}", which takes ${f.inputArgs.length}`,
      );
    }
    inlined.add(n.name);
    const argMap = new Map<string, string>();
    f.inputArgs.forEach((a, i) => argMap.set(a.name, dataInputs[i]!));
    const prefix = `${n.name}/`;
    const mapRef = (r: string): string | undefined => {
      if (r.startsWith('^')) {
        const src = r.slice(1);
        const outer = argMap.get(src);
        if (outer !== undefined) return `^${parseRef(outer).node}`;
        return `^${prefix}${src}`;
      }
      const outer = argMap.get(r);
      if (outer !== undefined) return outer;
      return prefix + r;
    };
    const body: NodeDef[] = [];
    for (const b of f.nodes) {
      const c: NodeDef = { name: prefix + b.name, op: b.op, input: [], attr: { ...b.attr } };
      if (b.device) c.device = b.device;
      for (const r of b.input) {
        const m = mapRef(r);
        if (m !== undefined) c.input.push(m);
      }
      body.push(c);
    }
    f.outputArgs.forEach((a, k) => {
      const r = f.ret[a.name];
      if (r === undefined) throw new ConverterError('INVALID_ARGUMENT', `function "${f.name}" does not return its output "${a.name}"`);
      alias.set(`${n.name}:${k}`, mapRef(r)!);
    });
    for (const b of body) queue.push([b, depth + 1]);
  }

  const resolve = (ref: string): string => {
    if (ref.startsWith('^')) {
      // A control dependency on an inlined call: depend on nothing (inference graphs don't need it).
      return inlined.has(ref.slice(1)) ? '' : ref;
    }
    let cur = ref;
    for (let i = 0; i < 1000; i++) {
      const r = parseRef(cur);
      const next = alias.get(`${r.node}:${r.index}`);
      if (next === undefined) return refString(r);
      cur = next;
    }
    throw new ConverterError('INTERNAL', `alias cycle resolving ${ref}`);
  };
  if (inlined.size > 0) for (const n of out) n.input = n.input.map(resolve).filter((s) => s !== '');
  return { nodes: out, resolve };
}
