/**
 * Freezing variables that functional control flow reads (`While` / `StatelessWhile` / `If` /
 * `StatelessIf`), the way the official converter's frozen graph ends up.
 *
 * In TF2 exports a loop or branch body often reads a captured variable: the control-flow op's
 * input list holds a resource handle (after inlining, the `VarHandleOp` — by now frozen to a
 * Const holding the checkpoint value) and the body does `ReadVariableOp(arg)`. Here:
 * - the op's resource input is replaced by the value (the frozen Const, Identity chains skipped),
 *   and its `T` (While) / `Tin` (If) entry becomes the value's dtype (While `output_shapes` entry:
 *   the value's shape);
 * - in the cond/body/branch functions that argument becomes a value argument (type, and the
 *   `_output_shapes` arg attr): `ReadVariableOp(arg)` → `Identity(arg)`, `ResourceGather(arg, i)` →
 *   `GatherV2`, Identities of the handle follow it, a While body's pass-through return of the
 *   handle returns the value (output arg type updated), and nested control flow that receives the
 *   handle is rewritten the same way (recursively).
 * Resource inputs that are not frozen variables (e.g. table handles) are left alone. Anything else
 * done with a variable handle inside a body → UNIMPLEMENTED (writes → FAILED_PRECONDITION),
 * naming the function and node. Attr objects are replaced, never mutated (they may be shared with
 * the decoded SavedModel).
 */
import { ConverterError } from '../errors.js';
import type { AttrValue, NodeDef, TensorShapeProto } from '../proto/messages.js';
import { DT, dtypeName } from '../tensor.js';
import { STATEFUL_WRITE_OPS } from './freeze.js';
import { constValue, listAttr, makeConst, nodeMap, parseRef, refString, topoSort, type FlatFunction } from './graph.js';

export const WHILE_OPS = new Set(['While', 'StatelessWhile']);
export const IF_OPS = new Set(['If', 'StatelessIf']);
export const CONTROL_FLOW_OPS = new Set([...WHILE_OPS, ...IF_OPS]);

/** What a frozen variable handle stands for: its value's dtype and (when known) shape. */
interface VarValue {
  dtype: number;
  shape: number[] | undefined;
}

const shapeProto = (shape: number[] | undefined): TensorShapeProto =>
  shape ? { dim: shape.map((size) => ({ size })) } : { dim: [], unknownRank: true };

const sameShape = (a: number[] | undefined, b: number[] | undefined) =>
  a !== undefined && b !== undefined && a.length === b.length && a.every((d, i) => d === b[i]);

/**
 * Rewrites the control-flow ops in `nodes` whose resource inputs `resolve` maps to a variable
 * value; returns the (function, arg index, value) requirements for their functions.
 */
function rewriteCallers(
  nodes: readonly NodeDef[],
  resolve: (ref: string) => ({ ref: string } & VarValue) | undefined,
  context: string,
): { fname: string; index: number; value: VarValue }[] {
  const reqs: { fname: string; index: number; value: VarValue }[] = [];
  for (const n of nodes) {
    const isWhile = WHILE_OPS.has(n.op);
    if (!isWhile && !IF_OPS.has(n.op)) continue;
    const listName = isWhile ? 'T' : 'Tin';
    const offset = isWhile ? 0 : 1;
    const fnAttrs = isWhile ? ['cond', 'body'] : ['then_branch', 'else_branch'];
    const types = n.attr[listName]?.list?.type ?? [];
    if (!types.includes(DT.RESOURCE)) continue;
    const newTypes = types.slice();
    const oldShapes = isWhile ? n.attr.output_shapes?.list?.shape : undefined;
    const newShapes = oldShapes?.slice();
    let changed = false;
    types.forEach((t, j) => {
      if (t !== DT.RESOURCE) return;
      const v = resolve(n.input[j + offset] ?? '');
      if (!v) return; // not a variable (e.g. a table handle): left as it is
      n.input[j + offset] = v.ref;
      newTypes[j] = v.dtype;
      if (newShapes && j < newShapes.length) newShapes[j] = shapeProto(v.shape);
      changed = true;
      for (const a of fnAttrs) {
        const fname = n.attr[a]?.func?.name;
        if (fname) reqs.push({ fname, index: j, value: { dtype: v.dtype, shape: v.shape } });
      }
    });
    if (!changed) continue;
    const oldList = n.attr[listName]!.list!;
    n.attr[listName] = { list: { ...oldList, type: newTypes } };
    if (newShapes) n.attr.output_shapes = { list: { ...n.attr.output_shapes!.list!, shape: newShapes } };
    if (!isWhile && (n.attr.Tout?.list?.type ?? []).includes(DT.RESOURCE)) {
      throw new ConverterError('UNIMPLEMENTED', `${context}: ${n.op} "${n.name}" returns a resource handle, which cannot be frozen`);
    }
  }
  return reqs;
}

/**
 * Freezes the variable handles that control-flow ops in the main graph `nodes` receive (already
 * frozen to Consts by `freezeVariables`) into their kept `functions`. Mutates both; the main
 * graph should be pruned afterwards (Identities of handles are left unused).
 */
export function freezeControlFlowVariables(nodes: NodeDef[], functions: Map<string, FlatFunction>, where: string): void {
  const byName = nodeMap(nodes);
  const resolveTop = (ref: string) => {
    let n = byName.get(parseRef(ref).node);
    while (n && n.op === 'Identity' && n.input.length) n = byName.get(parseRef(n.input[0]!).node);
    if (!n || n.op !== 'Const') return undefined;
    const t = constValue(n);
    return { ref: n.name, dtype: t.dtype, shape: t.shape.slice() };
  };
  // Per function: arg index → the value it now holds.
  const converted = new Map<string, Map<number, VarValue>>();
  const queue: { fname: string; index: number; value: VarValue }[] = rewriteCallers(nodes, resolveTop, where);
  while (queue.length) {
    // Gather the pending requirements of one function, and rewrite it for its newly converted args.
    const fname = queue[0]!.fname;
    const mine = queue.filter((q) => q.fname === fname);
    queue.splice(0, queue.length, ...queue.filter((q) => q.fname !== fname));
    const f = functions.get(fname);
    if (!f) continue; // not kept (cannot happen for a pruned graph's control flow)
    let done = converted.get(fname);
    if (!done) converted.set(fname, (done = new Map()));
    const fresh = new Map<number, VarValue>();
    for (const { index, value } of mine) {
      const prev = done.get(index) ?? fresh.get(index);
      if (prev) {
        if (prev.dtype !== value.dtype) {
          throw new ConverterError(
            'UNIMPLEMENTED',
            `${where}: control-flow function "${fname}" argument ${index} receives variables of different dtypes (${dtypeName(prev.dtype)}, ${dtypeName(value.dtype)})`,
          );
        }
        if (!sameShape(prev.shape, value.shape) && prev.shape) {
          prev.shape = undefined;
          setArgShape(f, index, undefined);
        }
        continue;
      }
      const arg = f.inputArgs[index];
      if (!arg || arg.type !== DT.RESOURCE) {
        throw new ConverterError('INVALID_ARGUMENT', `${where}: control-flow function "${fname}" argument ${index} is not a resource, but its caller passes a variable there`);
      }
      fresh.set(index, { ...value });
    }
    if (!fresh.size) continue;
    for (const [k, v] of fresh) done.set(k, v);
    queue.push(...rewriteFunction(f, fresh, where));
  }
  // Whatever still reads a variable inside a kept function could not be frozen.
  for (const f of functions.values()) {
    for (const n of f.nodes) {
      if (n.op === 'ReadVariableOp' || n.op === 'VarHandleOp' || n.op === 'ResourceGather') {
        throw new ConverterError(
          'UNIMPLEMENTED',
          `${where}: control-flow function "${f.name}" reads variable state inside its body (node "${n.name}", ${n.op}) from a handle that is not a captured variable (a variable created in the body, or one passed through a call that was not inlined)`,
        );
      }
    }
  }
}

function setArgShape(f: FlatFunction, index: number, shape: number[] | undefined): void {
  const key = String(index);
  const attr: Record<string, AttrValue> = { ...(f.argAttr[key]?.attr ?? {}) };
  delete attr._handle_dtypes;
  delete attr._handle_shapes;
  attr._output_shapes = listAttr({ shape: [shapeProto(shape)] });
  f.argAttr = { ...f.argAttr, [key]: { attr } };
}

/** Converts `args` (index → value) of `f` from handles to values; returns nested control flow's requirements. */
function rewriteFunction(f: FlatFunction, args: Map<number, VarValue>, where: string) {
  const context = `${where}: control-flow function "${f.name}"`;
  // Handles in this body: arg names and Identities of them ("name" = output 0).
  const handles = new Map<string, VarValue>();
  f.inputArgs = f.inputArgs.slice();
  for (const [k, v] of args) {
    const a = f.inputArgs[k]!;
    f.inputArgs[k] = { ...a, type: v.dtype };
    handles.set(a.name, v);
    setArgShape(f, k, v.shape);
  }
  const handleOf = (ref: string) => {
    if (ref.startsWith('^')) return undefined;
    const r = parseRef(ref);
    return r.index === 0 ? handles.get(r.node) : undefined;
  };
  const out: NodeDef[] = [];
  const extra: NodeDef[] = [];
  for (const n of topoSort(f.nodes)) {
    const used = n.input.map((i, k) => [k, handleOf(i)] as const).filter(([, v]) => v !== undefined);
    if (used.length === 0 || CONTROL_FLOW_OPS.has(n.op)) {
      out.push(n);
      continue;
    }
    const v = used[0]![1]!;
    if (n.op === 'Identity' && used.length === 1 && used[0]![0] === 0) {
      n.attr = { ...n.attr, T: { type: v.dtype } };
      if (n.attr._output_shapes) n.attr._output_shapes = listAttr({ shape: [shapeProto(v.shape)] });
      handles.set(n.name, v);
      out.push(n);
      continue;
    }
    if (n.op === 'ReadVariableOp' && used[0]![0] === 0) {
      const declared = n.attr.dtype?.type;
      if (declared !== undefined && declared % 100 !== v.dtype % 100) {
        throw new ConverterError('INVALID_ARGUMENT', `${context}: ReadVariableOp "${n.name}" reads ${dtypeName(declared)} from a variable whose value is ${dtypeName(v.dtype)}`);
      }
      const attr: Record<string, AttrValue> = { T: { type: v.dtype } };
      if (n.attr._output_shapes) attr._output_shapes = n.attr._output_shapes;
      out.push({ name: n.name, op: 'Identity', input: n.input.slice(0, 1), attr });
      continue;
    }
    if (n.op === 'ResourceGather' && used.length === 1 && used[0]![0] === 0) {
      const axis = makeConst(`${n.name}/axis`, { dtype: DT.INT32, shape: [], values: new Int32Array([0]) });
      extra.push(axis);
      out.push({
        name: n.name,
        op: 'GatherV2',
        input: [n.input[0]!, n.input[1]!, axis.name],
        attr: {
          Tparams: { type: v.dtype },
          Tindices: n.attr.Tindices ?? { type: DT.INT32 },
          Taxis: { type: DT.INT32 },
          batch_dims: { i: n.attr.batch_dims?.i ?? 0 },
        },
      });
      continue;
    }
    if (STATEFUL_WRITE_OPS.has(n.op)) {
      throw new ConverterError(
        'FAILED_PRECONDITION',
        `${context} needs mutable state: node "${n.name}" (${n.op}) writes a variable, and TF.js graph models cannot assign variables`,
      );
    }
    throw new ConverterError(
      'UNIMPLEMENTED',
      `${context}: node "${n.name}" (${n.op}) uses variable handle "${n.input[used[0]![0]]}" as a resource; only reads (ReadVariableOp, ResourceGather), Identity and nested While/If can be frozen`,
    );
  }
  // Nested control flow that receives a handle.
  const reqs = rewriteCallers(out, (ref) => {
    const v = handleOf(ref);
    return v ? { ref: refString(parseRef(ref)), ...v } : undefined;
  }, context);
  f.nodes = [...extra, ...out];
  // Returned handles (a While body passing the variable through) now return the value.
  f.outputArgs = f.outputArgs.slice();
  f.outputArgs.forEach((a, k) => {
    if (a.type !== DT.RESOURCE) return;
    const ref = f.ret[a.name];
    const v = ref === undefined ? undefined : handleOf(ref);
    if (!v) {
      // A While body must pass the loop variable on as a value; other resource outputs (tables) stay.
      if (args.has(k)) {
        throw new ConverterError('UNIMPLEMENTED', `${context}: output "${a.name}" returns "${ref ?? '(nothing)'}" where the loop passes variable handle "${f.inputArgs[k]!.name}" through; only a pass-through of the handle can be frozen`);
      }
      return;
    }
    f.outputArgs[k] = { ...a, type: v.dtype };
  });
  return reqs;
}
