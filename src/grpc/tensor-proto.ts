// tensorflow.TensorProto ⇄ tensors: every dtype the REST path takes (float, double, half, bfloat16,
// int8/16/32/64, uint8/16/32/64, bool, string), from the typed `*_val` fields or `tensor_content`
// (little-endian, as TF writes it), with TF's Tensor::FromProto rules; outputs written as TF Serving's
// Predict writes them (Tensor::AsProtoField: dtype, tensor_shape and the typed field).
import { ServingError } from '../core/status.js';
import type { TensorOutput } from '../runtime/tensor.js';

/** TensorProto as proto-loader gives it (PROTO_LOADER_OPTIONS) and takes it for responses. */
export interface TensorProtoMessage {
  dtype?: string;
  tensor_shape?: TensorShapeMessage | null;
  version_number?: number;
  tensor_content?: Uint8Array;
  half_val?: number[];
  float_val?: number[];
  double_val?: number[];
  int_val?: number[];
  string_val?: Uint8Array[];
  int64_val?: Array<string | number>;
  bool_val?: boolean[];
  uint32_val?: number[];
  uint64_val?: Array<string | number>;
  [other: string]: unknown;
}

export interface TensorShapeMessage {
  dim?: Array<{ size?: string | number; name?: string }>;
  unknown_rank?: boolean;
}

/** A tensor read from a TensorProto: its TF dtype, shape and row-major values. */
export interface DecodedTensor {
  readonly tfDtype: string;
  readonly shape: number[];
  readonly data: Float32Array | Int32Array | number[] | boolean[] | string[];
}

type ValField = 'half_val' | 'float_val' | 'double_val' | 'int_val' | 'string_val' | 'int64_val' | 'bool_val' | 'uint32_val' | 'uint64_val';

interface DtypeInfo {
  /** The typed field TF reads and writes for this dtype. */
  readonly field: ValField;
  /** Bytes per element in tensor_content (0: not allowed, strings). */
  readonly size: number;
}

const DTYPES: Record<string, DtypeInfo> = {
  DT_FLOAT: { field: 'float_val', size: 4 },
  DT_DOUBLE: { field: 'double_val', size: 8 },
  DT_HALF: { field: 'half_val', size: 2 },
  DT_BFLOAT16: { field: 'half_val', size: 2 },
  DT_INT32: { field: 'int_val', size: 4 },
  DT_INT16: { field: 'int_val', size: 2 },
  DT_INT8: { field: 'int_val', size: 1 },
  DT_UINT8: { field: 'int_val', size: 1 },
  DT_UINT16: { field: 'int_val', size: 2 },
  DT_UINT32: { field: 'uint32_val', size: 4 },
  DT_INT64: { field: 'int64_val', size: 8 },
  DT_UINT64: { field: 'uint64_val', size: 8 },
  DT_BOOL: { field: 'bool_val', size: 1 },
  DT_STRING: { field: 'string_val', size: 0 },
};

/** The TF dtypes a TensorProto may carry here. */
export const SUPPORTED_TENSOR_DTYPES: readonly string[] = Object.keys(DTYPES);

function invalid(message: string): ServingError {
  return new ServingError('INVALID_ARGUMENT', message);
}

/** TensorShapeProto → dims; INVALID_ARGUMENT for unknown rank or negative sizes. */
export function shapeFromProto(shape: TensorShapeMessage | null | undefined, what: string): number[] {
  if (!shape) return [];
  if (shape.unknown_rank) throw invalid(`${what}: a tensor's shape must be fully defined, got unknown rank`);
  return (shape.dim ?? []).map((d, i) => {
    const n = Number(d.size ?? 0);
    if (!Number.isSafeInteger(n) || n < 0) throw invalid(`${what}: dimension ${i} has size ${String(d.size)}; sizes must be non-negative`);
    return n;
  });
}

export function shapeToProto(shape: readonly number[]): TensorShapeMessage {
  return { dim: shape.map((size) => ({ size: String(size) })) };
}

/**
 * Reads a TensorProto like TF's Tensor::FromProto: `tensor_content` when set (its length must be
 * elements × dtype size), else the dtype's typed field, where fewer values than elements repeat the
 * last one and none give zeros. INVALID_ARGUMENT names `what` (e.g. `input "x"`).
 */
export function decodeTensorProto(proto: TensorProtoMessage, what: string): DecodedTensor {
  const tfDtype = proto.dtype ?? 'DT_INVALID';
  const info = DTYPES[tfDtype];
  if (!info) {
    throw invalid(`${what}: dtype ${tfDtype} is not supported; TensorProto dtypes served here: ${SUPPORTED_TENSOR_DTYPES.join(', ')}`);
  }
  const shape = shapeFromProto(proto.tensor_shape, what);
  const n = shape.reduce((a, b) => a * b, 1);
  const content = proto.tensor_content;
  if (content && content.length > 0) {
    if (info.size === 0) throw invalid(`${what}: DT_STRING tensors cannot use tensor_content; use string_val`);
    if (content.length !== n * info.size) {
      throw invalid(`${what}: tensor_content holds ${content.length} bytes, but shape [${shape.join(',')}] of ${tfDtype} needs ${n * info.size}`);
    }
    return { tfDtype, shape, data: fromContent(tfDtype, content, n) };
  }
  const values = (proto[info.field] ?? []) as unknown[];
  if (values.length > n) throw invalid(`${what}: ${info.field} holds ${values.length} values, but shape [${shape.join(',')}] holds ${n}`);
  return { tfDtype, shape, data: fromField(tfDtype, values, n) };
}

function fromContent(tfDtype: string, content: Uint8Array, n: number): DecodedTensor['data'] {
  // Copy into an aligned buffer: gRPC's Buffers are slices of larger ones.
  const bytes = new Uint8Array(content.length);
  bytes.set(content);
  const view = new DataView(bytes.buffer);
  switch (tfDtype) {
    case 'DT_FLOAT': {
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = view.getFloat32(i * 4, true);
      return out;
    }
    case 'DT_DOUBLE':
      return Array.from({ length: n }, (_, i) => view.getFloat64(i * 8, true));
    case 'DT_HALF':
      return Array.from({ length: n }, (_, i) => halfToFloat(view.getUint16(i * 2, true)));
    case 'DT_BFLOAT16':
      return Array.from({ length: n }, (_, i) => bfloat16ToFloat(view.getUint16(i * 2, true)));
    case 'DT_INT32': {
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) out[i] = view.getInt32(i * 4, true);
      return out;
    }
    case 'DT_INT16':
      return Array.from({ length: n }, (_, i) => view.getInt16(i * 2, true));
    case 'DT_INT8':
      return Array.from({ length: n }, (_, i) => view.getInt8(i));
    case 'DT_UINT8':
      return Array.from(bytes.subarray(0, n));
    case 'DT_UINT16':
      return Array.from({ length: n }, (_, i) => view.getUint16(i * 2, true));
    case 'DT_UINT32':
      return Array.from({ length: n }, (_, i) => view.getUint32(i * 4, true));
    case 'DT_INT64':
      return Array.from({ length: n }, (_, i) => Number(view.getBigInt64(i * 8, true)));
    case 'DT_UINT64':
      return Array.from({ length: n }, (_, i) => Number(view.getBigUint64(i * 8, true)));
    case 'DT_BOOL':
      return Array.from({ length: n }, (_, i) => bytes[i] !== 0);
    default:
      throw invalid(`tensor_content of ${tfDtype} is not supported`);
  }
}

/** Pads like FromProtoField: no values → zeros; fewer than n → the last value repeated. */
function padded<T>(values: readonly T[], n: number, zero: T): T[] {
  if (values.length === n) return [...values];
  const last = values.length === 0 ? zero : values[values.length - 1]!;
  return Array.from({ length: n }, (_, i) => (i < values.length ? values[i]! : last));
}

function fromField(tfDtype: string, values: unknown[], n: number): DecodedTensor['data'] {
  switch (tfDtype) {
    case 'DT_FLOAT':
      return Float32Array.from(padded(values as number[], n, 0));
    case 'DT_HALF':
      return padded(values as number[], n, 0).map((bits) => halfToFloat(bits & 0xffff));
    case 'DT_BFLOAT16':
      return padded(values as number[], n, 0).map((bits) => bfloat16ToFloat(bits & 0xffff));
    case 'DT_INT32':
      return Int32Array.from(padded(values as number[], n, 0));
    case 'DT_INT16':
      return padded(values as number[], n, 0).map((v) => (v << 16) >> 16);
    case 'DT_INT8':
      return padded(values as number[], n, 0).map((v) => (v << 24) >> 24);
    case 'DT_UINT8':
      return padded(values as number[], n, 0).map((v) => v & 0xff);
    case 'DT_UINT16':
      return padded(values as number[], n, 0).map((v) => v & 0xffff);
    case 'DT_INT64':
    case 'DT_UINT64':
      return padded(values as Array<string | number>, n, 0).map((v) => Number(v));
    case 'DT_BOOL':
      return padded(values as boolean[], n, false).map(Boolean);
    case 'DT_STRING':
      return padded(values as Uint8Array[], n, new Uint8Array()).map((b) => textDecoder.decode(b));
    default:
      return padded(values as number[], n, 0).map(Number);
  }
}

const textDecoder = new TextDecoder();
const textEncoder = new TextEncoder();

/**
 * An output tensor as TF Serving's Predict writes it (AsProtoField): `dtype` (the signature's TF dtype
 * when given and it runs as the tensor's TF.js dtype, else the TF.js dtype's), `tensor_shape`, and the
 * typed field. `tensorContent: true` writes tensor_content instead (AsProtoTensorContent; not strings).
 */
export function encodeTensorProto(tensor: TensorOutput, tfDtype = defaultTfDtype(tensor.dtype), options: { tensorContent?: boolean } = {}): TensorProtoMessage {
  const info = DTYPES[tfDtype];
  if (!info) throw new ServingError('INTERNAL', `cannot write an output of dtype ${tfDtype} as a TensorProto`);
  const out: TensorProtoMessage = { dtype: tfDtype, tensor_shape: shapeToProto(tensor.shape) };
  if (tfDtype === 'DT_STRING') {
    out.string_val = (tensor.data as string[]).map((s) => textEncoder.encode(s));
    return out;
  }
  const numbers = Array.from(tensor.data as ArrayLike<number>, Number);
  if (options.tensorContent) {
    out.tensor_content = toContent(tfDtype, numbers, info.size);
    return out;
  }
  switch (info.field) {
    case 'half_val':
      out.half_val = numbers.map(tfDtype === 'DT_HALF' ? floatToHalf : floatToBfloat16);
      break;
    case 'bool_val':
      out.bool_val = numbers.map((v) => v !== 0);
      break;
    case 'int64_val':
    case 'uint64_val':
      out[info.field] = numbers.map((v) => String(Math.trunc(v)));
      break;
    default:
      (out as Record<string, unknown>)[info.field] = numbers;
  }
  return out;
}

function toContent(tfDtype: string, values: number[], size: number): Uint8Array {
  const bytes = new Uint8Array(values.length * size);
  const view = new DataView(bytes.buffer);
  values.forEach((v, i) => {
    const o = i * size;
    switch (tfDtype) {
      case 'DT_FLOAT':
        return view.setFloat32(o, v, true);
      case 'DT_DOUBLE':
        return view.setFloat64(o, v, true);
      case 'DT_HALF':
        return view.setUint16(o, floatToHalf(v), true);
      case 'DT_BFLOAT16':
        return view.setUint16(o, floatToBfloat16(v), true);
      case 'DT_INT32':
        return view.setInt32(o, v, true);
      case 'DT_INT16':
        return view.setInt16(o, v, true);
      case 'DT_INT8':
        return view.setInt8(o, v);
      case 'DT_UINT8':
      case 'DT_BOOL':
        return view.setUint8(o, tfDtype === 'DT_BOOL' ? (v ? 1 : 0) : v);
      case 'DT_UINT16':
        return view.setUint16(o, v, true);
      case 'DT_UINT32':
        return view.setUint32(o, v, true);
      case 'DT_INT64':
        return view.setBigInt64(o, BigInt(Math.trunc(v)), true);
      case 'DT_UINT64':
        return view.setBigUint64(o, BigInt(Math.trunc(v)), true);
    }
  });
  return bytes;
}

function defaultTfDtype(dtype: TensorOutput['dtype']): string {
  return dtype === 'float32' ? 'DT_FLOAT' : dtype === 'int32' ? 'DT_INT32' : dtype === 'bool' ? 'DT_BOOL' : 'DT_STRING';
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** IEEE 754 binary16 bits → number. */
export function halfToFloat(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24;
  if (exponent === 0x1f) return fraction ? NaN : sign * Infinity;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}

/** number → binary16 bits, rounded to nearest even (as Eigen::half). */
export function floatToHalf(value: number): number {
  f32[0] = value;
  const x = u32[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exponent = (x >>> 23) & 0xff;
  let mantissa = x & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa ? 0x200 : 0);
  let e = exponent - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mantissa |= 0x800000;
    const shift = 14 - e;
    const half = mantissa >>> shift;
    const rest = mantissa & ((1 << shift) - 1);
    const midpoint = 1 << (shift - 1);
    return sign | (half + (rest > midpoint || (rest === midpoint && half & 1) ? 1 : 0));
  }
  let half = (e << 10) | (mantissa >>> 13);
  const rest = mantissa & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && half & 1)) half++;
  e = half >> 10;
  return sign | (e >= 0x1f ? 0x7c00 : half);
}

export function bfloat16ToFloat(bits: number): number {
  u32[0] = (bits & 0xffff) << 16;
  return f32[0]!;
}

export function floatToBfloat16(value: number): number {
  f32[0] = value;
  const x = u32[0]!;
  if (Number.isNaN(value)) return 0x7fc0;
  return ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) & 0xffff;
}

/** TF's DataTypeString: DT_FLOAT → float. */
export function dataTypeName(tfDtype: string): string {
  return tfDtype.replace(/^DT_/, '').toLowerCase();
}
