// JSON numbers into the typed array of an input's dtype, checked like AddValueToTensor: float types
// to Float32Array (TF.js computes them as float32), integer types to Int32Array.
import { ServingError } from '../core/status.js';
import type { DenseNumbers } from './dense-numbers.js';
import { formatDecimal } from './json.js';

export type TypedValues = Float32Array | Int32Array;

const FLOAT = new Set(['DT_FLOAT', 'DT_DOUBLE', 'DT_HALF', 'DT_BFLOAT16']);
/** Integer types TF Serving checks with rapidjson's IsInt (fit in int32). */
const INT32 = new Set(['DT_INT32', 'DT_INT16', 'DT_INT8', 'DT_UINT8', 'DT_UINT16']);
/** Integer types wider than what TF.js computes (int32). */
const WIDE = new Set(['DT_INT64', 'DT_UINT32', 'DT_UINT64']);

/** Whether `tfDtype`'s values go into a typed array. */
export function isTypedDtype(tfDtype: string): boolean {
  return FLOAT.has(tfDtype) || INT32.has(tfDtype) || WIDE.has(tfDtype);
}

/** An array for `n` values of `tfDtype`: typed for numbers, plain otherwise. */
export function allocateValues(tfDtype: string, n: number): TypedValues | Array<number | boolean | string> {
  if (FLOAT.has(tfDtype)) return new Float32Array(n);
  if (INT32.has(tfDtype) || WIDE.has(tfDtype)) return new Int32Array(n);
  return new Array(n);
}

/** A value error that knows which leaf (row-major) it is about. */
export class LeafError extends ServingError {
  constructor(
    message: string,
    readonly leafIndex: number,
  ) {
    super('INVALID_ARGUMENT', message);
  }
}

function show(v: number): string {
  return Number.isInteger(v) ? String(v) : formatDecimal(v, false);
}

function leafError(v: number, tfDtype: string, index: number): LeafError {
  const type = tfDtype.replace(/^DT_/, '').toLowerCase();
  if (WIDE.has(tfDtype) && Number.isInteger(v)) {
    return new LeafError(`JSON Value: ${show(v)} does not fit in ${type} as TF.js computes it (int32: -2147483648 to 2147483647)`, index);
  }
  return new LeafError(`JSON Value: ${show(v)} Type: Number is not of expected type: ${type}`, index);
}

/** Writes one number at `into[offset]`, checked against `tfDtype`. */
export function writeNumber(v: number, tfDtype: string, into: TypedValues, offset: number, leafIndex = offset): void {
  if (into instanceof Float32Array) {
    into[offset] = v;
    return;
  }
  if (!Number.isInteger(v) || v > 2147483647 || v < -2147483648) throw leafError(v, tfDtype, leafIndex);
  into[offset] = v;
}

/** Writes a dense block's values from `into[offset]`; a bad value throws a LeafError. */
export function writeBlock(block: DenseNumbers, tfDtype: string, into: TypedValues, offset: number): void {
  block.forEach((v, k) => writeNumber(v, tfDtype, into, offset + k, k));
}
