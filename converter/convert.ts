/**
 * The conversion pipeline: SavedModel → TF.js graph model, in memory.
 *
 * read → flatten functions → inline calls → cut at signature inputs (and after
 * tf.Example parsing) → prune to outputs → freeze variables → strip devices /
 * debug ops → optimize (constant folding, identity removal, BatchNorm
 * folding, fusion) → check ops → weights + model.json.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { openTensorBundle, type TensorBundle } from './bundle/tensor-bundle.js';
import { ConverterError } from './errors.js';
import { GraphCutter, type CutResult, type ParseSpec } from './graph/cut.js';
import { freezeVariables, makeVariableResolver } from './graph/freeze.js';
import { freezeControlFlowVariables } from './graph/freeze-control-flow.js';
import { nodeMap, parseRef, refString, uniqueName, type FlatFunction, type Graph } from './graph/graph.js';
import { inlineCalls } from './graph/inline.js';
import { checkOpsSupported } from './graph/op-support.js';
import { FunctionLibrary } from './graph/function-library.js';
import { makeOpRegistry, type OpRegistry } from './graph/op-defs.js';
import { optimizeGraph } from './graph/optimize.js';
import { pruneToOutputs, referencedFunctions, stripControlInputs, stripDevicesAndDebugOps } from './graph/prune.js';
import { extractTables, initRoots, renameClashingConsts, TABLE_OPS } from './graph/tables.js';
import type { MetaGraphDef, NodeDef, SignatureDef, TensorInfo } from './proto/messages.js';
import { readSavedModel, selectMetaGraph, type SavedModelDir } from './savedmodel/read.js';
import { dtypeFromName, dtypeName, shapeFromProto } from './tensor.js';
import { buildGraphModel, prefixFunctionConsts, type ConvertedModel } from './writer/graph-model-writer.js';
import { shapeJson, type Json } from './writer/proto-json.js';
import type { QuantizationMap } from './writer/quantize.js';

export interface ConvertProgress {
  stage: 'read' | 'inline' | 'cut' | 'freeze' | 'optimize' | 'check' | 'weights' | 'done';
  /** 0..1 over the whole conversion. */
  fraction: number;
  message: string;
}

export interface ConvertOptions {
  /** A SignatureDef key, or 'all' for every serving signature. Default 'serving_default'. */
  signatureName?: string;
  /** Tag-set of the MetaGraphDef. Default ['serve']. */
  tags?: string[];
  quantization?: QuantizationMap;
  /** Constant folding, identity removal, BatchNorm folding and op fusion. Default true. */
  optimize?: boolean;
  /** Op fusion (_FusedConv2D, _FusedMatMul, FusedDepthwiseConv2dNative). Default true; needs `optimize`. */
  fuse?: boolean;
  /** Skip the supported-op check. */
  skipOpCheck?: boolean;
  /** Write `userDefinedMetadata.structuredOutputKeys` (sorted output keys), so predict() returns a map. */
  useStructuredOutputNames?: boolean;
  /** Extra entries for `userDefinedMetadata`. */
  metadata?: Record<string, Json>;
  onProgress?: (p: ConvertProgress) => void;
  /** With `signatureName: 'all'`: fail if any serving signature cannot be converted (default: skip it and say why). */
  allOrNothing?: boolean;
}

export interface SignatureSummary {
  name: string;
  methodName?: string;
  /** A `resourceId` input (a table) is fed by the model's own initializer, not by requests. */
  inputs: Record<string, { name: string; dtype: string; shape?: number[]; resourceId?: number }>;
  outputs: Record<string, { name: string; dtype: string; shape?: number[] }>;
  parseSpec?: ParseSpec;
}

export interface ConversionResult extends ConvertedModel {
  /** The converted signatures; the first is the model's default `signature`. */
  signatures: SignatureSummary[];
  /** Signatures that `--signature_name all` could not convert, with the reason. */
  skippedSignatures: Record<string, string>;
  stats: { nodes: number; weights: number; weightBytes: number; ms: number; ops: Record<string, number> };
}

const PREDICT = 'tensorflow/serving/predict';
const INIT_OP = '__saved_model_init_op';

/** Signature keys that serve requests (not the init op), predict signatures first. */
export function servingSignatureNames(meta: MetaGraphDef): string[] {
  const names = Object.keys(meta.signatureDef).filter((k) => k !== INIT_OP && Object.keys(meta.signatureDef[k]!.outputs).length > 0);
  const rank = (k: string) => (k === 'serving_default' ? 0 : (meta.signatureDef[k]!.methodName ?? PREDICT) === PREDICT ? 1 : 2);
  return names.sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0));
}

function tensorInfoShape(info: TensorInfo): number[] | undefined {
  return shapeFromProto(info.tensorShape);
}

function tensorInfoJson(name: string, info: { dtype: number; shape: number[] | undefined }): Json {
  return {
    name,
    dtype: dtypeName(info.dtype % 100),
    tensorShape: info.shape ? shapeJson({ dim: info.shape.map((size) => ({ size })) }) : { unknownRank: true },
  };
}

interface Prepared {
  meta: MetaGraphDef;
  ops: OpRegistry;
  functions: FunctionLibrary;
  bundle: TensorBundle | undefined;
  generatedBy: string;
}

function prepare(sm: SavedModelDir, tags: string[]): Prepared {
  const meta = selectMetaGraph(sm.savedModel, tags, sm.dir);
  if (!meta.graphDef) throw new ConverterError('INVALID_ARGUMENT', `${sm.dir}: MetaGraphDef [${tags.join(',')}] has no GraphDef`);
  const lib = meta.graphDef.library?.function ?? [];
  const ops = makeOpRegistry(meta.metaInfoDef?.strippedOpList?.op ?? [], lib);
  // Flattened on demand: only what the converted signatures reach (not gradient functions).
  const functions = new FunctionLibrary(lib, ops);
  const prefix = join(sm.dir, 'variables', 'variables');
  const bundle = existsSync(`${prefix}.index`) ? openTensorBundle(prefix) : undefined;
  return { meta, ops, functions, bundle, generatedBy: meta.metaInfoDef?.tensorflowVersion ?? '' };
}

/** Top-level nodes the signatures' tensors and the init ops name (control edges are followed too). */
function signatureRoots(meta: MetaGraphDef, sigNames: readonly string[]): string[] {
  const roots = initRoots(meta);
  for (const s of sigNames) {
    const sig = meta.signatureDef[s]!;
    for (const info of [...Object.values(sig.inputs), ...Object.values(sig.outputs)]) if (info.name) roots.push(parseRef(info.name).node);
  }
  return roots;
}

function cloneNodes(nodes: readonly NodeDef[]): NodeDef[] {
  return nodes.map((n) => ({ ...n, input: n.input.slice(), attr: { ...n.attr } }));
}

/** Converts signatures `sigNames` (already validated) into one graph. */
function convertSignatures(sm: SavedModelDir, p: Prepared, sigNames: string[], opts: ConvertOptions): ConversionResult {
  const t0 = performance.now();
  const progress = (stage: ConvertProgress['stage'], fraction: number, message: string) => opts.onProgress?.({ stage, fraction, message });
  const where = sigNames.length === 1 ? `signature "${sigNames[0]}" of ${sm.dir}` : `${sm.dir}`;
  const full = cloneNodes(p.meta.graphDef!.node);
  for (const n of full) p.ops.restoreDefaults(n);
  const resolver = makeVariableResolver(p.meta, full, p.functions, p.bundle, where);
  // Only what these signatures (and the init op's table fills) reach: the saver's functions and
  // other signatures' calls are never inlined.
  const top = pruneToOutputs(full, signatureRoots(p.meta, sigNames));

  progress('inline', 0.1, `inlining function calls (${top.length} nodes, ${p.functions.librarySize} functions)`);
  const inlined = inlineCalls(top, p.functions, { unprefixTopLevel: true });
  let nodes = inlined.nodes;
  // Tables: their fills hang off the init op by control edges, so keep a copy with them.
  const withControl = nodes.some((n) => TABLE_OPS.has(n.op)) ? cloneNodes(nodes) : undefined;
  stripControlInputs(nodes);
  const byName = nodeMap(nodes);
  const refOf = (sig: string, info: TensorInfo, kind: string, key: string) => {
    if (!info.name) {
      const what = info.cooSparse ? 'a sparse (COO) tensor' : info.compositeTensor ? 'a composite tensor' : 'no tensor name';
      throw new ConverterError('UNIMPLEMENTED', `signature "${sig}" ${kind} "${key}" is ${what}; only dense tensors are supported`);
    }
    const ref = parseRef(inlined.resolve(refString(parseRef(info.name))));
    if (!byName.has(ref.node)) {
      throw new ConverterError('NOT_FOUND', `signature "${sig}" ${kind} "${key}" names tensor "${info.name}", which is not in the graph`);
    }
    return ref;
  };

  // Output nodes first (so cutting rewires them too); reuse an Identity that is already the output.
  progress('cut', 0.2, 'cutting the graph at the signature inputs');
  const taken = new Set(byName.keys());
  const outputNodes = new Map<string, Map<string, string>>(); // sig → key → node
  const protectedNames = new Set<string>();
  for (const s of sigNames) {
    const sig = p.meta.signatureDef[s]!;
    const m = new Map<string, string>();
    for (const key of Object.keys(sig.outputs).sort()) {
      const ref = refOf(s, sig.outputs[key]!, 'output', key);
      const n = byName.get(ref.node)!;
      if (n.op === 'Identity' && ref.index === 0 && !protectedNames.has(n.name)) {
        m.set(key, n.name);
        protectedNames.add(n.name);
        continue;
      }
      const name = uniqueName('Identity', taken);
      const id: NodeDef = { name, op: 'Identity', input: [refString(ref)], attr: {} };
      const t = sig.outputs[key]!.dtype;
      if (t !== undefined) id.attr.T = { type: t % 100 };
      nodes.push(id);
      byName.set(name, id);
      protectedNames.add(name);
      m.set(key, name);
    }
    outputNodes.set(s, m);
  }

  const cutter = new GraphCutter(nodes, protectedNames);
  const cuts = new Map<string, CutResult>();
  for (const s of sigNames) {
    const sig = p.meta.signatureDef[s]!;
    const inputs = Object.keys(sig.inputs)
      .sort()
      .map((key) => ({ key, info: sig.inputs[key]!, ref: refOf(s, sig.inputs[key]!, 'input', key) }));
    cuts.set(s, cutter.cutSignature(inputs, `signature "${s}"`));
  }
  nodes = cutter.nodes;
  const allOutputs = new Set<string>();
  for (const m of outputNodes.values()) for (const v of m.values()) allOutputs.add(v);
  nodes = pruneToOutputs(nodes, allOutputs);

  progress('freeze', 0.35, 'freezing variables');
  nodes = freezeVariables(nodes, resolver, where);
  nodes = stripDevicesAndDebugOps(nodes);
  nodes = pruneToOutputs(nodes, allOutputs);

  // Functions that stay (control flow bodies): inline their calls too, then keep what the inlined
  // bodies still reference (nested control flow), not the functions that were inlined into them.
  const kept = new Map<string, FlatFunction>();
  const pending = referencedFunctions(nodes, p.functions, false);
  for (let k = 0; k < pending.length; k++) {
    const fname = pending[k]!;
    const f = p.functions.get(fname)!;
    const r = inlineCalls(cloneNodes(f.nodes), p.functions);
    const ret: Record<string, string> = {};
    for (const [k, v] of Object.entries(f.ret)) ret[k] = r.resolve(v);
    stripControlInputs(r.nodes);
    let fnodes = stripDevicesAndDebugOps(r.nodes);
    fnodes = pruneToOutputs(fnodes, Object.values(ret).map((v) => parseRef(v).node));
    // Own copies of the signature (freezing variables read in the body retypes arguments).
    kept.set(fname, { ...f, inputArgs: f.inputArgs.slice(), outputArgs: f.outputArgs.slice(), argAttr: { ...f.argAttr }, nodes: fnodes, ret });
    for (const g of referencedFunctions(fnodes, p.functions, false)) if (!pending.includes(g)) pending.push(g);
  }
  // Variables the loops and branches read: the handle inputs become values, the bodies read them.
  if (kept.size) {
    freezeControlFlowVariables(nodes, kept, where);
    nodes = pruneToOutputs(nodes, allOutputs);
  }
  const assets = {
    dir: sm.dir,
    byTensor: new Map(
      (p.meta.assetFileDef ?? []).filter((a) => a.tensorInfo?.name && a.filename).map((a) => {
        const r = parseRef(a.tensorInfo!.name!);
        return [`${r.node}:${r.index}`, a.filename!] as const;
      }),
    ),
  };
  const tableInfo = withControl ? extractTables(nodes, withControl, initRoots(p.meta), where, assets) : undefined;
  const tableIds = new Map((tableInfo?.tables ?? []).map((t) => [t.placeholder, t.resourceId]));
  const graph: Graph = { nodes, functions: kept };

  // Placeholders reachable from each signature's outputs must be its own inputs.
  const phNames = new Set(nodes.filter((n) => n.op === 'Placeholder' && !tableIds.has(n.name)).map((n) => n.name));
  const summaries: SignatureSummary[] = [];
  for (const s of sigNames) {
    const sig: SignatureDef = p.meta.signatureDef[s]!;
    const cut = cuts.get(s)!;
    const outs = outputNodes.get(s)!;
    const reach = new Set(pruneToOutputs(nodes, outs.values()).map((n) => n.name));
    const own = new Set([...cut.inputs.values()].map((v) => v.placeholder));
    for (const ph of phNames) {
      if (reach.has(ph) && !own.has(ph)) {
        throw new ConverterError(
          'FAILED_PRECONDITION',
          `signature "${s}" needs tensor "${ph}", which another signature's inputs cut away; convert these signatures separately`,
        );
      }
    }
    const summary: SignatureSummary = { name: s, inputs: {}, outputs: {} };
    if (sig.methodName) summary.methodName = sig.methodName;
    for (const [key, v] of cut.inputs) {
      if (!reach.has(v.placeholder)) continue; // e.g. a parsed feature this signature does not use
      summary.inputs[key] = { name: `${v.placeholder}:0`, dtype: dtypeName(v.dtype), ...(v.shape ? { shape: v.shape } : {}) };
    }
    // Tables: resource inputs the model feeds itself from its initializer (keyed by tensor name, as TF.js's converter does).
    for (const [ph, resourceId] of tableIds) {
      if (reach.has(ph)) summary.inputs[`${ph}:0`] = { name: `${ph}:0`, dtype: 'DT_RESOURCE', shape: [], resourceId };
    }
    if (cut.parseSpec) {
      const used = (f: ParseSpec['features'][number]) => (f.kind === 'sparse' ? Object.values(f.placeholders).some((ph) => reach.has(ph)) : reach.has(f.placeholder));
      summary.parseSpec = { ...cut.parseSpec, features: cut.parseSpec.features.filter(used) };
    }
    for (const [key, node] of outs) {
      const info = sig.outputs[key]!;
      const shape = tensorInfoShape(info);
      summary.outputs[key] = { name: `${node}:0`, dtype: dtypeName((info.dtype ?? 1) % 100), ...(shape ? { shape } : {}) };
    }
    summaries.push(summary);
  }

  if (opts.optimize !== false) {
    progress('optimize', 0.5, `optimizing ${graph.nodes.length} nodes`);
    optimizeGraph(graph, { keep: allOutputs, fuse: opts.fuse !== false });
  }
  progress('check', 0.8, 'checking ops against the TF.js op list');
  if (!opts.skipOpCheck) checkOpsSupported([...graph.nodes, ...(tableInfo?.initializer.nodes ?? [])], graph.functions.values(), where);

  progress('weights', 0.85, 'collecting weights');
  prefixFunctionConsts(graph.functions.values());
  if (tableInfo) {
    const taken = new Set(graph.nodes.map((n) => n.name));
    for (const f of graph.functions.values()) for (const n of f.nodes) taken.add(n.name);
    renameClashingConsts(tableInfo.initializer, taken);
  }
  const sigJson = (s: SignatureSummary, withMethod: boolean): Json => {
    const o: Record<string, Json> = {
      inputs: Object.fromEntries(
        Object.entries(s.inputs).map(([k, v]) => {
          const j = tensorInfoJson(v.name, { dtype: dtypeNum(v.dtype), shape: v.shape }) as Record<string, Json>;
          if (v.resourceId !== undefined) j.resourceId = v.resourceId;
          return [k, j];
        }),
      ),
      outputs: Object.fromEntries(
        Object.entries(s.outputs).map(([k, v]) => [k, tensorInfoJson(v.name, { dtype: dtypeNum(v.dtype), shape: v.shape })]),
      ),
    };
    if (withMethod && s.methodName) o.methodName = s.methodName;
    if (withMethod && s.parseSpec) o.parseSpec = s.parseSpec as unknown as Json;
    return o;
  };
  const main = summaries[0]!;
  const metadata: Record<string, Json> = { ...(opts.metadata ?? {}) };
  if (opts.useStructuredOutputNames) metadata.structuredOutputKeys = Object.keys(main.outputs);
  if (opts.signatureName === 'all' || main.parseSpec || summaries.length > 1) {
    metadata.signatures = Object.fromEntries(summaries.map((s) => [s.name, sigJson(s, true)]));
    metadata.defaultSignature = main.name;
  }
  const built = buildGraphModel(graph, {
    generatedBy: p.generatedBy,
    versions: p.meta.graphDef!.versions,
    signature: sigJson(main, false),
    userDefinedMetadata: metadata,
    ...(opts.quantization ? { quantization: opts.quantization } : {}),
    ...(tableInfo
      ? {
          initializer: {
            nodes: tableInfo.initializer.nodes,
            signature: {
              outputs: Object.fromEntries(
                tableInfo.initializer.outputs.map((o) => [o.name, { name: o.name, dtype: 'DT_RESOURCE', tensorShape: {}, resourceId: o.resourceId }]),
              ),
            },
          },
        }
      : {}),
  });
  const ops: Record<string, number> = {};
  for (const n of graph.nodes) ops[n.op] = (ops[n.op] ?? 0) + 1;
  for (const f of graph.functions.values()) for (const n of f.nodes) ops[n.op] = (ops[n.op] ?? 0) + 1;
  progress('done', 1, `converted ${summaries.length} signature(s)`);
  return {
    ...built,
    signatures: summaries,
    skippedSignatures: {},
    stats: {
      nodes: graph.nodes.length,
      weights: built.weightSpecs.length,
      weightBytes: built.weightData.byteLength,
      ms: performance.now() - t0,
      ops,
    },
  };
}

function dtypeNum(name: string): number {
  return dtypeFromName(name) ?? 0;
}

/** Converts a SavedModel directory (or an already read one) to a TF.js graph model in memory. */
export async function convertSavedModel(savedModel: string | SavedModelDir, options: ConvertOptions = {}): Promise<ConversionResult> {
  const progress = options.onProgress;
  const sm = typeof savedModel === 'string' ? readSavedModel(savedModel) : savedModel;
  progress?.({ stage: 'read', fraction: 0.05, message: `read ${sm.dir} (${sm.byteSize} bytes)` });
  const tags = options.tags ?? ['serve'];
  const p = prepare(sm, tags);
  const want = options.signatureName ?? 'serving_default';
  const available = servingSignatureNames(p.meta);
  if (want !== 'all') {
    if (!p.meta.signatureDef[want]) {
      throw new ConverterError('NOT_FOUND', `${sm.dir} has no signature "${want}" in tag-set [${tags.join(',')}]; available signatures: ${available.join(', ') || '(none)'}`);
    }
    return convertSignatures(sm, p, [want], options);
  }
  if (available.length === 0) throw new ConverterError('NOT_FOUND', `${sm.dir} has no serving signatures in tag-set [${tags.join(',')}]`);
  // Convert each signature alone first, so one that cannot be converted is skipped, not fatal.
  const trial = { ...options, onProgress: undefined, quantization: undefined };
  const ok: string[] = [];
  const skipped: Record<string, string> = {};
  const errors: ConverterError[] = [];
  const attempt = (names: string[]): ConverterError | undefined => {
    try {
      convertSignatures(sm, p, names, trial);
      return undefined;
    } catch (e) {
      if (!(e instanceof ConverterError)) throw e;
      return e;
    }
  };
  for (const s of available) {
    const e = attempt([s]);
    if (e) {
      errors.push(e);
      skipped[s] = e.message;
    } else ok.push(s);
  }
  // Some signatures convert alone but not together (one's input cuts what another needs): add them one by one.
  let chosen = ok;
  if (ok.length > 1 && attempt(ok)) {
    chosen = [];
    for (const s of ok) {
      const e = attempt([...chosen, s]);
      if (!e) chosen.push(s);
      else skipped[s] = `cannot be converted together with ${chosen.map((c) => `"${c}"`).join(', ')}: ${e.message}`;
    }
  }
  const list = () => Object.entries(skipped).map(([k, why]) => `\n  "${k}": ${why}`).join('');
  if (chosen.length === 0) {
    const code = errors.every((e) => e.code === errors[0]!.code) ? errors[0]!.code : 'FAILED_PRECONDITION';
    throw new ConverterError(code, `none of the ${available.length} serving signature(s) of ${sm.dir} could be converted:${list()}`, { skippedSignatures: skipped });
  }
  if (options.allOrNothing && Object.keys(skipped).length) {
    throw new ConverterError(
      errors[0]?.code ?? 'FAILED_PRECONDITION',
      `${Object.keys(skipped).length} of the ${available.length} serving signature(s) of ${sm.dir} cannot be converted (all-or-nothing was asked):${list()}`,
      { skippedSignatures: skipped },
    );
  }
  const result = convertSignatures(sm, p, chosen, options);
  result.skippedSignatures = skipped;
  if (Object.keys(skipped).length) {
    const md = (result.modelJson.userDefinedMetadata ??= {});
    md.skippedSignatures = skipped;
  }
  return result;
}

export { readSavedModel };
