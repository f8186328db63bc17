// Row-major flat arrays: slicing rows, concatenating along dim 0, padding to a shape.
import type { TensorDType } from '../runtime/dtypes.js';

/** The flat values of a tensor as the runtime holds them. */
export type FlatValues = Float32Array | Int32Array | Uint8Array | string[];

export function rowSizeOf(shape: readonly number[]): number {
  let n = 1;
  for (let i = 1; i < shape.length; i++) n *= shape[i]!;
  return n;
}

/** An empty array of `length` values of the kind `dtype` uses. */
export function allocate(dtype: TensorDType, length: number, like?: FlatValues): FlatValues {
  if (like !== undefined) {
    if (Array.isArray(like)) return new Array<string>(length).fill('');
    return new (like.constructor as new (n: number) => Float32Array | Int32Array | Uint8Array)(length);
  }
  switch (dtype) {
    case 'float32':
      return new Float32Array(length);
    case 'int32':
      return new Int32Array(length);
    case 'bool':
      return new Uint8Array(length);
    case 'string':
      return new Array<string>(length).fill('');
  }
}

/** Rows `[from, to)` of `values` whose rows hold `rowSize` values each; a view where the kind allows. */
export function rows(values: FlatValues, rowSize: number, from: number, to: number): FlatValues {
  if (Array.isArray(values)) return values.slice(from * rowSize, to * rowSize);
  return (values as Float32Array).subarray(from * rowSize, to * rowSize) as FlatValues;
}

/** Rows `[from, to)` as a fresh copy (outputs handed to a caller must not share a buffer with its batch-mates). */
export function copyRows(values: FlatValues, rowSize: number, from: number, to: number): FlatValues {
  return values.slice(from * rowSize, to * rowSize) as FlatValues;
}

/** Concatenates flat arrays of one kind. */
export function concatValues(parts: readonly FlatValues[], dtype: TensorDType): FlatValues {
  if (parts.length === 1) return parts[0]!;
  const total = parts.reduce((s, p) => s + p.length, 0);
  const out = allocate(dtype, total, parts[0]);
  let at = 0;
  for (const p of parts) {
    if (Array.isArray(out)) {
      for (let i = 0; i < p.length; i++) out[at + i] = (p as string[])[i]!;
    } else {
      (out as Float32Array).set(p as Float32Array, at);
    }
    at += p.length;
  }
  return out;
}

/**
 * Pads a row-major tensor of `shape` to `target` (same rank, every dim ≥ the given one) with `fill`,
 * keeping each value at its index: TF Serving's pad_variable_length_inputs.
 */
export function padTo(values: FlatValues, shape: readonly number[], target: readonly number[], fill: string | number, dtype: TensorDType): FlatValues {
  if (shape.every((d, i) => d === target[i])) return values;
  let total = 1;
  for (const d of target) total *= d;
  const out = allocate(dtype, total, values);
  (out as { fill(v: unknown): unknown }).fill(fill);
  const rank = shape.length;
  if (rank === 0) return values;
  const srcStrides = strides(shape);
  const dstStrides = strides(target);
  const last = shape[rank - 1]!;
  const copyRow = (src: number, dst: number) => {
    if (Array.isArray(out)) for (let i = 0; i < last; i++) out[dst + i] = (values as string[])[src + i]!;
    else (out as Float32Array).set((values as Float32Array).subarray(src, src + last), dst);
  };
  const walk = (dim: number, src: number, dst: number) => {
    if (dim === rank - 1) {
      copyRow(src, dst);
      return;
    }
    for (let i = 0; i < shape[dim]!; i++) walk(dim + 1, src + i * srcStrides[dim]!, dst + i * dstStrides[dim]!);
  };
  walk(0, 0, 0);
  return out;
}

function strides(shape: readonly number[]): number[] {
  const out = new Array<number>(shape.length).fill(1);
  for (let i = shape.length - 2; i >= 0; i--) out[i] = out[i + 1]! * shape[i + 1]!;
  return out;
}
