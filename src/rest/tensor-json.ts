// TF Serving's JSON tensor encoding (util/json_tensor.cc): the row (`instances`) and columnar
// (`inputs`) request formats, `{"b64": …}` binary strings, and the `predictions` / `outputs`
// response shapes, with its error messages.
import { ServingError } from '../core/status.js';
import type { TensorOutput } from '../runtime/tensor.js';
import type { JsonValue, WritableJson } from './json.js';
import { RawJson, formatDecimal, stringifyJson } from './json.js';

/** One input or output of a signature as GetModelMetadata describes it. */
export interface SignatureTensor {
  readonly key: string;
  /** TF's dtype name, e.g. DT_FLOAT (DT_INVALID when unknown). */
  readonly tfDtype: string;
  /** Declared shape (-1 for unknown dims); undefined for unknown rank. */
  readonly shape: readonly number[] | undefined;
}

/** A tensor read from JSON: row-major values and shape. */
export interface JsonTensor {
  shape: number[];
  data: Array<number | boolean | string>;
}

export type PredictFormat = 'row' | 'columnar';

const MAX_ERROR_JSON = 256;

/** JSON text of a value, for error messages (truncated like nobody wants a 10 MB error). */
export function jsonForError(v: JsonValue): string {
  const s = stringifyJson(v as WritableJson).replace(/\n\s*/g, ' ');
  return s.length > MAX_ERROR_JSON ? s.slice(0, MAX_ERROR_JSON) + '…' : s;
}

export function jsonTypeString(v: JsonValue): string {
  if (v === null) return 'Null';
  if (v === true) return 'True';
  if (v === false) return 'False';
  if (Array.isArray(v)) return 'Array';
  if (typeof v === 'object') return 'Object';
  if (typeof v === 'string') return 'String';
  return 'Number';
}

/** TF's DataTypeString: DT_FLOAT → float. */
export function dataTypeString(tfDtype: string): string {
  return tfDtype.replace(/^DT_/, '').toLowerCase();
}

function invalid(message: string): ServingError {
  return new ServingError('INVALID_ARGUMENT', message);
}

export function isBase64Object(v: JsonValue): v is { b64: string } {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && Object.keys(v).length === 1 && typeof (v as { b64?: unknown }).b64 === 'string';
}

/** Decodes `{"b64": "…"}` (standard or URL-safe alphabet) to a string (bytes read as UTF-8). */
export function decodeBase64Object(v: JsonValue): string {
  if (!isBase64Object(v)) throw invalid(`JSON Value: ${jsonForError(v)} not formatted correctly for base64 data`);
  const s = v.b64.replace(/-/g, '+').replace(/_/g, '/').replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(s) || s.replace(/=+$/, '').length % 4 === 1) throw invalid('Unable to base64 decode');
  const bin = atob(s.replace(/=+$/, '') + '='.repeat((4 - (s.replace(/=+$/, '').length % 4)) % 4));
  const bytes = Uint8Array.from(bin, (c) => c.charCodeAt(0));
  return new TextDecoder().decode(bytes);
}

function encodeBase64(s: string): string {
  const bytes = new TextEncoder().encode(s);
  let bin = '';
  for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(bin);
}

/** AddValueToTensor: checks a JSON leaf against the input's dtype (numbers are cast to it later). */
function leafValue(v: JsonValue, tfDtype: string): number | boolean | string {
  const typeError = () => invalid(`JSON Value: ${jsonForError(v)} Type: ${jsonTypeString(v)} is not of expected type: ${dataTypeString(tfDtype)}`);
  switch (tfDtype) {
    case 'DT_FLOAT':
    case 'DT_DOUBLE':
    case 'DT_HALF':
    case 'DT_BFLOAT16':
      if (typeof v !== 'number') throw typeError();
      return v;
    case 'DT_INT32':
    case 'DT_INT16':
    case 'DT_INT8':
    case 'DT_UINT8':
    case 'DT_UINT16':
    case 'DT_UINT32':
    case 'DT_INT64':
    case 'DT_UINT64':
      if (typeof v !== 'number' || !Number.isInteger(v)) throw typeError();
      return v;
    case 'DT_BOOL':
      if (typeof v !== 'boolean') throw typeError();
      return v;
    case 'DT_STRING':
      if (typeof v === 'object' && v !== null) return decodeBase64Object(v);
      if (typeof v !== 'string') throw typeError();
      return v;
    default:
      // The signature does not say: take numbers, booleans and strings as they are.
      if (isBase64Object(v)) return decodeBase64Object(v);
      if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'string') return v;
      throw invalid(`JSON Value: ${jsonForError(v)} Type: ${jsonTypeString(v)} is not a number, boolean, string or {"b64": …}`);
  }
}

/** GetDenseTensorShape: the shape implied by the first element at every level. */
function denseShape(v: JsonValue): number[] {
  const shape: number[] = [];
  let cur = v;
  while (Array.isArray(cur)) {
    shape.push(cur.length);
    if (cur.length === 0) break;
    cur = cur[0]!;
  }
  return shape;
}

/** FillTensorProto: flattens `v` checking every list against `shape`. */
function fill(v: JsonValue, level: number, shape: readonly number[], tfDtype: string, out: Array<number | boolean | string>): void {
  const rank = shape.length;
  if (!Array.isArray(v)) {
    if (level !== rank) {
      throw invalid(`JSON Value: ${jsonForError(v)} found at incorrect level: ${level + 1} in the JSON DOM. Expected at level: ${rank}`);
    }
    if (typeof v === 'object' && v !== null && tfDtype !== 'DT_STRING' && tfDtype !== 'DT_INVALID') {
      throw invalid(`JSON Value: ${jsonForError(v)} Type: Object is not of expected type: ${dataTypeString(tfDtype)}`);
    }
    out.push(leafValue(v, tfDtype));
    return;
  }
  if (level >= rank) throw invalid(`Encountered list at unexpected level: ${level} expected < ${rank}`);
  if (v.length !== shape[level]) {
    throw invalid(`Encountered list at unexpected size: ${v.length} at level: ${level} expected size: ${shape[level]}`);
  }
  for (const x of v) fill(x, level + 1, shape, tfDtype, out);
}

/** One JSON value (scalar, nested list or b64 object) as a dense tensor of the given dtype. */
export function jsonToTensor(v: JsonValue, tfDtype: string): JsonTensor {
  const shape = denseShape(v);
  const data: Array<number | boolean | string> = [];
  fill(v, 0, shape, tfDtype, data);
  return { shape, data };
}

/**
 * FillPredictRequestFromJson: reads `instances` (row format) or `inputs` (columnar) against the
 * signature's inputs. `body` must already be an object whose signature_name was checked.
 */
export function predictInputsFromJson(
  body: { [key: string]: JsonValue },
  inputs: readonly SignatureTensor[],
  signatureName: string | undefined,
): { format: PredictFormat; tensors: Record<string, JsonTensor> } {
  if (inputs.length === 0) throw invalid(`Failed to get input map for signature: ${signatureName || 'DEFAULT'}`);
  const hasInstances = 'instances' in body;
  const hasInputs = 'inputs' in body;
  if (hasInstances && hasInputs) {
    throw invalid(`JSON Value: ${jsonForError(body)} Not formatted correctly expecting only one of 'inputs' or 'instances' keys to exist `);
  }
  if (hasInstances) {
    const instances = body.instances!;
    if (!Array.isArray(instances)) throw invalid(`JSON Value: ${jsonForError(body)} Excepting 'instances' to be an list/array`);
    if (instances.length === 0) throw invalid(`JSON Value: ${jsonForError(body)} No values in 'instances' array`);
    return { format: 'row', tensors: fromInstances(instances, inputs) };
  }
  if (hasInputs) return { format: 'columnar', tensors: fromInputs(body.inputs!, inputs) };
  throw invalid("Missing 'inputs' or 'instances' key");
}

function isElementObject(v: JsonValue): v is { [key: string]: JsonValue } {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !isBase64Object(v);
}

function fromInstances(instances: JsonValue[], inputs: readonly SignatureTensor[]): Record<string, JsonTensor> {
  const first = instances[0]!;
  if (!(typeof first === 'object' && first !== null && !Array.isArray(first)) && inputs.length > 1) {
    throw invalid('instances is a plain list, but expecting list of objects as multiple input tensors required as per tensorinfo_map');
  }
  const byKey = new Map(inputs.map((i) => [i.key, i]));
  const named = isElementObject(first);
  const acc = new Map<string, JsonTensor>();
  // AddInstanceItem: every item of one input must have the same size and shape.
  const add = (item: JsonValue, key: string) => {
    const spec = byKey.get(key);
    if (!spec) throw invalid(`JSON object: does not have named input: ${key}`);
    const t = jsonToTensor(item, spec.tfDtype);
    const seen = acc.get(key);
    if (!seen) {
      acc.set(key, { shape: t.shape, data: t.data.slice() });
      return;
    }
    if (t.data.length !== countOf(seen.shape)) throw invalid(`Expecting tensor size: ${countOf(seen.shape)} but got: ${t.data.length}`);
    if (seen.shape.length !== t.shape.length || seen.shape.some((d, i) => d !== t.shape[i])) {
      throw invalid(`Expecting shape [${seen.shape.join(',')}] but got: [${t.shape.join(',')}]`);
    }
    for (const x of t.data) seen.data.push(x);
  };
  const wanted = [...byKey.keys()].sort();
  instances.forEach((elem, index) => {
    if (named) {
      if (!isElementObject(elem)) throw invalid(`Expecting object but got list at item ${index} of input list`);
      for (const [key, value] of Object.entries(elem)) {
        try {
          add(value, key);
        } catch (e) {
          throw invalid(`Failed to process element: ${index} key: ${key} of 'instances' list. Error: INVALID_ARGUMENT: ${(e as Error).message}`);
        }
      }
      const keys = Object.keys(elem).sort();
      if (keys.join('\0') !== wanted.join('\0')) {
        throw invalid(`Failed to process element: ${index} of 'instances' list. JSON object: ${jsonForError(elem)} keys must be equal to: ${wanted.join(',')}`);
      }
    } else {
      if (isElementObject(elem)) throw invalid(`Expecting value/list but got object at item ${index} of input list`);
      try {
        add(elem, inputs[0]!.key);
      } catch (e) {
        throw invalid(`Failed to process element: ${index} of 'instances' list. Error: INVALID_ARGUMENT: ${(e as Error).message}`);
      }
    }
  });
  const out: Record<string, JsonTensor> = {};
  for (const [key, t] of acc) out[key] = { shape: [instances.length, ...t.shape], data: t.data };
  return out;
}

function countOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

function fromInputs(value: JsonValue, inputs: readonly SignatureTensor[]): Record<string, JsonTensor> {
  if (!isElementObject(value)) {
    if (inputs.length > 1) {
      throw invalid('inputs is a plain value/list, but expecting an object as multiple input tensors required as per tensorinfo_map');
    }
    return { [inputs[0]!.key]: jsonToTensor(value, inputs[0]!.tfDtype) };
  }
  const out: Record<string, JsonTensor> = {};
  for (const spec of inputs) {
    if (!(spec.key in value)) throw invalid(`Missing named input: ${spec.key} in 'inputs' object.`);
    out[spec.key] = jsonToTensor(value[spec.key]!, spec.tfDtype);
  }
  return out;
}

/** One output value as TF Serving writes it. */
function leafJson(t: TensorOutput, i: number, asBytes: boolean): WritableJson {
  switch (t.dtype) {
    case 'float32':
      return new RawJson(formatDecimal((t.data as Float32Array)[i]!));
    case 'int32':
      return (t.data as Int32Array)[i]!;
    case 'bool':
      return (t.data as Uint8Array)[i] !== 0;
    case 'string': {
      const s = (t.data as string[])[i]!;
      return asBytes ? { b64: encodeBase64(s) } : s;
    }
  }
}

/** AddTensorValues: values from `offset` nested by `shape[dim:]`. */
function nested(t: TensorOutput, dim: number, offset: { i: number }, asBytes: boolean): WritableJson {
  if (dim >= t.shape.length) return leafJson(t, offset.i++, asBytes);
  const out: WritableJson[] = [];
  for (let k = 0; k < t.shape[dim]!; k++) out.push(nested(t, dim + 1, offset, asBytes));
  return out;
}

/** MakeJsonFromTensors: `{"predictions": …}` (row) or `{"outputs": …}` (columnar), as JSON text. */
export function predictResponseJson(outputs: Record<string, TensorOutput>, format: PredictFormat): string {
  const entries = Object.entries(outputs);
  if (entries.length === 0) throw invalid('Cannot convert empty tensor map to JSON');
  const isBytes = (key: string, t: TensorOutput) => t.dtype === 'string' && key.endsWith('_bytes');
  if (format === 'columnar') {
    const one = (key: string, t: TensorOutput) => nested(t, 0, { i: 0 }, isBytes(key, t));
    const value: WritableJson = entries.length > 1 ? Object.fromEntries(entries.map(([k, t]) => [k, one(k, t)])) : one(entries[0]![0], entries[0]![1]);
    return stringifyJson({ outputs: value });
  }
  let batch = -1;
  for (const [key, t] of entries) {
    if (t.shape.length === 0) throw invalid(`Tensor name: ${key} has no shape information `);
    const b = t.shape[0]!;
    if (batch >= 0 && b !== batch) throw invalid(`Tensor name: ${key} has inconsistent batch size: ${b} expecting: ${batch}`);
    batch = b;
  }
  const offsets = new Map(entries.map(([k]) => [k, { i: 0 }]));
  const predictions: WritableJson[] = [];
  for (let item = 0; item < batch; item++) {
    if (entries.length > 1) {
      const obj: { [key: string]: WritableJson } = {};
      for (const [k, t] of entries) obj[k] = nested(t, 1, offsets.get(k)!, isBytes(k, t));
      predictions.push(obj);
    } else {
      const [k, t] = entries[0]!;
      predictions.push(nested(t, 1, offsets.get(k)!, isBytes(k, t)));
    }
  }
  return stringifyJson({ predictions });
}
