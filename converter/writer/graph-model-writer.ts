/**
 * Writing a TF.js graph model: `model.json` (format "graph-model",
 * modelTopology with `versions`, signature, userDefinedMetadata,
 * weightsManifest) and the weight shards `group1-shard{k}of{n}.bin`.
 *
 * Weights are every Const of the main graph, then those of the library
 * functions (renamed `<function>/<node>`, since TF.js shares one weight map),
 * serialized back to back little-endian with no padding; strings are
 * `[u32 length][utf-8 bytes]` per element.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConverterError } from '../errors.js';
import { constValue, makeConst, type FlatFunction, type Graph } from '../graph/graph.js';
import type { NodeDef, VersionDef } from '../proto/messages.js';
import { dtypeName, tfjsDtype, type HostTensor, type TfjsDtype } from '../tensor.js';
import { functionJson, nodeJson, type Json } from './proto-json.js';
import { makeQuantizationChooser, quantize, type QuantizationMap } from './quantize.js';

export interface WeightSpec {
  name: string;
  shape: number[];
  dtype: TfjsDtype;
  quantization?: { dtype: 'float16' | 'uint8' | 'uint16'; min?: number; scale?: number; original_dtype?: string };
}

export interface GraphModelJson {
  format: 'graph-model';
  generatedBy: string;
  convertedBy: string;
  signature: Json;
  modelTopology: { node: Json[]; library?: { function: Json[] }; versions: Json };
  userDefinedMetadata?: Record<string, Json>;
  /** The graph TF.js runs once at load (tables); its outputs feed the signature's `resourceId` inputs. */
  modelInitializer?: { node: Json[]; versions: Json };
  initializerSignature?: Json;
  weightsManifest: { paths: string[]; weights: WeightSpec[] }[];
}

export interface ConvertedModel {
  modelJson: GraphModelJson;
  /** Same list as modelJson.weightsManifest[0].weights. */
  weightSpecs: WeightSpec[];
  /** All weights, concatenated (one group). */
  weightData: ArrayBuffer;
}

export const DEFAULT_SHARD_SIZE = 4 * 1024 * 1024;
export const CONVERTED_BY = 'tfjs-serving converter (TypeScript) v0.1.0';

function encodeTensor(name: string, t: HostTensor): { dtype: TfjsDtype; bytes: Uint8Array } {
  const dtype = tfjsDtype(t.dtype);
  if (!dtype) throw new ConverterError('UNIMPLEMENTED', `weight "${name}" has dtype ${dtypeName(t.dtype)}, which a TF.js weight cannot hold`);
  if (dtype === 'string') {
    const parts = t.values as Uint8Array[];
    let size = 0;
    for (const p of parts) size += 4 + p.length;
    const out = new Uint8Array(size);
    const dv = new DataView(out.buffer);
    let o = 0;
    for (const p of parts) {
      dv.setUint32(o, p.length, true);
      out.set(p, o + 4);
      o += 4 + p.length;
    }
    return { dtype, bytes: out };
  }
  const v = t.values as Float32Array | Int32Array | Uint8Array;
  return { dtype, bytes: new Uint8Array(v.buffer, v.byteOffset, v.byteLength) };
}

/**
 * Renames each function's Consts to `<function>/<node>` and rewrites the
 * references to them (exact matches only). Mutates the functions.
 */
export function prefixFunctionConsts(functions: Iterable<FlatFunction>): void {
  for (const f of functions) {
    const renamed = new Map<string, string>();
    for (const n of f.nodes) if (n.op === 'Const' && !n.name.startsWith(`${f.name}/`)) renamed.set(n.name, `${f.name}/${n.name}`);
    if (!renamed.size) continue;
    const fix = (r: string): string => {
      const ctrl = r.startsWith('^') ? '^' : '';
      const s = ctrl ? r.slice(1) : r;
      const i = s.lastIndexOf(':');
      const node = i >= 0 ? s.slice(0, i) : s;
      const to = renamed.get(node);
      return to ? ctrl + to + (i >= 0 ? s.slice(i) : '') : r;
    };
    f.nodes = f.nodes.map((n) => {
      if (n.op !== 'Const') return { ...n, input: n.input.map(fix) };
      const c = makeConst(renamed.get(n.name) ?? n.name, constValue(n), n.input.map(fix));
      c.attr = { ...n.attr };
      return c;
    });
    for (const k of Object.keys(f.ret)) f.ret[k] = fix(f.ret[k]!);
  }
}

export interface BuildOptions {
  generatedBy: string;
  versions: VersionDef | undefined;
  signature: Json;
  userDefinedMetadata?: Record<string, Json>;
  quantization?: QuantizationMap;
  /** `modelInitializer` nodes (their Consts become weights too) and `initializerSignature`. */
  initializer?: { nodes: NodeDef[]; signature: Json };
}

/** Builds model.json (with single-file weight paths) and the weight bytes. */
export function buildGraphModel(graph: Graph, opts: BuildOptions): ConvertedModel {
  const choose = makeQuantizationChooser(opts.quantization);
  const specs: WeightSpec[] = [];
  const chunks: Uint8Array[] = [];
  const seen = new Set<string>();
  let total = 0;
  const addConsts = (nodes: readonly NodeDef[]) => {
    for (const n of nodes) {
      if (n.op !== 'Const') continue;
      if (seen.has(n.name)) throw new ConverterError('INTERNAL', `duplicate weight name "${n.name}"`);
      seen.add(n.name);
      const t = constValue(n);
      const { dtype, bytes } = encodeTensor(n.name, t);
      const spec: WeightSpec = { name: n.name, shape: t.shape.slice(), dtype };
      const q = dtype === 'float32' && tfjsDtype(t.dtype) === 'float32' && t.dtype % 100 !== 8 ? choose(n.name) : undefined;
      if (q) {
        const r = quantize(t.values as Float32Array, q);
        spec.quantization = r.quantization;
        chunks.push(r.bytes);
        total += r.bytes.length;
      } else {
        chunks.push(bytes);
        total += bytes.length;
      }
      specs.push(spec);
    }
  };
  addConsts(graph.nodes);
  for (const f of graph.functions.values()) addConsts(f.nodes);
  if (opts.initializer) addConsts(opts.initializer.nodes);
  const data = new Uint8Array(total);
  let o = 0;
  for (const c of chunks) {
    data.set(c, o);
    o += c.length;
  }
  const versions: Record<string, Json> = {};
  if (opts.versions?.producer !== undefined) versions.producer = opts.versions.producer;
  if (opts.versions?.minConsumer !== undefined) versions.minConsumer = opts.versions.minConsumer;
  const topology: GraphModelJson['modelTopology'] = { node: graph.nodes.map(nodeJson), versions };
  if (graph.functions.size) topology.library = { function: [...graph.functions.values()].map(functionJson) };
  const modelJson: GraphModelJson = {
    format: 'graph-model',
    generatedBy: opts.generatedBy,
    convertedBy: CONVERTED_BY,
    signature: opts.signature,
    modelTopology: topology,
    weightsManifest: [{ paths: shardPaths(total, DEFAULT_SHARD_SIZE), weights: specs }],
  };
  if (opts.initializer) {
    modelJson.modelInitializer = { node: opts.initializer.nodes.map(nodeJson), versions };
    modelJson.initializerSignature = opts.initializer.signature;
  }
  if (opts.userDefinedMetadata && Object.keys(opts.userDefinedMetadata).length) modelJson.userDefinedMetadata = opts.userDefinedMetadata;
  return { modelJson, weightSpecs: specs, weightData: data.buffer };
}

function shardPaths(total: number, shardSize: number): string[] {
  const n = Math.max(1, Math.ceil(total / shardSize));
  return Array.from({ length: n }, (_, i) => `group1-shard${i + 1}of${n}.bin`);
}

export interface WriteOptions {
  weightShardSizeBytes?: number;
}

/** Writes model.json and the weight shards into `outputDir`; returns the written file names. */
export function writeGraphModel(converted: ConvertedModel, outputDir: string, opts: WriteOptions = {}): string[] {
  const shardSize = opts.weightShardSizeBytes ?? DEFAULT_SHARD_SIZE;
  if (!Number.isInteger(shardSize) || shardSize <= 0) {
    throw new ConverterError('INVALID_ARGUMENT', `weight shard size must be a positive integer number of bytes, got ${shardSize}`);
  }
  mkdirSync(outputDir, { recursive: true });
  const data = new Uint8Array(converted.weightData);
  const paths = shardPaths(data.length, shardSize);
  paths.forEach((p, i) => writeFileSync(join(outputDir, p), data.subarray(i * shardSize, Math.min(data.length, (i + 1) * shardSize))));
  const json: GraphModelJson = { ...converted.modelJson, weightsManifest: [{ paths, weights: converted.weightSpecs }] };
  writeFileSync(join(outputDir, 'model.json'), JSON.stringify(json));
  return ['model.json', ...paths];
}
