import { ServingError } from '../core/status.js';
import type { TensorDType } from './dtypes.js';
import { isTensorDType } from './dtypes.js';
import type { GraphTensorInfo, SignatureSpec, TensorSpec } from './signature.js';
import type { NestedArray, TensorData } from './tensor.js';
import { isTfTensor, shapeToString, sizeOf, tensorInputOf } from './tensor.js';

/** An input checked against its signature and the graph, ready to become a tensor. */
export interface ValidatedInput {
  readonly spec: TensorSpec;
  readonly dtype: TensorDType;
  readonly shape: number[];
  readonly values: Float32Array | Int32Array | Uint8Array | string[];
}

/**
 * Checks a request's inputs before they reach a backend: unknown or missing names, dtype, rank, fixed
 * dimensions and size. The graph's placeholders are what TF.js enforces, so their shape and dtype win
 * over a signature that says otherwise (real signatures are sometimes wrong). Every error is
 * INVALID_ARGUMENT and names the input, what was given and what was expected.
 */
export function validateInputs(
  where: string,
  signature: SignatureSpec,
  graphInputs: ReadonlyMap<string, GraphTensorInfo>,
  inputs: unknown,
): ValidatedInput[] {
  const expected = signature.inputs.map((s) => s.key);
  const expectedList = expected.length ? expected.join(', ') : '(none)';
  const only = signature.inputs.length === 1 ? signature.inputs[0] : undefined;
  if (only && isBareValue(inputs, only.key)) inputs = { [only.key]: inputs };
  if (typeof inputs !== 'object' || inputs === null || isBareValue(inputs, undefined)) {
    const bare = signature.inputs.length > 1 ? `; a value alone is taken only for a signature with one input, and ${JSON.stringify(signature.name)} has ${signature.inputs.length}` : '';
    throw new ServingError('INVALID_ARGUMENT', `${where}: inputs must be an object mapping input names (${expectedList}) to tensors, got ${describe(inputs)}${bare}`);
  }
  // A plain object (not an array, typed array, tensor or {shape, data}): checked key by key below.
  const given = inputs as Record<string, unknown>;
  for (const key of Object.keys(given)) {
    if (!expected.includes(key)) {
      throw new ServingError('INVALID_ARGUMENT', `${where}: input ${JSON.stringify(key)} is not an input of signature ${JSON.stringify(signature.name)}; expected inputs: ${expectedList}`);
    }
  }
  return signature.inputs.map((spec) => {
    if (!(spec.key in given) || given[spec.key] === undefined) {
      throw new ServingError('INVALID_ARGUMENT', `${where}: input ${JSON.stringify(spec.key)} is missing; signature ${JSON.stringify(signature.name)} expects inputs: ${expectedList}`);
    }
    const graph = graphInputs.get(spec.name.replace(/:\d+$/, ''));
    return validateOne(where, spec, graph, given[spec.key]);
  });
}

function validateOne(where: string, spec: TensorSpec, graph: GraphTensorInfo | undefined, value: unknown): ValidatedInput {
  const name = `input ${JSON.stringify(spec.key)}`;
  const graphDtype = graph?.dtype && isTensorDType(graph.dtype) ? graph.dtype : undefined;
  const expectedDtype = graphDtype ?? spec.dtype;
  const expectedShape = graph ? graph.shape : spec.shape;
  const shapeSource = graph ? "the graph's placeholder" : 'the signature';
  // Only an error message needs it: not computed for a request that passes.
  const signatureNote = (): string =>
    graph && spec.shape && expectedShape && shapeToString(spec.shape) !== shapeToString(expectedShape)
      ? ` (the signature declares ${shapeToString(spec.shape)}, but the graph is what runs)`
      : '';

  const { dtype: givenDtype, shape, data } = normalize(where, name, value, expectedDtype);
  if (givenDtype !== undefined && expectedDtype !== undefined && givenDtype !== expectedDtype) {
    throw new ServingError('INVALID_ARGUMENT', `${where}: ${name} has dtype ${givenDtype}, but ${shapeSource} expects ${expectedDtype}`);
  }
  const dtype = givenDtype ?? expectedDtype ?? inferDtype(data);
  for (const [i, d] of shape.entries()) {
    if (!Number.isInteger(d) || d < 0) {
      throw new ServingError('INVALID_ARGUMENT', `${where}: ${name} has an invalid shape ${JSON.stringify(shape)}: dimension ${i} must be a non-negative integer`);
    }
  }
  if (sizeOf(shape) !== data.length) {
    throw new ServingError('INVALID_ARGUMENT', `${where}: ${name} has shape ${shapeToString(shape)}, which holds ${sizeOf(shape)} values, but ${data.length} values were given`);
  }
  if (expectedShape !== undefined) {
    if (expectedShape.length !== shape.length) {
      throw new ServingError('INVALID_ARGUMENT', `${where}: ${name} has rank ${shape.length} (shape ${shapeToString(shape)}), but ${shapeSource} expects rank ${expectedShape.length} (shape ${shapeToString(expectedShape)})${signatureNote()}`);
    }
    for (const [i, d] of expectedShape.entries()) {
      if (d >= 0 && shape[i] !== d) {
        throw new ServingError('INVALID_ARGUMENT', `${where}: ${name} has shape ${shapeToString(shape)}, but ${shapeSource} expects ${shapeToString(expectedShape)}: dimension ${i} must be ${d}${signatureNote()}`);
      }
    }
  }
  return { spec, dtype, shape, values: toValues(where, name, data, dtype) };
}

interface Normalized {
  dtype: TensorDType | undefined;
  shape: number[];
  data: TensorData;
}

/**
 * True when `inputs` is one input's value rather than a map of them: a scalar, nested array, typed
 * array, `tf.Tensor`, or `{shape, data}` (unless the one input is itself keyed `shape` or `data`).
 */
function isBareValue(inputs: unknown, onlyKey: string | undefined): boolean {
  if (typeof inputs === 'number' || typeof inputs === 'boolean' || typeof inputs === 'string') return true;
  if (typeof inputs !== 'object' || inputs === null) return false;
  if (Array.isArray(inputs) || ArrayBuffer.isView(inputs) || isTfTensor(inputs)) return true;
  return 'shape' in inputs && 'data' in inputs && (onlyKey === undefined || !(onlyKey in inputs));
}

function normalize(where: string, name: string, value: unknown, expected: TensorDType | undefined): Normalized {
  if (isTfTensor(value)) {
    if (!isTensorDType(value.dtype)) {
      throw new ServingError('INVALID_ARGUMENT', `${where}: ${name} is a tf.Tensor of dtype ${value.dtype}; expected one of float32, int32, bool, string`);
    }
    let input;
    try {
      input = tensorInputOf(value);
    } catch (e) {
      throw ServingError.from(e, 'INVALID_ARGUMENT', `${where}: ${name} is a tf.Tensor that cannot be read (disposed?): `);
    }
    value = input;
  }
  if (isTypedOrScalar(value) || Array.isArray(value)) {
    const shape: number[] = [];
    const flat: Array<number | boolean | string> = [];
    flatten(where, name, value as NestedArray, 0, shape, flat);
    return { dtype: undefined, shape, data: flat as TensorData };
  }
  if (ArrayBuffer.isView(value)) {
    const data = value as unknown as TensorData;
    return { dtype: typedDtype(data, expected), shape: [data.length], data };
  }
  if (typeof value === 'object' && value !== null && 'shape' in value && 'data' in value) {
    const t = value as { dtype?: unknown; shape: unknown; data: unknown };
    if (t.dtype !== undefined && !isTensorDType(t.dtype)) {
      throw new ServingError('INVALID_ARGUMENT', `${where}: ${name} has dtype ${JSON.stringify(t.dtype)}; expected one of float32, int32, bool, string`);
    }
    if (!Array.isArray(t.shape)) {
      throw new ServingError('INVALID_ARGUMENT', `${where}: ${name}.shape must be an array of dimensions, got ${describe(t.shape)}`);
    }
    if (!Array.isArray(t.data) && !(ArrayBuffer.isView(t.data) && !(t.data instanceof DataView))) {
      throw new ServingError('INVALID_ARGUMENT', `${where}: ${name}.data must be an array or a typed array, got ${describe(t.data)}`);
    }
    const data = t.data as TensorData;
    const fromTyped = ArrayBuffer.isView(data) ? typedDtype(data, (t.dtype as TensorDType | undefined) ?? expected) : undefined;
    if (t.dtype !== undefined && fromTyped !== undefined && fromTyped !== t.dtype) {
      throw new ServingError('INVALID_ARGUMENT', `${where}: ${name} says dtype ${t.dtype}, but its data is a ${data.constructor.name}`);
    }
    return { dtype: (t.dtype as TensorDType | undefined) ?? fromTyped, shape: t.shape as number[], data };
  }
  throw new ServingError('INVALID_ARGUMENT', `${where}: ${name} must be a nested array or {dtype?, shape, data}, got ${describe(value)}`);
}

function isTypedOrScalar(v: unknown): boolean {
  return typeof v === 'number' || typeof v === 'boolean' || typeof v === 'string';
}

function typedDtype(data: TensorData, expected: TensorDType | undefined): TensorDType | undefined {
  if (data instanceof Float32Array || data instanceof Float64Array) return 'float32';
  if (data instanceof Int32Array || data instanceof Int16Array || data instanceof Int8Array || data instanceof Uint16Array) return 'int32';
  if (data instanceof Uint8Array) return expected === 'bool' ? 'bool' : 'int32';
  return undefined;
}

function flatten(where: string, name: string, v: NestedArray, depth: number, shape: number[], out: Array<number | boolean | string>): void {
  if (Array.isArray(v)) {
    if (shape.length === depth) shape.push(v.length);
    else if (shape[depth] !== v.length) {
      throw new ServingError('INVALID_ARGUMENT', `${where}: ${name} is a ragged nested array: dimension ${depth} has lengths ${shape[depth]} and ${v.length}; all rows must have the same length`);
    }
    for (const x of v) flatten(where, name, x, depth + 1, shape, out);
    return;
  }
  if (shape.length > depth) {
    throw new ServingError('INVALID_ARGUMENT', `${where}: ${name} is a ragged nested array: a scalar stands where a list of ${shape[depth]} was expected`);
  }
  if (!isTypedOrScalar(v)) {
    throw new ServingError('INVALID_ARGUMENT', `${where}: ${name} contains ${describe(v)}; expected numbers, booleans or strings`);
  }
  out.push(v as number | boolean | string);
}

function inferDtype(data: TensorData): TensorDType {
  const first = (data as ArrayLike<unknown>)[0];
  if (typeof first === 'string') return 'string';
  if (typeof first === 'boolean') return 'bool';
  return 'float32';
}

function toValues(where: string, name: string, data: TensorData, dtype: TensorDType): ValidatedInput['values'] {
  const n = data.length;
  const arr = data as ArrayLike<unknown>;
  const bad = (i: number, what: string) =>
    new ServingError('INVALID_ARGUMENT', `${where}: ${name} value ${i} is ${describe(arr[i])}, but the input is ${dtype}: expected ${what}`);
  switch (dtype) {
    case 'float32': {
      if (data instanceof Float32Array) return data;
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) {
        const x = arr[i];
        if (typeof x !== 'number') throw bad(i, 'a number');
        out[i] = x; // cast to float32, like TF Serving casts JSON numbers to the tensor dtype
      }
      return out;
    }
    case 'int32': {
      if (data instanceof Int32Array) return data;
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) {
        const x = arr[i];
        if (typeof x !== 'number' || !Number.isInteger(x)) throw bad(i, 'an integer');
        if (x > 2147483647 || x < -2147483648) throw bad(i, 'an integer that fits in int32');
        out[i] = x;
      }
      return out;
    }
    case 'bool': {
      const out = new Uint8Array(n);
      for (let i = 0; i < n; i++) {
        const x = arr[i];
        if (typeof x === 'boolean') out[i] = x ? 1 : 0;
        else if (data instanceof Uint8Array && (x === 0 || x === 1)) out[i] = x;
        else throw bad(i, 'true or false');
      }
      return out;
    }
    case 'string': {
      const out: string[] = new Array(n);
      for (let i = 0; i < n; i++) {
        const x = arr[i];
        if (typeof x !== 'string') throw bad(i, 'a string');
        out[i] = x;
      }
      return out;
    }
  }
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return `an array of length ${v.length}`;
  if (ArrayBuffer.isView(v)) return `a ${v.constructor.name}`;
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v);
  if (typeof v === 'object') return 'an object';
  return `${typeof v} ${String(v)}`;
}
