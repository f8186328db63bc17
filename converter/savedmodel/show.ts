/**
 * `show`: describes a SavedModel like `saved_model_cli show` — its tag-sets,
 * the SignatureDefs of one MetaGraphDef, or one SignatureDef's inputs and
 * outputs (dtype, shape, tensor name) and method name; `--all` also lists each
 * MetaGraph's ops.
 */
import { ConverterError } from '../errors.js';
import type { MetaGraphDef, NodeDef, SignatureDef, TensorInfo } from '../proto/messages.js';
import { dtypeName, shapeFromProto } from '../tensor.js';
import { readSavedModel, selectMetaGraph, tagSetsOf, type SavedModelDir } from './read.js';

export interface ShowOptions {
  /** Comma-separated tag-set, e.g. "serve". */
  tagSet?: string;
  signatureDef?: string;
  all?: boolean;
}

function shapeText(info: TensorInfo): string {
  const s = shapeFromProto(info.tensorShape);
  if (!s) return 'unknown_rank';
  return s.length === 1 ? `(${s[0]})` : `(${s.join(', ')})`;
}

function tensorInfoText(kind: 'inputs' | 'outputs', key: string, info: TensorInfo, indent: string): string[] {
  const lines = [`${indent}${kind}['${key}'] tensor_info:`];
  lines.push(`${indent}    dtype: ${dtypeName(info.dtype ?? 0)}`);
  lines.push(`${indent}    shape: ${shapeText(info)}`);
  if (info.name) lines.push(`${indent}    name: ${info.name}`);
  else if (info.cooSparse) lines.push(`${indent}    (a sparse COO tensor)`);
  else if (info.compositeTensor) lines.push(`${indent}    (a composite tensor)`);
  return lines;
}

export function signatureText(sig: SignatureDef, indent = ''): string[] {
  const lines = [`${indent}The given SavedModel SignatureDef contains the following input(s):`];
  for (const k of Object.keys(sig.inputs).sort()) lines.push(...tensorInfoText('inputs', k, sig.inputs[k]!, `${indent}  `));
  lines.push(`${indent}The given SavedModel SignatureDef contains the following output(s):`);
  for (const k of Object.keys(sig.outputs).sort()) lines.push(...tensorInfoText('outputs', k, sig.outputs[k]!, `${indent}  `));
  lines.push(`${indent}Method name is: ${sig.methodName ?? ''}`);
  return lines;
}

/**
 * The ops a MetaGraph uses, as `meta_graph.ops_used_by_graph_def` collects them: the graph's ops and
 * those of the functions it calls (by op name or through `(Stateful)PartitionedCall`), function names
 * left out. Sorted (saved_model_cli prints a Python set).
 */
export function opsUsedByMetaGraph(meta: MetaGraphDef): string[] {
  const byName = new Map((meta.graphDef?.library?.function ?? []).map((f) => [f.signature.name, f]));
  const used = new Set<string>();
  const pending: string[] = [];
  const mark = (op: string | undefined) => {
    if (!op) return;
    if (!used.has(op) && byName.has(op)) pending.push(op);
    used.add(op);
  };
  const visit = (n: NodeDef) => {
    mark(n.op);
    if (n.op === 'PartitionedCall' || n.op === 'StatefulPartitionedCall') mark(n.attr.f?.func?.name);
  };
  for (const n of meta.graphDef?.node ?? []) visit(n);
  while (pending.length) for (const n of byName.get(pending.pop()!)!.nodeDef) visit(n);
  return [...used].filter((op) => !byName.has(op)).sort();
}

/** saved_model_cli's line: `The MetaGraph with tag set ['serve'] contains the following ops: {'Const', …}`. */
export function opsLine(meta: MetaGraphDef): string {
  const tags = (meta.metaInfoDef?.tags ?? []).map((t) => `'${t}'`).join(', ');
  return `The MetaGraph with tag set [${tags}] contains the following ops: {${opsUsedByMetaGraph(meta).map((o) => `'${o}'`).join(', ')}}`;
}

function metaGraphSignatures(meta: MetaGraphDef): string[] {
  return Object.keys(meta.signatureDef).sort();
}

export function showSavedModel(dirOrModel: string | SavedModelDir, opts: ShowOptions = {}): string {
  const sm = typeof dirOrModel === 'string' ? readSavedModel(dirOrModel) : dirOrModel;
  const lines: string[] = [];
  if (opts.all) {
    for (const meta of sm.savedModel.metaGraphs) {
      const tags = (meta.metaInfoDef?.tags ?? []).join(', ');
      lines.push('', `MetaGraphDef with tag-set: '${tags}' contains the following SignatureDefs:`, '');
      for (const k of metaGraphSignatures(meta)) {
        lines.push(`signature_def['${k}']:`, ...signatureText(meta.signatureDef[k]!, '  '), '');
      }
      lines.push(opsLine(meta));
    }
    return lines.join('\n').replace(/^\n/, '') + '\n';
  }
  if (!opts.tagSet) {
    lines.push('The given SavedModel contains the following tag-sets:');
    for (const t of tagSetsOf(sm.savedModel)) lines.push(t.map((x) => `'${x}'`).join(', '));
    return lines.join('\n') + '\n';
  }
  const tags = opts.tagSet.split(',').map((s) => s.trim()).filter(Boolean);
  const meta = selectMetaGraph(sm.savedModel, tags, sm.dir);
  if (!opts.signatureDef) {
    lines.push('The given SavedModel MetaGraphDef contains SignatureDefs with the following keys:');
    for (const k of metaGraphSignatures(meta)) lines.push(`SignatureDef key: "${k}"`);
    return lines.join('\n') + '\n';
  }
  const sig = meta.signatureDef[opts.signatureDef];
  if (!sig) {
    throw new ConverterError(
      'NOT_FOUND',
      `no SignatureDef "${opts.signatureDef}" in tag-set [${tags.join(',')}] of ${sm.dir}; available: ${metaGraphSignatures(meta).join(', ')}`,
    );
  }
  return signatureText(sig).join('\n') + '\n';
}
