// TF Serving's JSON tensor encoding (util/json_tensor.cc): the row (`instances`) and columnar
// (`inputs`) request formats, `{"b64": …}` binary strings, and the `predictions` / `outputs`
// response shapes, with its error messages.
import { ServingError } from '../core/status.js';
import type { TensorOutput } from '../runtime/tensor.js';
import { DenseNumbers } from './dense-numbers.js';
import type { BodyValue } from './json-bytes.js';
import type { WritableJson } from './json.js';
import { RawJson, formatDecimal, stringifyJson } from './json.js';
import type { TypedValues } from './typed-values.js';
import { allocateValues, isTypedDtype, writeBlock, writeNumber } from './typed-values.js';

/** One input or output of a signature as GetModelMetadata describes it. */
export interface SignatureTensor {
  readonly key: string;
  /** TF's dtype name, e.g. DT_FLOAT (DT_INVALID when unknown). */
  readonly tfDtype: string;
  /** Declared shape (-1 for unknown dims); undefined for unknown rank. */
  readonly shape: readonly number[] | undefined;
}

/** A tensor read from JSON: row-major values and shape (numbers of a numeric dtype in a typed array). */
export interface JsonTensor {
  shape: number[];
  data: Array<number | boolean | string> | Float32Array | Int32Array;
}

export type PredictFormat = 'row' | 'columnar';

const MAX_ERROR_JSON = 256;

function writable(v: BodyValue): WritableJson {
  if (v instanceof DenseNumbers) return new RawJson(v.preview(MAX_ERROR_JSON));
  if (Array.isArray(v)) return v.map(writable);
  if (typeof v === 'object' && v !== null) {
    const out: { [key: string]: WritableJson } = {};
    for (const [k, x] of Object.entries(v)) {
      if (k === '__proto__') Object.defineProperty(out, k, { value: writable(x), enumerable: true, writable: true, configurable: true });
      else out[k] = writable(x);
    }
    return out;
  }
  return v;
}

/** JSON text of a value, for error messages (truncated like nobody wants a 10 MB error). */
export function jsonForError(v: BodyValue): string {
  const s = stringifyJson(writable(v)).replace(/\n\s*/g, ' ');
  return s.length > MAX_ERROR_JSON ? s.slice(0, MAX_ERROR_JSON) + '…' : s;
}

export function jsonTypeString(v: BodyValue): string {
  if (v === null) return 'Null';
  if (v === true) return 'True';
  if (v === false) return 'False';
  if (Array.isArray(v) || v instanceof DenseNumbers) return 'Array';
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

function isPlainObject(v: BodyValue): v is { [key: string]: BodyValue } {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof DenseNumbers);
}

export function isBase64Object(v: BodyValue): v is { b64: string } {
  return isPlainObject(v) && Object.keys(v).length === 1 && typeof (v as { b64?: unknown }).b64 === 'string';
}

/** Decodes `{"b64": "…"}` (standard or URL-safe alphabet) to a string (bytes read as UTF-8). */
export function decodeBase64Object(v: BodyValue): string {
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
export function leafValue(v: BodyValue, tfDtype: string): number | boolean | string {
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
      if (isPlainObject(v)) return decodeBase64Object(v);
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
function denseShape(v: BodyValue): number[] {
  const shape: number[] = [];
  let cur = v;
  while (Array.isArray(cur)) {
    shape.push(cur.length);
    if (cur.length === 0) break;
    cur = cur[0]!;
  }
  if (cur instanceof DenseNumbers) shape.push(...cur.shape);
  return shape;
}

/** Where values of one tensor go: a typed array for a numeric dtype, else plain values. */
interface Sink {
  add(v: BodyValue): void;
  addBlock(block: DenseNumbers): void;
}

/**
 * FillTensorProto for a dense block at `level`: the first mismatch a depth-first walk of its nested
 * lists would meet against `shape`, with FillTensorProto's messages; then its values.
 */
function fillBlock(block: DenseNumbers, level: number, shape: readonly number[], sink: Sink): void {
  const rank = shape.length;
  for (let k = 0; k < block.shape.length; k++) {
    const at = level + k;
    if (at >= rank) throw invalid(`Encountered list at unexpected level: ${at} expected < ${rank}`);
    if (block.shape[k] !== shape[at]) {
      throw invalid(`Encountered list at unexpected size: ${block.shape[k]} at level: ${at} expected size: ${shape[at]}`);
    }
  }
  const leafLevel = level + block.shape.length;
  if (leafLevel !== rank) {
    throw invalid(`JSON Value: ${jsonForError(block.first())} found at incorrect level: ${leafLevel + 1} in the JSON DOM. Expected at level: ${rank}`);
  }
  sink.addBlock(block);
}

/** FillTensorProto: flattens `v` checking every list against `shape`. */
function fill(v: BodyValue, level: number, shape: readonly number[], tfDtype: string, sink: Sink): void {
  const rank = shape.length;
  if (v instanceof DenseNumbers) {
    fillBlock(v, level, shape, sink);
    return;
  }
  if (!Array.isArray(v)) {
    if (level !== rank) {
      throw invalid(`JSON Value: ${jsonForError(v)} found at incorrect level: ${level + 1} in the JSON DOM. Expected at level: ${rank}`);
    }
    if (isPlainObject(v) && tfDtype !== 'DT_STRING' && tfDtype !== 'DT_INVALID') {
      throw invalid(`JSON Value: ${jsonForError(v)} Type: Object is not of expected type: ${dataTypeString(tfDtype)}`);
    }
    sink.add(v);
    return;
  }
  if (level >= rank) throw invalid(`Encountered list at unexpected level: ${level} expected < ${rank}`);
  if (v.length !== shape[level]) {
    throw invalid(`Encountered list at unexpected size: ${v.length} at level: ${level} expected size: ${shape[level]}`);
  }
  for (const x of v) fill(x, level + 1, shape, tfDtype, sink);
}

function countOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** A sink writing values of `tfDtype` into `data` from `offset`. */
function sinkInto(tfDtype: string, data: JsonTensor['data'], offset: number): Sink {
  let i = offset;
  return {
    add(v) {
      const x = leafValue(v, tfDtype);
      if (Array.isArray(data)) data[i++] = x;
      else writeNumber(x as number, tfDtype, data, i++); // a typed sink is only made for numeric dtypes, whose leaves leafValue checked are numbers
    },
    addBlock(block) {
      if (Array.isArray(data) || !isTypedDtype(tfDtype)) {
        block.forEach((x) => {
          (data as unknown[])[i++] = leafValue(x, tfDtype); // a plain array (a non-numeric dtype: leafValue refuses the numbers)
        });
      } else {
        writeBlock(block, tfDtype, data, i);
        i += block.count;
      }
    },
  };
}

/** One JSON value (scalar, nested list or b64 object) as a dense tensor of the given dtype. */
export function jsonToTensor(v: BodyValue, tfDtype: string): JsonTensor {
  const shape = denseShape(v);
  const data = allocateValues(tfDtype, countOf(shape));
  fill(v, 0, shape, tfDtype, sinkInto(tfDtype, data, 0));
  return { shape, data };
}

/**
 * FillPredictRequestFromJson: reads `instances` (row format) or `inputs` (columnar) against the
 * signature's inputs. `body` must already be an object whose signature_name was checked.
 */
export function predictInputsFromJson(
  body: { [key: string]: BodyValue },
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
    if (instances instanceof DenseNumbers) return { format: 'row', tensors: fromDenseInstances(instances, inputs) };
    if (!Array.isArray(instances)) throw invalid(`JSON Value: ${jsonForError(body)} Excepting 'instances' to be an list/array`);
    if (instances.length === 0) throw invalid(`JSON Value: ${jsonForError(body)} No values in 'instances' array`);
    return { format: 'row', tensors: fromInstances(instances, inputs) };
  }
  if (hasInputs) return { format: 'columnar', tensors: fromInputs(body.inputs!, inputs) };
  throw invalid("Missing 'inputs' or 'instances' key");
}

function isElementObject(v: BodyValue): v is { [key: string]: BodyValue } {
  return isPlainObject(v) && !isBase64Object(v);
}

/** `instances` that is one regular list of numbers: one input, every instance of the same shape. */
function fromDenseInstances(instances: DenseNumbers, inputs: readonly SignatureTensor[]): Record<string, JsonTensor> {
  if (inputs.length > 1) {
    throw invalid('instances is a plain list, but expecting list of objects as multiple input tensors required as per tensorinfo_map');
  }
  // inputs is non-empty (checked by predictInputsFromJson); a dense block has rank >= 1.
  const spec = inputs[0]!;
  // (see above)
  const perInstance = instances.count / instances.shape[0]!;
  try {
    return { [spec.key]: jsonToTensor(instances, spec.tfDtype) };
  } catch (e) {
    const leaf = (e as { leafIndex?: number }).leafIndex ?? 0; // a LeafError says which value; others are about the first
    throw invalid(`Failed to process element: ${Math.floor(leaf / perInstance)} of 'instances' list. Error: INVALID_ARGUMENT: ${(e as Error).message}`);
  }
}

function fromInstances(instances: BodyValue[], inputs: readonly SignatureTensor[]): Record<string, JsonTensor> {
  const first = instances[0]!;
  if (!isPlainObject(first) && inputs.length > 1) {
    throw invalid('instances is a plain list, but expecting list of objects as multiple input tensors required as per tensorinfo_map');
  }
  const byKey = new Map(inputs.map((i) => [i.key, i]));
  const named = isElementObject(first);
  // AddInstanceItem: every item of one input must have the same size and shape; the first item's
  // shape sizes the whole tensor, filled item by item.
  const acc = new Map<string, { shape: number[]; per: number; data: JsonTensor['data']; n: number }>();
  const add = (item: BodyValue, key: string) => {
    const spec = byKey.get(key);
    if (!spec) throw invalid(`JSON object: does not have named input: ${key}`);
    const shape = denseShape(item);
    let seen = acc.get(key);
    if (seen) {
      const size = countOf(shape);
      if (size !== seen.per) {
        // TF Serving fills the item before comparing: a list that is not dense fails first.
        jsonToTensor(item, spec.tfDtype);
        throw invalid(`Expecting tensor size: ${seen.per} but got: ${size}`);
      }
      if (seen.shape.length !== shape.length || seen.shape.some((d, i) => d !== shape[i])) {
        jsonToTensor(item, spec.tfDtype);
        throw invalid(`Expecting shape [${seen.shape.join(',')}] but got: [${shape.join(',')}]`);
      }
    } else {
      const per = countOf(shape);
      seen = { shape, per, data: allocateValues(spec.tfDtype, per * Math.min(instances.length, 64)), n: 0 };
      acc.set(key, seen);
    }
    seen.data = ensureLength(seen.data, (seen.n + 1) * seen.per, seen.per * instances.length);
    fill(item, 0, shape, spec.tfDtype, sinkInto(spec.tfDtype, seen.data, seen.n * seen.per));
    seen.n++;
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
  for (const [key, t] of acc) {
    const data = Array.isArray(t.data) ? t.data : t.data.length === t.n * t.per ? t.data : t.data.slice(0, t.n * t.per);
    out[key] = { shape: [instances.length, ...t.shape], data };
  }
  return out;
}

/** `data` with room for `need` values (typed arrays grow by doubling, up to `most`). */
function ensureLength(data: JsonTensor['data'], need: number, most: number): JsonTensor['data'] {
  if (Array.isArray(data) || data.length >= need) return data;
  // The same typed array class, bigger.
  const bigger = new (data.constructor as new (n: number) => TypedValues)(Math.min(most, Math.max(need, data.length * 2)));
  bigger.set(data);
  return bigger;
}

function fromInputs(value: BodyValue, inputs: readonly SignatureTensor[]): Record<string, JsonTensor> {
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

/** Text built from small pieces joined into flat strings every 8192 pieces (no cons-string per value kept alive). */
class TextBuilder {
  private parts: string[] = [];
  private pieces: string[] = [];
  /** Characters pushed since the last `take`. */
  length = 0;
  push(s: string): void {
    this.pieces.push(s);
    this.length += s.length;
    if (this.pieces.length >= 8192) {
      this.parts.push(this.pieces.join(''));
      this.pieces = [];
    }
  }
  /** The text pushed since the last `take`, and a fresh start. */
  take(): string {
    this.parts.push(this.pieces.join(''));
    const text = this.parts.join('');
    this.parts = [];
    this.pieces = [];
    this.length = 0;
    return text;
  }
}

/** The answer is handed on in pieces of about this many characters. */
export const RESPONSE_CHUNK_CHARS = 64 * 1024;
/** A sub-tensor of at most this many values is written in one go (no generator per value). */
const FLAT_VALUES = 4096;

const pad = (depth: number) => '    '.repeat(depth);

/** One output value as TF Serving writes it, at `depth` of stringifyJson's layout. */
function writeLeaf(t: TensorOutput, i: number, asBytes: boolean, depth: number, out: TextBuilder): void {
  switch (t.dtype) {
    case 'float32':
      out.push(formatDecimal((t.data as Float32Array)[i]!));
      return;
    case 'int32':
      out.push(String((t.data as Int32Array)[i]!));
      return;
    case 'bool':
      out.push((t.data as Uint8Array)[i] !== 0 ? 'true' : 'false');
      return;
    case 'string': {
      const s = (t.data as string[])[i]!;
      out.push(asBytes ? `{\n${pad(depth + 1)}"b64": ${JSON.stringify(encodeBase64(s))}\n${pad(depth)}}` : JSON.stringify(s));
      return;
    }
  }
}

/** AddTensorValues: values from `offset` nested by `shape[dim:]`, written as stringifyJson would. */
function writeNested(t: TensorOutput, dim: number, offset: { i: number }, asBytes: boolean, depth: number, out: TextBuilder): void {
  if (dim >= t.shape.length) {
    writeLeaf(t, offset.i++, asBytes, depth, out);
    return;
  }
  out.push('[');
  for (let k = 0; k < t.shape[dim]!; k++) {
    if (k) out.push(', ');
    writeNested(t, dim + 1, offset, asBytes, depth + 1, out);
  }
  out.push(']');
}

/** MakeJsonFromTensors: `{"predictions": …}` (row) or `{"outputs": …}` (columnar), as JSON text. */
export function predictResponseJson(outputs: Record<string, TensorOutput>, format: PredictFormat): string {
  return [...predictResponseChunks(outputs, format)].join('');
}

/**
 * MakeJsonFromTensors as text chunks of about RESPONSE_CHUNK_CHARS, written from the outputs' typed
 * arrays as they are taken: the whole answer never exists as one string, so an answer as big as
 * its request costs a chunk, not the answer twice over. The checks (no outputs, batch sizes that
 * differ) run at the call, before the first chunk.
 */
export function predictResponseChunks(outputs: Record<string, TensorOutput>, format: PredictFormat): Iterable<string> {
  const entries = Object.entries(outputs);
  if (entries.length === 0) throw invalid('Cannot convert empty tensor map to JSON');
  let batch = -1;
  if (format === 'row') {
    for (const [key, t] of entries) {
      if (t.shape.length === 0) throw invalid(`Tensor name: ${key} has no shape information `);
      const b = t.shape[0]!; // a shape of rank >= 1, checked above
      if (batch >= 0 && b !== batch) throw invalid(`Tensor name: ${key} has inconsistent batch size: ${b} expecting: ${batch}`);
      batch = b;
    }
  }
  return responseChunks(entries, format, batch);
}

function* responseChunks(entries: Array<[string, TensorOutput]>, format: PredictFormat, batch: number): Generator<string> {
  const out = new TextBuilder();
  const isBytes = (key: string, t: TensorOutput) => t.dtype === 'string' && key.endsWith('_bytes');
  const offsets = new Map(entries.map(([k]) => [k, { i: 0 }]));
  const one = (key: string, t: TensorOutput, dim: number, depth: number) => nestedChunks(t, dim, offsets.get(key) ?? { i: 0 }, isBytes(key, t), depth, out);
  /** Several outputs as one object at `depth`, each written from `dim`. */
  function* object(dim: number, depth: number): Generator<string> {
    out.push('{');
    for (const [n, [k, t]] of entries.entries()) {
      out.push(`${n ? ',\n' : '\n'}${pad(depth + 1)}${JSON.stringify(k)}: `);
      yield* one(k, t, dim, depth + 1);
    }
    out.push(`\n${pad(depth)}}`);
  }
  const [first] = entries;
  if (format === 'columnar') {
    out.push(`{\n${pad(1)}"outputs": `);
    if (entries.length > 1 || !first) yield* object(0, 1);
    else yield* one(first[0], first[1], 0, 1);
    out.push('\n}');
  } else {
    out.push(`{\n${pad(1)}"predictions": [`);
    for (let item = 0; item < batch; item++) {
      if (item) out.push(', ');
      if (entries.length > 1 || !first) yield* object(1, 2);
      else yield* one(first[0], first[1], 1, 2);
    }
    out.push(']\n}');
  }
  yield out.take();
}

/** writeNested, handing on a chunk each time RESPONSE_CHUNK_CHARS are written; small sub-tensors are written flat. */
function* nestedChunks(t: TensorOutput, dim: number, offset: { i: number }, asBytes: boolean, depth: number, out: TextBuilder): Generator<string> {
  let values = 1;
  for (let d = dim; d < t.shape.length; d++) values *= t.shape[d]!; // d < rank
  if (values <= FLAT_VALUES) {
    writeNested(t, dim, offset, asBytes, depth, out);
    if (out.length >= RESPONSE_CHUNK_CHARS) yield out.take();
    return;
  }
  out.push('[');
  for (let k = 0; k < t.shape[dim]!; k++) {
    if (k) out.push(', ');
    yield* nestedChunks(t, dim + 1, offset, asBytes, depth + 1, out);
  }
  out.push(']');
}
