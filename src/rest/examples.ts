// Classify and regress over REST: TF Serving's `examples` (+ `context`) JSON turned into feature
// tensors through the parse spec the converter records for signatures that parse tf.Example, and
// the classification / regression results written as TF Serving writes them.
import { ServingError } from '../core/status.js';
import type { TensorOutput } from '../runtime/tensor.js';
import type { JsonValue, WritableJson } from './json.js';
import { RawJson, formatDecimal, stringifyJson } from './json.js';
import type { JsonTensor } from './tensor-json.js';
import { decodeBase64Object, isBase64Object, jsonForError, jsonTypeString } from './tensor-json.js';

/** One dense feature of a parse spec (the converter's `userDefinedMetadata.signatures[S].parseSpec`). */
export interface ParsedFeatureSpec {
  /** Absent (or 'dense') for dense features. */
  readonly kind?: 'dense';
  /** Feature key in the tf.Example; also the signature input key it feeds. */
  readonly key: string;
  readonly dtype: 'float32' | 'int32' | 'string' | 'bool';
  /** Shape of one example's value (no batch dimension). */
  readonly shape: readonly number[];
  /** Flat default when the feature is missing; null when it is required. */
  readonly defaultValue: ReadonlyArray<number | string> | null;
}

/**
 * A sparse (`VarLenFeature`) feature: the examples' values become a SparseTensor, as ParseExample
 * makes it, fed to three signature inputs.
 */
export interface SparseFeatureSpec {
  readonly kind: 'sparse';
  readonly key: string;
  /** dtype of the values. */
  readonly dtype: 'float32' | 'int32' | 'string' | 'bool';
  /** Signature input keys: indices int [n, 2] (example, position), values [n], dense_shape int [2] = [batch, longest]. */
  readonly inputs: { readonly indices: string; readonly values: string; readonly denseShape: string };
}

export interface ParseSpecJson {
  readonly serializedInputKey?: string;
  readonly op?: string;
  readonly features: readonly (ParsedFeatureSpec | SparseFeatureSpec)[];
}

type Example = Map<string, Array<number | string>>;

function invalid(message: string): ServingError {
  return new ServingError('INVALID_ARGUMENT', message);
}

/** MakeExampleFromJsonObject: `{feature: value | [values]}` → feature values. */
function exampleFromJson(v: JsonValue): Example {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw invalid(`Example must be JSON object but got JSON ${jsonTypeString(v)}`);
  const example: Example = new Map();
  for (const [name, content] of Object.entries(v)) {
    const values: Array<number | string> = [];
    for (const x of Array.isArray(content) ? content : [content]) {
      if (x === null || Array.isArray(x)) throw invalid(`Feature: ${name} has element with unexpected JSON type: ${jsonTypeString(x)}`);
      if (typeof x === 'boolean') values.push(x ? 1 : 0);
      else if (typeof x === 'object') {
        if (!isBase64Object(x)) throw invalid(`Feature: ${name} has element with unexpected JSON type: ${jsonTypeString(x)}`);
        values.push(decodeBase64Object(x));
      } else values.push(x);
    }
    example.set(name, values);
  }
  return example;
}

/**
 * FillClassifyRegressRequestFromJson: reads `context` and `examples` (the body must already be an
 * object whose signature_name was checked). Context features are merged into every example; an
 * example's own value wins.
 */
export function examplesFromJson(body: { [key: string]: JsonValue }, method: 'classify' | 'regress'): Example[] {
  const context = 'context' in body ? exampleFromJson(body.context!) : undefined;
  if (!('examples' in body)) throw invalid(`JSON Value: ${jsonForError(body)} When method is ${method}, key 'examples' is expected and was not found`);
  const examples = body.examples!;
  if (!Array.isArray(examples)) throw invalid(`JSON Value: ${jsonForError(body)} Expecting 'examples' value to be an list/array`);
  if (examples.length === 0) throw invalid(`JSON Value: ${jsonForError(body)} 'examples' value is an empty array`);
  return examples.map((e) => {
    const ex = exampleFromJson(e);
    return context ? new Map([...context, ...ex]) : ex;
  });
}

/** Checks one value against a feature's dtype (as ParseExample does); bools travel as 0/1. */
function checkedValue(f: { key: string; dtype: ParsedFeatureSpec['dtype'] }, v: number | string, i: number): number | string | boolean {
  const ok = f.dtype === 'string' ? typeof v === 'string' : typeof v === 'number' && (f.dtype !== 'int32' || Number.isInteger(v));
  if (!ok) {
    throw invalid(`Name: <unknown>, Feature: ${f.key}.  Data types don't match. Expected type: ${tfTypeName(f.dtype)}, got ${JSON.stringify(v)} (example ${i})`);
  }
  return f.dtype === 'bool' ? v !== 0 : v;
}

type FeatureTensor = JsonTensor & { dtype: ParsedFeatureSpec['dtype'] };

/** A VarLen feature as ParseExample returns it; a missing feature is an empty row. */
function sparseTensors(examples: readonly Example[], f: SparseFeatureSpec): Record<string, FeatureTensor> {
  const indices: number[] = [];
  const values: Array<number | string | boolean> = [];
  let longest = 0;
  examples.forEach((ex, i) => {
    const row = ex.get(f.key) ?? [];
    row.forEach((v, j) => {
      indices.push(i, j);
      values.push(checkedValue(f, v, i));
    });
    longest = Math.max(longest, row.length);
  });
  return {
    [f.inputs.indices]: { dtype: 'int32', shape: [values.length, 2], data: indices },
    [f.inputs.values]: { dtype: f.dtype, shape: [values.length], data: values },
    [f.inputs.denseShape]: { dtype: 'int32', shape: [2], data: [examples.length, longest] },
  };
}

/**
 * Batches the examples into one tensor per feature, like ParseExample with the recorded spec, keyed by
 * signature input name: a dense feature feeds the input named like it, a sparse feature the three
 * inputs its spec names.
 */
export function featureTensors(examples: readonly Example[], spec: ParseSpecJson): Record<string, FeatureTensor> {
  const out: Record<string, FeatureTensor> = {};
  for (const f of spec.features) {
    if (f.kind === 'sparse') {
      Object.assign(out, sparseTensors(examples, f));
      continue;
    }
    const per = f.shape.reduce((a, b) => a * b, 1);
    const data: Array<number | string | boolean> = [];
    examples.forEach((ex, i) => {
      const values = ex.get(f.key) ?? f.defaultValue;
      if (values === null || values === undefined) {
        throw invalid(`Name: <unknown>, Feature: ${f.key} (data type: ${tfTypeName(f.dtype)}) is required but could not be found. (example ${i})`);
      }
      if (values.length !== per) {
        throw invalid(`Name: <unknown>, Key: ${f.key}, Index: ${i}.  Number of ${tfTypeName(f.dtype)} values != expected.  Values size: ${values.length} but output shape: [${f.shape.join(',')}]`);
      }
      for (const v of values) data.push(checkedValue(f, v, i));
    });
    out[f.key] = { dtype: f.dtype, shape: [examples.length, ...f.shape], data };
  }
  return out;
}

function tfTypeName(dtype: ParsedFeatureSpec['dtype']): string {
  return dtype === 'string' ? 'string' : dtype === 'float32' ? 'float' : 'int64';
}

function toNumbers(t: TensorOutput): number[] {
  return Array.from(t.data as ArrayLike<number>, Number);
}

/** TF Serving's classifier post-processing: `classes` and/or `scores`, each [batch, num_classes]. */
export function classifyResponseJson(outputs: Record<string, TensorOutput>, batch: number, signatureName: string): string {
  const classes = outputs.classes;
  const scores = outputs.scores;
  if (!classes && !scores) {
    throw invalid(`Expected classification signature ${JSON.stringify(signatureName)} outputs to contain at least one of "classes" or "scores"; it has: ${Object.keys(outputs).join(', ') || 'none'}`);
  }
  for (const [name, t] of [['classes', classes], ['scores', scores]] as const) {
    if (!t) continue;
    if (t.shape.length !== 2 || t.shape[0] !== batch) {
      throw invalid(`Expected ${name} Tensor shape: [batch_size num_classes] (batch_size ${batch}) but got [${t.shape.join(',')}]`);
    }
  }
  if (classes && classes.dtype !== 'string') throw invalid(`Expected classes Tensor of DT_STRING. Got: ${classes.dtype}`);
  if (scores && scores.dtype !== 'float32') throw invalid(`Expected scores Tensor of DT_FLOAT. Got: ${scores.dtype}`);
  if (classes && scores && classes.shape[1] !== scores.shape[1]) {
    throw invalid(`Tensors class and score should match in shape. Got [${classes.shape.join(',')}] and [${scores.shape.join(',')}]`);
  }
  const k = (classes ?? scores)!.shape[1]!;
  const scoreValues = scores ? toNumbers(scores) : undefined;
  const results: WritableJson[] = [];
  for (let i = 0; i < batch; i++) {
    const row: WritableJson[] = [];
    for (let j = 0; j < k; j++) {
      const label = classes ? (classes.data as string[])[i * k + j]! : '';
      row.push([label, new RawJson(formatDecimal(scoreValues ? scoreValues[i * k + j]! : 0))]);
    }
    results.push(row);
  }
  return stringifyJson({ results });
}

/** TF Serving's regressor post-processing: output `outputs`, shaped [batch] or [batch, 1]. */
export function regressResponseJson(outputs: Record<string, TensorOutput>, batch: number, signatureName: string): string {
  const keys = Object.keys(outputs);
  const t = outputs.outputs ?? (keys.length === 1 ? outputs[keys[0]!] : undefined);
  if (!t) throw invalid(`Expected regression signature ${JSON.stringify(signatureName)} to have an output named "outputs"; it has: ${keys.join(', ') || 'none'}`);
  if (!(t.shape.length === 1 || (t.shape.length === 2 && t.shape[1] === 1)) || t.shape[0] !== batch) {
    throw invalid(`Expected output Tensor shape to be either [batch_size] or [batch_size, 1] (batch_size ${batch}) but got [${t.shape.join(',')}]`);
  }
  if (t.dtype !== 'float32') throw invalid(`Expected output Tensor of DT_FLOAT. Got: ${t.dtype}`);
  return stringifyJson({ results: toNumbers(t).map((v) => new RawJson(formatDecimal(v))) });
}

/** Reads a parse spec out of a model.json's `userDefinedMetadata.signatures[S].parseSpec`. */
export function parseSpecFromModelJson(modelJson: unknown, signatureName: string): ParseSpecJson | undefined {
  const sigs = (modelJson as { userDefinedMetadata?: { signatures?: Record<string, { parseSpec?: unknown }> } } | null)?.userDefinedMetadata?.signatures;
  return asParseSpec(sigs?.[signatureName]?.parseSpec);
}

/** A recorded parse spec (as the runtime keeps it on the signature), or undefined when it is not one. */
export function asParseSpec(recorded: unknown): ParseSpecJson | undefined {
  const spec = recorded as ParseSpecJson | undefined; // shape checked just below: a features list
  if (!spec || !Array.isArray(spec.features)) return undefined;
  return spec;
}

export type { Example };
