/**
 * Static lookup tables (`HashTableV2` + `LookupTableFindV2`), as the official converter handles them:
 *
 * - each table the serving graph uses becomes a `DT_RESOURCE` scalar Placeholder (same node name) that
 *   the signature lists with a `resourceId`;
 * - the **initializer graph** (`modelInitializer`) holds the table node, the ops that fill it
 *   (`LookupTableImportV2`, `InitializeTableV2`…, with their key/value inputs, usually Consts), and one
 *   `Identity` per table that depends (control input) on its fills; `initializerSignature.outputs` names
 *   those Identities with the same `resourceId`s. TF.js runs the initializer once and feeds each output
 *   to the signature input with the same `resourceId`.
 *
 * Fills are those reachable (data or control edges) from the init op — the `__saved_model_init_op`
 * signature, or the TF1 `saved_model_main_op` / `legacy_init_op` / `table_initializer` collections —
 * and, when the init op does not reach any for a table, any fill of that table in the graph.
 */
import { ConverterError } from '../errors.js';
import type { MetaGraphDef, NodeDef } from '../proto/messages.js';
import { DT } from '../tensor.js';
import { readFileSync, existsSync } from 'node:fs';
import { cloneNode, isControl, nodeMap, parseRef, refString, uniqueName } from './graph.js';
import { assetPathOf, parseTextFileTable, textFileSpec, vectorConst, type AssetFiles } from './text-file-table.js';

export const TABLE_OPS = new Set(['HashTableV2']);
export const TABLE_FILL_OPS = new Set(['LookupTableImportV2', 'InitializeTableV2']);
/** Fills from asset files: read at conversion time into a LookupTableImportV2 of Consts. */
const TEXT_FILE_FILL_OPS = new Set(['InitializeTableFromTextFileV2']);
/** Table initializers TF.js cannot run, that the converter cannot turn into tensors either. */
const UNSUPPORTED_FILL_OPS = new Set(['InitializeTableFromTextFile', 'InitializeTableFromDataset']);

export interface TableResource {
  /** The main graph's resource Placeholder (the table node's name). */
  placeholder: string;
  resourceId: number;
}

export interface TableInitializer {
  nodes: NodeDef[];
  /** Initializer output tensor name → resourceId (in output order). */
  outputs: { name: string; resourceId: number }[];
}

/** Node names the init op names (TF2 signature or TF1 collections). */
export function initRoots(meta: MetaGraphDef): string[] {
  const roots: string[] = [];
  const sig = meta.signatureDef['__saved_model_init_op'];
  for (const info of Object.values(sig?.outputs ?? {})) if (info.name) roots.push(parseRef(info.name).node);
  for (const key of ['saved_model_main_op', 'legacy_init_op', 'table_initializer']) {
    for (const v of meta.collectionDef?.[key]?.nodeList?.value ?? []) roots.push(parseRef(v).node);
  }
  return roots;
}

/**
 * Replaces the tables used by `nodes` (the pruned serving graph) with resource Placeholders and builds
 * the initializer graph from `full` (the whole inlined graph, control edges kept). Mutates `nodes`.
 * Returns undefined when the serving graph uses no table.
 */
export function extractTables(
  nodes: NodeDef[],
  full: readonly NodeDef[],
  roots: readonly string[],
  where: string,
  assets: AssetFiles = { dir: '.', byTensor: new Map() },
): { tables: TableResource[]; initializer: TableInitializer } | undefined {
  const tableNodes = nodes.filter((n) => TABLE_OPS.has(n.op));
  if (!tableNodes.length) return undefined;
  const byName = nodeMap(full);
  const through = (ref: string): string => {
    let n = byName.get(parseRef(ref).node);
    while (n && n.op === 'Identity' && n.input.length && !isControl(n.input[0]!)) n = byName.get(parseRef(n.input[0]!).node);
    return n ? n.name : parseRef(ref).node;
  };

  // Everything the init op runs.
  const fromRoots = new Set<string>();
  const stack = roots.filter((r) => byName.has(r));
  while (stack.length) {
    const name = stack.pop()!;
    if (fromRoots.has(name)) continue;
    fromRoots.add(name);
    for (const i of byName.get(name)?.input ?? []) stack.push(parseRef(i).node);
  }

  const fills = new Map<string, NodeDef[]>(); // table → fill nodes
  for (const n of full) {
    if (!TABLE_FILL_OPS.has(n.op) && !TEXT_FILE_FILL_OPS.has(n.op) && !UNSUPPORTED_FILL_OPS.has(n.op)) continue;
    if (!n.input.length) continue;
    const t = through(n.input[0]!);
    (fills.get(t) ?? fills.set(t, []).get(t)!).push(n);
  }

  const out = new Map<string, NodeDef>();
  const taken = new Set<string>([...full.map((n) => n.name), ...nodes.map((n) => n.name)]);
  const add = (n: NodeDef) => {
    if (!out.has(n.name)) out.set(n.name, n);
  };
  // Data inputs of a fill (keys, values) and what computes them.
  const addSubgraph = (ref: string) => {
    const st = [parseRef(ref).node];
    while (st.length) {
      const name = st.pop()!;
      if (out.has(name)) continue;
      const src = byName.get(name);
      if (!src) throw new ConverterError('NOT_FOUND', `${where}: table initializer input "${name}" is not in the graph`);
      if (TABLE_OPS.has(src.op) || src.op === 'Placeholder' || src.op === 'VarHandleOp' || src.op === 'VariableV2') {
        throw new ConverterError('UNIMPLEMENTED', `${where}: table initializer input "${name}" (${src.op}) is not a constant computation`);
      }
      const c = cloneNode(src, name, src.input.filter((i) => !isControl(i)));
      add(c);
      for (const i of c.input) st.push(parseRef(i).node);
    }
  };

  const tables: TableResource[] = [];
  const outputs: TableInitializer['outputs'] = [];
  tableNodes.forEach((t, k) => {
    const all = fills.get(t.name) ?? [];
    const unsupported = all.find((f) => UNSUPPORTED_FILL_OPS.has(f.op));
    if (unsupported) {
      throw new ConverterError('UNIMPLEMENTED', `${where}: table "${t.name}" is filled by ${unsupported.op} ("${unsupported.name}"); only tables filled from tensors (LookupTableImportV2, InitializeTableV2) or asset text files (InitializeTableFromTextFileV2) are supported`);
    }
    const reached = all.filter((f) => fromRoots.has(f.name));
    const used = reached.length ? reached : all;
    if (!used.length) throw new ConverterError('FAILED_PRECONDITION', `${where}: table "${t.name}" (${t.op}) is used by the serving graph but nothing initializes it`);
    const resourceId = k + 1;
    add(cloneNode(t, t.name, []));
    for (const f of used) {
      if (TEXT_FILE_FILL_OPS.has(f.op)) {
        const spec = textFileSpec(f, t, where);
        const path = assetPathOf(f.input[1] ?? '', byName, assets, `${where}: table "${t.name}"`);
        if (!existsSync(path)) throw new ConverterError('NOT_FOUND', `${where}: table "${t.name}" is filled from ${path}, which does not exist`);
        const { keys, values } = parseTextFileTable(readFileSync(path, 'utf8'), spec, path);
        const keysName = uniqueName(`${f.name}/keys`, taken);
        const valuesName = uniqueName(`${f.name}/values`, taken);
        add(vectorConst(keysName, spec.keyDtype, keys));
        add(vectorConst(valuesName, spec.valueDtype, values));
        add({ name: f.name, op: 'LookupTableImportV2', input: [t.name, keysName, valuesName], attr: { Tin: { type: spec.keyDtype }, Tout: { type: spec.valueDtype } } });
        continue;
      }
      const c = cloneNode(f, f.name, [t.name, ...f.input.slice(1).filter((i) => !isControl(i))]);
      add(c);
      for (const i of c.input.slice(1)) addSubgraph(i);
    }
    const idName = uniqueName(`${t.name}/initialized`, taken);
    add({ name: idName, op: 'Identity', input: [t.name, ...used.map((f) => `^${f.name}`)], attr: { T: { type: DT.RESOURCE } } });
    outputs.push({ name: `${idName}:0`, resourceId });

    // The serving graph reads the table from a resource placeholder.
    const ph: NodeDef = {
      name: t.name,
      op: 'Placeholder',
      input: [],
      attr: { dtype: { type: DT.RESOURCE }, shape: { shape: { dim: [] } } },
    };
    nodes[nodes.indexOf(t)] = ph;
    tables.push({ placeholder: t.name, resourceId });
  });
  return { tables, initializer: { nodes: [...out.values()], outputs } };
}

/** Renames the initializer's Consts whose names clash with `taken` (TF.js shares one weight map). */
export function renameClashingConsts(init: TableInitializer, taken: ReadonlySet<string>): void {
  const all = new Set([...taken, ...init.nodes.map((n) => n.name)]);
  const renamed = new Map<string, string>();
  for (const n of init.nodes) if (n.op === 'Const' && taken.has(n.name)) renamed.set(n.name, uniqueName(`${n.name}/initializer`, all));
  if (!renamed.size) return;
  for (const n of init.nodes) {
    n.name = renamed.get(n.name) ?? n.name;
    n.input = n.input.map((i) => {
      const r = parseRef(i);
      const to = renamed.get(r.node);
      return to ? (r.control ? `^${to}` : refString({ node: to, index: r.index })) : i;
    });
  }
}
