/**
 * Freezing: variables become constants.
 *
 * - TF1 ref variables (`VariableV2`/`Variable`): the node becomes a Const of the
 *   checkpoint value (key = node name, else the saver's restore wiring).
 * - Resource variables (`VarHandleOp`, TF1 or TF2 after inlining): the handle
 *   becomes a Const; `ReadVariableOp` of it becomes an Identity of that Const
 *   and `ResourceGather` a `GatherV2`. TF2 checkpoint keys come from the
 *   object graph (the signature function's `bound_inputs` → SavedObject →
 *   path of `children` names, matched against the checkpoint's own object
 *   graph), falling back to the node name / `shared_name`, then to the
 *   restore function's `RestoreV2` → `AssignVariableOp` wiring.
 * Anything that writes a variable on the inference path is rejected.
 */
import type { TensorBundle } from '../bundle/tensor-bundle.js';
import { ConverterError } from '../errors.js';
import { decodeTrackableObjectGraph, type MetaGraphDef, type NodeDef } from '../proto/messages.js';
import { DT, dtypeName, type HostTensor } from '../tensor.js';
import { attrString, constValue, makeConst, nodeMap, parseRef, type FlatFunction } from './graph.js';

const CONTROL_FLOW_OP_NAMES = new Set(['While', 'StatelessWhile', 'If', 'StatelessIf']);

export const VARIABLE_OPS = new Set(['VariableV2', 'Variable', 'VarHandleOp']);

/** Ops that mutate state: a graph that needs them cannot be a TF.js graph model. */
export const STATEFUL_WRITE_OPS = new Set([
  'Assign', 'AssignAdd', 'AssignSub', 'AssignVariableOp', 'AssignAddVariableOp', 'AssignSubVariableOp',
  'ScatterUpdate', 'ScatterAdd', 'ScatterSub', 'ScatterMul', 'ScatterDiv', 'ScatterNdUpdate', 'ScatterNdAdd',
  'ResourceScatterUpdate', 'ResourceScatterAdd', 'ResourceScatterSub', 'ResourceScatterNdUpdate', 'ResourceScatterNdAdd',
  'ApplyGradientDescent', 'ApplyAdam', 'ResourceApplyAdam', 'ResourceApplyGradientDescent', 'CountUpTo',
  'DestroyResourceOp', 'SaveV2', 'Save', 'RestoreV2', 'Restore', 'MergeV2Checkpoints',
]);

const td = new TextDecoder();

export interface VariableResolver {
  /** Checkpoint key for the variable node `name` (top-level, before inlining). */
  keyFor(varNode: NodeDef): string;
  value(varNode: NodeDef): HostTensor;
}

/** Maps top-level variable nodes to checkpoint keys and values. */
export function makeVariableResolver(
  meta: MetaGraphDef,
  topNodes: readonly NodeDef[],
  functions: ReadonlyMap<string, FlatFunction>,
  bundle: TensorBundle | undefined,
  where: string,
): VariableResolver {
  const byName = nodeMap(topNodes);
  const through = (ref: string): string => {
    let n = byName.get(parseRef(ref).node);
    while (n && n.op === 'Identity' && n.input.length) n = byName.get(parseRef(n.input[0]!).node);
    return n ? n.name : parseRef(ref).node;
  };

  // TF2: object graph.
  const objectKeys = new Map<string, string>(); // var node name → key
  const og = meta.objectGraphDef;
  if (og && bundle?.has('_CHECKPOINTABLE_OBJECT_GRAPH')) {
    const ckptGraph = decodeTrackableObjectGraph(bundle.readStrings('_CHECKPOINTABLE_OBJECT_GRAPH')[0]!);
    // Walk both graphs from the root by child name.
    const savedToCkpt = new Map<number, number>([[0, 0]]);
    const queue = [0];
    while (queue.length) {
      const s = queue.shift()!;
      const c = savedToCkpt.get(s)!;
      const ckChildren = ckptGraph.nodes[c]?.children ?? [];
      for (const ch of og.nodes[s]?.children ?? []) {
        const sid = ch.nodeId ?? 0;
        if (savedToCkpt.has(sid)) continue;
        const match = ckChildren.find((x) => x.localName === ch.localName);
        if (match) {
          savedToCkpt.set(sid, match.nodeId ?? 0);
          queue.push(sid);
        }
      }
    }
    const keyOfObject = (id: number): string | undefined => {
      const c = savedToCkpt.get(id);
      if (c === undefined) return undefined;
      return ckptGraph.nodes[c]?.attributes.find((a) => a.name === 'VARIABLE_VALUE')?.checkpointKey;
    };
    for (const n of topNodes) {
      const fname = n.attr.f?.func?.name;
      const cf = fname ? og.concreteFunctions[fname] : undefined;
      if (!cf || cf.boundInputs.length === 0) continue;
      const data = n.input.filter((i) => !i.startsWith('^'));
      const captured = data.slice(data.length - cf.boundInputs.length);
      captured.forEach((ref, i) => {
        const key = keyOfObject(cf.boundInputs[i]!);
        if (key) objectKeys.set(through(ref), key);
      });
    }
  }

  // Restore wiring: RestoreV2 tensor_names[i] → Assign*(var, RestoreV2:i).
  let restoreKeys: Map<string, string> | undefined;
  const restoreWiring = (): Map<string, string> => {
    if (restoreKeys) return restoreKeys;
    restoreKeys = new Map();
    const scan = (nodes: readonly NodeDef[], varOf: (ref: string) => string | undefined) => {
      const m = nodeMap(nodes);
      const namesOf = (restore: NodeDef): string[] => {
        const c = m.get(parseRef(restore.input[1] ?? '').node);
        if (!c || c.op !== 'Const') return [];
        const v = constValue(c).values;
        return Array.isArray(v) ? v.map((b) => td.decode(b)) : [];
      };
      const srcRestore = (ref: string): [NodeDef, number] | undefined => {
        let r = parseRef(ref);
        for (let i = 0; i < 10; i++) {
          const n = m.get(r.node);
          if (!n) return undefined;
          if (n.op === 'RestoreV2' || n.op === 'Restore') return [n, r.index];
          if (n.op !== 'Identity') return undefined;
          r = parseRef(n.input[0]!);
        }
        return undefined;
      };
      for (const n of nodes) {
        if (n.op !== 'Assign' && n.op !== 'AssignVariableOp') continue;
        const src = srcRestore(n.input[1] ?? '');
        if (!src) continue;
        const key = namesOf(src[0])[src[1]];
        const v = varOf(n.input[0]!);
        if (key !== undefined && v !== undefined) restoreKeys!.set(v, key);
      }
    };
    scan(topNodes, (r) => through(r));
    // TF2: the restore op is a call; map its function's args to the call's inputs.
    const restoreOp = meta.saverDef?.restoreOpName?.replace(/:\d+$/, '');
    const call = restoreOp ? byName.get(restoreOp) : undefined;
    const f = call?.attr.f?.func?.name ? functions.get(call.attr.f.func.name) : undefined;
    if (call && f) {
      const data = call.input.filter((i) => !i.startsWith('^'));
      const argToOuter = new Map(f.inputArgs.map((a, i) => [a.name, data[i]!]));
      scan(f.nodes, (r) => {
        const outer = argToOuter.get(parseRef(r).node);
        return outer === undefined ? undefined : through(outer);
      });
    }
    return restoreKeys;
  };

  const keyFor = (v: NodeDef): string => {
    const fromObject = objectKeys.get(v.name);
    if (fromObject) return fromObject;
    if (!bundle) throw new ConverterError('NOT_FOUND', `${where}: variable "${v.name}" is needed but the SavedModel has no variables/ checkpoint`);
    if (bundle.has(v.name)) return v.name;
    const shared = attrString(v, 'shared_name');
    if (shared && bundle.has(shared)) return shared;
    const wired = restoreWiring().get(v.name);
    if (wired) return wired;
    throw new ConverterError('NOT_FOUND', `${where}: no checkpoint value found for variable "${v.name}" (${v.op}); tried the object graph, the node name, shared_name and the saver's restore wiring`);
  };

  return {
    keyFor,
    value(v) {
      const key = keyFor(v);
      const t = bundle!.read(key);
      return t;
    },
  };
}

/**
 * Replaces the variables that `nodes` (already pruned to what the outputs
 * need, and inlined) use by constants. Mutates and returns the node list.
 */
export function freezeVariables(nodes: NodeDef[], resolver: VariableResolver, where: string): NodeDef[] {
  const byName = nodeMap(nodes);
  const out: NodeDef[] = [];
  const resourceSource = (ref: string): NodeDef | undefined => {
    let n = byName.get(parseRef(ref).node);
    while (n && n.op === 'Identity' && n.input.length) n = byName.get(parseRef(n.input[0]!).node);
    return n;
  };
  for (const n of nodes) {
    if (STATEFUL_WRITE_OPS.has(n.op)) {
      throw new ConverterError(
        'FAILED_PRECONDITION',
        `${where} needs mutable state: node "${n.name}" (${n.op}) writes a variable, and TF.js graph models cannot assign variables. Export a read-only serving signature instead`,
      );
    }
    if (VARIABLE_OPS.has(n.op)) {
      const value = resolver.value(n);
      const declared = n.attr.dtype?.type;
      if (declared !== undefined && declared % 100 !== value.dtype % 100) {
        throw new ConverterError('INVALID_ARGUMENT', `${where}: variable "${n.name}" is declared ${dtypeName(declared)} but its checkpoint value is ${dtypeName(value.dtype)}`);
      }
      out.push(makeConst(n.name, value));
      continue;
    }
    if (n.op === 'ReadVariableOp') {
      const src = resourceSource(n.input[0] ?? '');
      if (!src || !VARIABLE_OPS.has(src.op)) {
        throw new ConverterError('UNIMPLEMENTED', `${where}: ReadVariableOp "${n.name}" reads a resource produced by "${src?.name ?? n.input[0]}" (${src?.op ?? 'missing'}), not a variable`);
      }
      out.push({ name: n.name, op: 'Identity', input: [src.name], attr: { T: { type: n.attr.dtype?.type ?? DT.FLOAT } } });
      continue;
    }
    if (n.op === 'ResourceGather') {
      const src = resourceSource(n.input[0] ?? '');
      if (!src || !VARIABLE_OPS.has(src.op)) {
        throw new ConverterError('UNIMPLEMENTED', `${where}: ResourceGather "${n.name}" does not read a variable`);
      }
      const axis = makeConst(`${n.name}/axis`, { dtype: DT.INT32, shape: [], values: new Int32Array([0]) });
      out.push(axis);
      out.push({
        name: n.name,
        op: 'GatherV2',
        input: [src.name, n.input[1]!, axis.name],
        attr: {
          Tparams: { type: n.attr.dtype?.type ?? DT.FLOAT },
          Tindices: n.attr.Tindices ?? { type: DT.INT32 },
          Taxis: { type: DT.INT32 },
          batch_dims: { i: n.attr.batch_dims?.i ?? 0 },
        },
      });
      continue;
    }
    out.push(n);
  }
  // Any other consumer of a resource handle cannot run in TF.js.
  const frozen = new Set(out.filter((n) => n.op === 'Const').map((n) => n.name));
  for (const n of out) {
    // Control-flow ops taking a handle are frozen into their bodies later (freeze-control-flow.ts).
    if (n.op === 'Identity' || n.op === 'GatherV2' || CONTROL_FLOW_OP_NAMES.has(n.op)) continue;
    for (const i of n.input) {
      if (i.startsWith('^')) continue;
      const src = parseRef(i).node;
      if (frozen.has(src) && VARIABLE_OPS.has(byName.get(src)?.op ?? '') && (byName.get(src)?.op === 'VarHandleOp')) {
        throw new ConverterError('UNIMPLEMENTED', `${where}: node "${n.name}" (${n.op}) takes variable handle "${src}" as a resource; only reads (ReadVariableOp, ResourceGather) can be frozen`);
      }
    }
  }
  return out;
}
