/**
 * `run`: converts one signature in memory and executes it with TF.js, like
 * `saved_model_cli run`. Inputs come from .npy / .json files, from literal
 * expressions, or — for signatures that parse tf.Example — from examples
 * given as JSON objects (features are batched using the recorded parse spec).
 */
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { convertSavedModel, type ConversionResult, type SignatureSummary } from './convert.js';
import { ConverterError } from './errors.js';
import type { SparseParsedFeature } from './graph/cut.js';
import { dtypeFromName, halfToFloat, tfjsDtype, type TfjsDtype } from './tensor.js';

export interface RunOptions {
  tags?: string[];
  signatureName: string;
  /** input key → nested array / number (already parsed). */
  inputValues?: Record<string, unknown>;
  /** For parsed (tf.Example) signatures: the examples, each {feature: value | value[]}. */
  examples?: Record<string, unknown>[];
}

export interface RunOutput {
  dtype: string;
  shape: number[];
  value: unknown;
}

function inferShape(v: unknown): number[] {
  const shape: number[] = [];
  let cur = v;
  while (Array.isArray(cur)) {
    shape.push(cur.length);
    cur = cur[0];
  }
  return shape;
}

/** A conversion result as TF.js ModelArtifacts (what `tf.io.fromMemory` takes). */
export function artifactsOf(r: ConversionResult): tf.io.ModelArtifacts {
  return {
    modelTopology: r.modelJson.modelTopology as unknown as {},
    weightSpecs: r.weightSpecs as unknown as tf.io.WeightsManifestEntry[],
    weightData: r.weightData,
    format: r.modelJson.format,
    generatedBy: r.modelJson.generatedBy,
    convertedBy: r.modelJson.convertedBy,
    signature: r.modelJson.signature as unknown as {},
    ...(r.modelJson.userDefinedMetadata ? { userDefinedMetadata: r.modelJson.userDefinedMetadata as unknown as {} } : {}),
    ...(r.modelJson.modelInitializer ? { modelInitializer: r.modelJson.modelInitializer as unknown as {} } : {}),
    ...(r.modelJson.initializerSignature ? { initializerSignature: r.modelJson.initializerSignature as unknown as {} } : {}),
  };
}

export function loadGraphModelFromResult(r: ConversionResult): tf.GraphModel<tf.io.IOHandlerSync> {
  return tf.loadGraphModelSync(tf.io.fromMemorySync(artifactsOf(r)));
}

/** `execute()` when the graph allows it (no control flow / dynamic shapes), else `executeAsync()`. */
export async function executeModel(
  model: tf.GraphModel<tf.io.IOHandlerSync> | tf.GraphModel,
  feeds: tf.NamedTensorMap,
  outputs: string[],
): Promise<tf.Tensor | tf.Tensor[]> {
  try {
    return model.execute(feeds, outputs);
  } catch (e) {
    if (e instanceof Error && /executeAsync/.test(e.message)) return model.executeAsync(feeds, outputs);
    throw e;
  }
}

/** Builds the feature tensors of a parsed signature from tf.Example-like objects. */
export function examplesToFeeds(sig: SignatureSummary, examples: Record<string, unknown>[]): Record<string, tf.Tensor> {
  const spec = sig.parseSpec;
  if (!spec) throw new ConverterError('INVALID_ARGUMENT', `signature "${sig.name}" does not parse tf.Example input; pass --inputs or --input_exprs`);
  const feeds: Record<string, tf.Tensor> = {};
  for (const f of spec.features) {
    if (f.kind === 'sparse') {
      Object.assign(feeds, sparseFeeds(f, examples));
      continue;
    }
    const per = f.shape.reduce((a, b) => a * b, 1);
    const flat: (number | string)[] = [];
    examples.forEach((ex, i) => {
      let v = ex[f.key];
      if (v === undefined) {
        if (f.defaultValue === null) throw new ConverterError('INVALID_ARGUMENT', `example #${i} lacks required feature "${f.key}"`);
        v = f.defaultValue;
      }
      const vals = (Array.isArray(v) ? v.flat(Infinity) : [v]) as (number | string)[];
      if (vals.length !== per) throw new ConverterError('INVALID_ARGUMENT', `feature "${f.key}" of example #${i} has ${vals.length} values, expected ${per} (shape [${f.shape}])`);
      flat.push(...vals);
    });
    const shape = [examples.length, ...f.shape];
    feeds[f.key] = f.dtype === 'string' ? tf.tensor(flat as string[], shape, 'string') : tf.tensor(flat as number[], shape, f.dtype);
  }
  return feeds;
}

/** A VarLen feature as ParseExample returns it: indices [n, 2], values [n], dense_shape [batch, longest]. */
function sparseFeeds(f: SparseParsedFeature, examples: Record<string, unknown>[]): Record<string, tf.Tensor> {
  const indices: number[] = [];
  const values: (number | string)[] = [];
  let longest = 0;
  examples.forEach((ex, i) => {
    const v = ex[f.key];
    const vals = (v === undefined ? [] : Array.isArray(v) ? v.flat(Infinity) : [v]) as (number | string)[];
    vals.forEach((x, j) => {
      indices.push(i, j);
      values.push(x);
    });
    longest = Math.max(longest, vals.length);
  });
  return {
    [f.inputs.indices]: tf.tensor2d(indices, [values.length, 2], 'int32'),
    [f.inputs.values]: f.dtype === 'string' ? tf.tensor1d(values as string[], 'string') : tf.tensor1d(values as number[], f.dtype as 'float32' | 'int32'),
    [f.inputs.denseShape]: tf.tensor1d([examples.length, longest], 'int32'),
  };
}

export async function runSavedModel(dir: string, opts: RunOptions): Promise<Record<string, RunOutput>> {
  const r = await convertSavedModel(dir, { signatureName: opts.signatureName, ...(opts.tags ? { tags: opts.tags } : {}) });
  const sig = r.signatures[0]!;
  const model = loadGraphModelFromResult(r);
  const feeds: Record<string, tf.Tensor> = {};
  try {
    if (opts.examples) Object.assign(feeds, examplesToFeeds(sig, opts.examples));
    for (const [key, value] of Object.entries(opts.inputValues ?? {})) {
      const info = sig.inputs[key];
      if (!info) throw new ConverterError('INVALID_ARGUMENT', `signature "${sig.name}" has no input "${key}"; its inputs are: ${Object.keys(sig.inputs).join(', ')}`);
      const dtype: TfjsDtype = tfjsDtype(dtypeFromName(info.dtype) ?? 1) ?? 'float32';
      const shape = inferShape(value);
      const flat = (Array.isArray(value) ? value.flat(Infinity) : [value]) as (number | string | boolean)[];
      feeds[key] = dtype === 'string' ? tf.tensor(flat as string[], shape, 'string') : tf.tensor(flat.map(Number), shape, dtype);
    }
    const missing = Object.keys(sig.inputs).filter((k) => !feeds[k]);
    if (missing.length) throw new ConverterError('INVALID_ARGUMENT', `missing value(s) for input(s) ${missing.join(', ')} of signature "${sig.name}"`);
    const outKeys = Object.keys(sig.outputs);
    const outs = await executeModel(model, feeds, outKeys.map((k) => sig.outputs[k]!.name));
    const arr = Array.isArray(outs) ? outs : [outs];
    const result: Record<string, RunOutput> = {};
    outKeys.forEach((k, i) => {
      const t = arr[i]!;
      result[k] = { dtype: t.dtype, shape: t.shape.slice(), value: t.arraySync() };
      t.dispose();
    });
    return result;
  } finally {
    tf.dispose(Object.values(feeds));
    model.dispose();
  }
}

/** Reads a .npy file (v1–v3 header; little-endian f2/f4/f8, i1/i2/i4/i8, u1/u2/u4, b1). */
export function readNpy(path: string): unknown {
  const buf = readFileSync(path);
  if (buf.length < 10 || buf.toString('latin1', 1, 6) !== 'NUMPY') throw new ConverterError('INVALID_ARGUMENT', `${path} is not a .npy file`);
  const major = buf[6]!;
  const hlen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const hstart = major === 1 ? 10 : 12;
  const header = buf.toString('latin1', hstart, hstart + hlen);
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*True/.test(header);
  const shapeStr = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1] ?? '';
  const shape = shapeStr.split(',').map((s) => s.trim()).filter(Boolean).map(Number);
  if (!descr || fortran) throw new ConverterError('UNIMPLEMENTED', `${path}: only C-order .npy arrays are supported`);
  if (descr.startsWith('>')) throw new ConverterError('UNIMPLEMENTED', `${path}: big-endian .npy arrays are not supported`);
  const kind = descr.replace(/^[<|=]/, '');
  const data = buf.subarray(hstart + hlen);
  const n = shape.reduce((a, b) => a * b, 1);
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const read: Record<string, [number, (o: number) => number]> = {
    f4: [4, (o) => dv.getFloat32(o, true)],
    f8: [8, (o) => dv.getFloat64(o, true)],
    f2: [2, (o) => halfToFloat(dv.getUint16(o, true))],
    i1: [1, (o) => dv.getInt8(o)],
    i2: [2, (o) => dv.getInt16(o, true)],
    i4: [4, (o) => dv.getInt32(o, true)],
    i8: [8, (o) => Number(dv.getBigInt64(o, true))],
    u1: [1, (o) => dv.getUint8(o)],
    u2: [2, (o) => dv.getUint16(o, true)],
    u4: [4, (o) => dv.getUint32(o, true)],
    b1: [1, (o) => dv.getUint8(o)],
  };
  const r = read[kind];
  if (!r) throw new ConverterError('UNIMPLEMENTED', `${path}: .npy dtype ${descr} is not supported`);
  const flat: number[] = [];
  for (let i = 0; i < n; i++) flat.push(r[1](i * r[0]));
  const nest = (off: number, dims: number[]): unknown => {
    if (dims.length === 0) return flat[off];
    const [d, ...rest] = dims as [number, ...number[]];
    const stride = rest.reduce((a, b) => a * b, 1);
    return Array.from({ length: d }, (_, i) => nest(off + i * stride, rest));
  };
  return nest(0, shape);
}

