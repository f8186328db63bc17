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

export interface InlineOptions {
  maxDepth?: number;
  /**
   * Inline the top-level calls' bodies without the `<call>/` prefix when no name clashes, as the
   * official converter names nodes (it inlines the signature's concrete function, whose body's own
   * call is `StatefulPartitionedCall`): `StatefulPartitionedCall/model/dense/MatMul`, not
   * `StatefulPartitionedCall/StatefulPartitionedCall/model/dense/MatMul`; outputs `Identity`, `Identity_1`.
   */
  unprefixTopLevel?: boolean;
}

/**
 * Inlines all calls in `nodes`. `argNames` are the enclosing function's input
 * arguments (empty for the top-level graph): references to them are kept.
 */
export function inlineCalls(nodes: readonly NodeDef[], functions: ReadonlyMap<string, FlatFunction>, options: InlineOptions = {}): InlineResult {
  const maxDepth = options.maxDepth ?? 64;
  const topCalls: string[] = [];
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
    if (depth === 0) topCalls.push(n.name);
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
  if (!options.unprefixTopLevel || topCalls.length === 0) return { nodes: out, resolve };
  const rename = unprefixRenames(out, topCalls);
  if (rename.size === 0) return { nodes: out, resolve };
  const renameRef = (ref: string): string => {
    const r = parseRef(ref);
    const to = rename.get(r.node);
    if (to === undefined) return ref;
    return r.control ? `^${to}` : refString({ node: to, index: r.index });
  };
  for (const n of out) {
    n.name = rename.get(n.name) ?? n.name;
    n.input = n.input.map(renameRef);
  }
  return { nodes: out, resolve: (ref) => renameRef(resolve(ref)) };
}

/**
 * For each top-level call (in order), `<call>/x` → `x` for all its inlined nodes, when none of the
 * shorter names is taken (by another node or an earlier call's renamed nodes).
 */
function unprefixRenames(nodes: readonly NodeDef[], calls: readonly string[]): Map<string, string> {
  const names = new Set(nodes.map((n) => n.name));
  const rename = new Map<string, string>();
  for (const call of calls) {
    const prefix = `${call}/`;
    const mine = nodes.filter((n) => n.name.startsWith(prefix) && !rename.has(n.name)).map((n) => n.name);
    if (!mine.length) continue;
    // Names being renamed free theirs (`C/C/Identity` may take `C/Identity` as `C/Identity` becomes `Identity`).
    const moving = new Set(mine);
    if (mine.some((m) => names.has(m.slice(prefix.length)) && !moving.has(m.slice(prefix.length)))) continue;
    for (const m of mine) {
      rename.set(m, m.slice(prefix.length));
      names.delete(m);
    }
    for (const m of mine) names.add(m.slice(prefix.length));
  }
  return rename;
}
