/**
 * The converter's in-memory graph: NodeDefs with *flat* tensor references
 * everywhere ("node", "node:k", "^node"; inside function bodies an input
 * argument is referenced by its name), plus the functions that stay in the
 * library (bodies of StatelessWhile / StatelessIf).
 */
import { ConverterError } from '../errors.js';
import type { ArgDef, AttrValue, NodeDef, TensorProto } from '../proto/messages.js';
import { tensorFromProto, type HostTensor } from '../tensor.js';

export interface FlatFunction {
  name: string;
  inputArgs: ArgDef[];
  outputArgs: ArgDef[];
  nodes: NodeDef[];
  /** output arg name → flat ref ("node:k" or an input arg name). */
  ret: Record<string, string>;
  attr: Record<string, AttrValue>;
  argAttr: Record<string, { attr: Record<string, AttrValue> }>;
}

export interface Graph {
  nodes: NodeDef[];
  functions: Map<string, FlatFunction>;
}

export interface TensorRef {
  node: string;
  index: number;
}

export function parseRef(ref: string): TensorRef & { control: boolean } {
  const control = ref.startsWith('^');
  const s = control ? ref.slice(1) : ref;
  const i = s.lastIndexOf(':');
  if (i < 0) return { node: s, index: 0, control };
  const idx = Number(s.slice(i + 1));
  if (!Number.isInteger(idx)) return { node: s, index: 0, control };
  return { node: s.slice(0, i), index: idx, control };
}

export function refString(r: TensorRef): string {
  return r.index === 0 ? r.node : `${r.node}:${r.index}`;
}

/** "x:0" / "x" → "x:0" canonical tensor name. */
export function tensorName(r: TensorRef): string {
  return `${r.node}:${r.index}`;
}

export function isControl(ref: string): boolean {
  return ref.startsWith('^');
}

export function nodeMap(nodes: readonly NodeDef[]): Map<string, NodeDef> {
  const m = new Map<string, NodeDef>();
  for (const n of nodes) m.set(n.name, n);
  return m;
}

/** node name → nodes that consume any of its outputs (data or control). */
export function consumersMap(nodes: readonly NodeDef[]): Map<string, NodeDef[]> {
  const m = new Map<string, NodeDef[]>();
  for (const n of nodes) {
    for (const inp of n.input) {
      const src = parseRef(inp).node;
      let l = m.get(src);
      if (!l) m.set(src, (l = []));
      if (l[l.length - 1] !== n) l.push(n);
    }
  }
  return m;
}

/**
 * Whether input `i` of `n` is a TF1 while loop's back edge: a `Merge` reading a `NextIteration`.
 * Those edges close the loop's cycle (Merge → Switch → body → NextIteration → Merge); topological
 * passes ignore them, as TensorFlow's executor and TF.js's do.
 */
export function isBackEdge(n: NodeDef, dep: NodeDef | undefined): boolean {
  return n.op === 'Merge' && dep?.op === 'NextIteration';
}

/**
 * Node names in topological order (inputs before consumers). TF1 loop back edges (`Merge` ←
 * `NextIteration`) are ignored; any other cycle throws.
 */
export function topoSort(nodes: readonly NodeDef[]): NodeDef[] {
  const byName = nodeMap(nodes);
  const state = new Map<string, number>();
  const out: NodeDef[] = [];
  for (const root of nodes) {
    if (state.get(root.name)) continue;
    const stack: [NodeDef, number][] = [[root, 0]];
    state.set(root.name, 1);
    while (stack.length) {
      const top = stack[stack.length - 1]!;
      const [n, i] = top;
      if (i < n.input.length) {
        top[1]++;
        const dep = byName.get(parseRef(n.input[i]!).node);
        if (!dep || isBackEdge(n, dep)) continue;
        const s = state.get(dep.name);
        if (s === 1) throw new ConverterError('INVALID_ARGUMENT', `graph has a cycle through node "${dep.name}" that is not a while loop's NextIteration → Merge back edge`);
        if (!s) {
          state.set(dep.name, 1);
          stack.push([dep, 0]);
        }
      } else {
        stack.pop();
        state.set(n.name, 2);
        out.push(n);
      }
    }
  }
  return out;
}

// ------------------------------------------------------------ attributes
const td = new TextDecoder();
const te = new TextEncoder();

export function attrString(n: NodeDef, name: string): string | undefined {
  const v = n.attr[name]?.s;
  return v ? td.decode(v) : undefined;
}
export function attrStrings(n: NodeDef, name: string): string[] {
  return (n.attr[name]?.list?.s ?? []).map((b) => td.decode(b));
}
export function attrInt(n: NodeDef, name: string): number | undefined {
  const v = n.attr[name]?.i;
  return v === undefined ? undefined : Number(v);
}
export function attrInts(n: NodeDef, name: string): number[] {
  return (n.attr[name]?.list?.i ?? []).map(Number);
}
export function attrType(n: NodeDef, name: string): number | undefined {
  return n.attr[name]?.type;
}
export function attrTypes(n: NodeDef, name: string): number[] {
  return n.attr[name]?.list?.type ?? [];
}
export function attrFloat(n: NodeDef, name: string): number | undefined {
  return n.attr[name]?.f;
}
export function attrBool(n: NodeDef, name: string): boolean | undefined {
  return n.attr[name]?.b;
}
export function sAttr(s: string): AttrValue {
  return { s: te.encode(s) };
}
export function listAttr(partial: Partial<NonNullable<AttrValue['list']>>): AttrValue {
  return { list: { s: [], i: [], f: [], b: [], type: [], shape: [], tensor: [], func: [], ...partial } };
}
export function encodeUtf8(s: string): Uint8Array {
  return te.encode(s);
}

// ------------------------------------------------------------- constants
/**
 * Decoded Const values, keyed by the node's TensorProto object (not the node),
 * so that copies of a node (`{...node}`) keep their value.
 */
const constCache = new WeakMap<TensorProto, HostTensor>();

/** Makes a Const NodeDef whose value is `t` (the value lives beside the node, not in the proto). */
export function makeConst(name: string, t: HostTensor, controlInputs: string[] = []): NodeDef {
  const tensor: TensorProto = {
    dtype: t.dtype,
    tensorShape: { dim: t.shape.map((size) => ({ size })) },
    halfVal: [], floatVal: [], doubleVal: [], intVal: [], stringVal: [], scomplexVal: [],
    int64Val: [], boolVal: [], dcomplexVal: [], uint32Val: [], uint64Val: [],
  };
  const node: NodeDef = {
    name,
    op: 'Const',
    input: controlInputs,
    attr: { dtype: { type: t.dtype }, value: { tensor } },
  };
  constCache.set(tensor, t);
  return node;
}

/** The value of a Const node. */
export function constValue(n: NodeDef): HostTensor {
  const proto = n.attr.value?.tensor;
  if (!proto) throw new ConverterError('INVALID_ARGUMENT', `Const node "${n.name}" has no value attribute`);
  let t = constCache.get(proto);
  if (!t) {
    t = tensorFromProto(proto, `Const node "${n.name}"`);
    constCache.set(proto, t);
  }
  return t;
}

/** Copies a node (attr objects shared, input list copied). Keeps a known const value. */
export function cloneNode(n: NodeDef, name = n.name, input = n.input.slice()): NodeDef {
  const c: NodeDef = { name, op: n.op, input, attr: { ...n.attr } };
  if (n.device) c.device = n.device;
  return c;
}

/** Returns a name not in `taken`, in TF's style (`name`, `name_1`, ...), and reserves it. */
export function uniqueName(base: string, taken: Set<string>): string {
  let name = base;
  for (let i = 1; taken.has(name); i++) name = `${base}_${i}`;
  taken.add(name);
  return name;
}
