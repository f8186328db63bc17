import type { TensorDType } from './dtypes.js';

/** The flat values of a tensor, row-major. */
export type TensorData = Float32Array | Int32Array | Uint8Array | readonly number[] | readonly boolean[] | readonly string[];

/** A tensor given by its shape and flat data (dtype inferred from the signature when omitted). */
export interface TensorInput {
  readonly dtype?: TensorDType;
  readonly shape: readonly number[];
  readonly data: TensorData;
}

/** A nested JS array (or a scalar), like TF Serving's JSON tensors: `[[1, 2], [3, 4]]`. */
export type NestedArray = number | boolean | string | readonly NestedArray[];

/** A typed array given as an input: a vector of its length. */
export type TypedArrayInput = Float32Array | Float64Array | Int32Array | Int16Array | Int8Array | Uint16Array | Uint8Array;

/**
 * What a `tf.Tensor` looks like from outside TF.js: recognized by its shape, dtype and `dataSync`, so
 * the page need not load TF.js (nor this library import it) to accept one.
 */
export interface TfTensorLike {
  readonly shape: readonly number[];
  readonly dtype: string;
  dataSync(): ArrayLike<number | string | boolean> | ArrayLike<unknown>;
}

/** An input value: an explicit tensor, a nested array, a typed array or a `tf.Tensor`. */
export type InputValue = TensorInput | NestedArray | TypedArrayInput | TfTensorLike;

/** True for a `tf.Tensor` (of any TF.js copy), told by its structure. */
export function isTfTensor(v: unknown): v is TfTensorLike {
  if (typeof v !== 'object' || v === null) return false;
  const t = v as { shape?: unknown; dtype?: unknown; dataSync?: unknown; isDisposed?: unknown }; // fields checked one by one here
  return Array.isArray(t.shape) && typeof t.dtype === 'string' && typeof t.dataSync === 'function';
}

/**
 * A `tf.Tensor`'s data as a plain TensorInput, copied (TF.js may hand out its own backing array). Reads
 * it synchronously; a disposed tensor throws TF.js's own error.
 */
export function tensorInputOf(t: TfTensorLike): TensorInput {
  const values = t.dataSync();
  // A typed array (every kind has slice; Float32Array only names the method) is copied; strings are listed.
  const data = ArrayBuffer.isView(values) ? (values as unknown as Float32Array).slice() : Array.from(values);
  // dataSync gives a typed array of the tensor's dtype, or strings: the TensorData forms; validation checks the dtype.
  return { dtype: t.dtype as TensorInput['dtype'], shape: [...t.shape], data: data as TensorData };
}

/** The data an output of each dtype carries: numbers in a typed array, bool as 0/1 bytes, strings listed. */
export interface TensorDataByDType {
  float32: Float32Array;
  int32: Int32Array;
  bool: Uint8Array;
  string: string[];
}

/** An output tensor of one dtype `D`: its `data` is that dtype's array. */
export interface TypedTensorOutput<D extends TensorDType = TensorDType> {
  readonly dtype: D;
  readonly shape: number[];
  readonly data: TensorDataByDType[D];
}

/**
 * An output tensor: a union over the dtypes, so checking `dtype` narrows `data` —
 * `if (out.dtype === 'float32') out.data` is a `Float32Array`; `'string'` gives `string[]`.
 */
export type TensorOutput = { [D in TensorDType]: TypedTensorOutput<D> }[TensorDType];

/**
 * A TensorOutput from a dtype and the data read back for it (the caller guarantees they match, as
 * TF.js's `tensor.data()` does): the one place the union is built from loose parts.
 */
export function tensorOutput(dtype: TensorDType, shape: number[], data: TensorDataByDType[TensorDType]): TensorOutput {
  return { dtype, shape, data } as TensorOutput; // dtype and data come in pairs from TF.js; see the contract above
}

export function shapeToString(shape: readonly number[] | undefined): string {
  return shape === undefined ? '<unknown rank>' : `[${shape.join(',')}]`;
}

export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}
