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

/** An input value: an explicit tensor, or a nested array. */
export type InputValue = TensorInput | NestedArray;

/** An output tensor. Numeric data is a typed array; bool is a Uint8Array of 0/1; strings are strings. */
export interface TensorOutput {
  readonly dtype: TensorDType;
  readonly shape: number[];
  readonly data: Float32Array | Int32Array | Uint8Array | string[];
}

export function shapeToString(shape: readonly number[] | undefined): string {
  return shape === undefined ? '<unknown rank>' : `[${shape.join(',')}]`;
}

export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}
