/**
 * Host-side tensors as the converter handles them, and TF DataType helpers.
 *
 * Values are normalised to what a TF.js weight can hold: all floats become
 * Float32Array (half and double included, as the official converter does),
 * every integer type becomes Int32Array (int64 is truncated, like
 * `write_weights._AUTO_DTYPE_CONVERSION`), bool is Uint8Array, complex is an
 * interleaved Float32Array and strings are arrays of byte strings. `dtype`
 * keeps the original TF DataType so graph attributes stay faithful.
 */
import { ConverterError } from './errors.js';
import type { TensorProto, TensorShapeProto } from './proto/messages.js';

export const DT = {
  INVALID: 0,
  FLOAT: 1,
  DOUBLE: 2,
  INT32: 3,
  UINT8: 4,
  INT16: 5,
  INT8: 6,
  STRING: 7,
  COMPLEX64: 8,
  INT64: 9,
  BOOL: 10,
  QINT8: 11,
  QUINT8: 12,
  QINT32: 13,
  BFLOAT16: 14,
  QINT16: 15,
  QUINT16: 16,
  UINT16: 17,
  COMPLEX128: 18,
  HALF: 19,
  RESOURCE: 20,
  VARIANT: 21,
  UINT32: 22,
  UINT64: 23,
} as const;

const NAMES: Record<number, string> = {};
for (const [k, v] of Object.entries(DT)) NAMES[v] = `DT_${k}`;

/** `DT_FLOAT` etc.; reference types (100+) print as `DT_FLOAT_REF`. */
export function dtypeName(dt: number): string {
  if (dt > 100) return `${NAMES[dt - 100] ?? `DT_${dt - 100}`}_REF`;
  return NAMES[dt] ?? `DT_UNKNOWN_${dt}`;
}

export function dtypeFromName(name: string): number | undefined {
  const key = name.replace(/^DT_/, '').toUpperCase() as keyof typeof DT;
  return DT[key];
}

export type TfjsDtype = 'float32' | 'int32' | 'bool' | 'string' | 'complex64';

/** TF.js's own mapping (`operation_mapper.ts` parseDtypeParam, extended to all int types). */
export function tfjsDtype(dt: number): TfjsDtype | undefined {
  switch (dt % 100) {
    case DT.FLOAT:
    case DT.HALF:
    case DT.DOUBLE:
    case DT.BFLOAT16:
      return 'float32';
    case DT.INT32:
    case DT.INT64:
    case DT.INT8:
    case DT.UINT8:
    case DT.INT16:
    case DT.UINT16:
    case DT.UINT32:
    case DT.UINT64:
      return 'int32';
    case DT.BOOL:
      return 'bool';
    case DT.STRING:
      return 'string';
    case DT.COMPLEX64:
    case DT.COMPLEX128:
      return 'complex64';
    default:
      return undefined;
  }
}

export type HostValues = Float32Array | Int32Array | Uint8Array | Uint8Array[];

export interface HostTensor {
  dtype: number;
  shape: number[];
  values: HostValues;
}

export function numElements(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function shapeFromProto(s: TensorShapeProto | undefined): number[] | undefined {
  if (!s || s.unknownRank) return undefined;
  return s.dim.map((d) => Number(d.size ?? 0));
}

export function shapeToProto(shape: readonly number[] | undefined): TensorShapeProto {
  if (!shape) return { dim: [], unknownRank: true };
  return { dim: shape.map((size) => ({ size })) };
}

function allocFor(dt: number, n: number): Float32Array | Int32Array | Uint8Array {
  const t = tfjsDtype(dt);
  switch (t) {
    case 'float32':
      return new Float32Array(n);
    case 'int32':
      return new Int32Array(n);
    case 'bool':
      return new Uint8Array(n);
    case 'complex64':
      return new Float32Array(2 * n);
    default:
      throw new ConverterError('UNIMPLEMENTED', `tensors of dtype ${dtypeName(dt)} cannot be stored as TF.js weights`);
  }
}

/** IEEE half → float. */
export function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * 2 ** -14 * (f / 1024);
  if (e === 31) return f ? NaN : s * Infinity;
  return s * 2 ** (e - 15) * (1 + f / 1024);
}

/**
 * Decodes raw little-endian tensor bytes (TensorProto.tensor_content or a
 * TensorBundle data slice) of a numeric dtype.
 */
export function decodeRawValues(dt: number, bytes: Uint8Array, n: number, what: string): Float32Array | Int32Array | Uint8Array {
  const base = dt % 100;
  const size = dtypeSize(base);
  if (size === undefined) throw new ConverterError('UNIMPLEMENTED', `${what}: dtype ${dtypeName(dt)} is not supported`);
  const expected = n * size * (base === DT.COMPLEX64 || base === DT.COMPLEX128 ? 2 : 1);
  if (bytes.length !== expected) {
    throw new ConverterError('DATA_LOSS', `${what}: ${bytes.length} bytes of ${dtypeName(dt)} data, expected ${expected} for ${n} elements`);
  }
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = allocFor(base, n);
  const m = out.length;
  switch (base) {
    case DT.FLOAT:
    case DT.COMPLEX64:
      for (let i = 0; i < m; i++) out[i] = dv.getFloat32(i * 4, true);
      break;
    case DT.DOUBLE:
    case DT.COMPLEX128:
      for (let i = 0; i < m; i++) out[i] = dv.getFloat64(i * 8, true);
      break;
    case DT.HALF:
      for (let i = 0; i < m; i++) out[i] = halfToFloat(dv.getUint16(i * 2, true));
      break;
    case DT.BFLOAT16:
      for (let i = 0; i < m; i++) {
        const tmp = new DataView(new ArrayBuffer(4));
        tmp.setUint16(2, dv.getUint16(i * 2, true), false);
        tmp.setUint16(0, 0, false);
        out[i] = tmp.getFloat32(0, false);
      }
      break;
    case DT.INT32:
    case DT.QINT32:
      for (let i = 0; i < m; i++) out[i] = dv.getInt32(i * 4, true);
      break;
    case DT.UINT32:
      for (let i = 0; i < m; i++) out[i] = dv.getUint32(i * 4, true) | 0;
      break;
    case DT.INT64:
    case DT.UINT64:
      for (let i = 0; i < m; i++) out[i] = dv.getInt32(i * 8, true); // low 32 bits (TF.js int32)
      break;
    case DT.INT16:
    case DT.QINT16:
      for (let i = 0; i < m; i++) out[i] = dv.getInt16(i * 2, true);
      break;
    case DT.UINT16:
    case DT.QUINT16:
      for (let i = 0; i < m; i++) out[i] = dv.getUint16(i * 2, true);
      break;
    case DT.INT8:
    case DT.QINT8:
      for (let i = 0; i < m; i++) out[i] = dv.getInt8(i);
      break;
    case DT.UINT8:
    case DT.QUINT8:
    case DT.BOOL:
      for (let i = 0; i < m; i++) out[i] = bytes[i]!;
      break;
  }
  return out;
}

export function dtypeSize(dt: number): number | undefined {
  switch (dt % 100) {
    case DT.FLOAT:
    case DT.INT32:
    case DT.UINT32:
    case DT.QINT32:
    case DT.COMPLEX64:
      return 4;
    case DT.DOUBLE:
    case DT.INT64:
    case DT.UINT64:
    case DT.COMPLEX128:
      return 8;
    case DT.HALF:
    case DT.BFLOAT16:
    case DT.INT16:
    case DT.UINT16:
    case DT.QINT16:
    case DT.QUINT16:
      return 2;
    case DT.INT8:
    case DT.UINT8:
    case DT.QINT8:
    case DT.QUINT8:
    case DT.BOOL:
      return 1;
    default:
      return undefined;
  }
}

/** Decodes a TensorProto (a Const's `value` attr) into a HostTensor. */
export function tensorFromProto(t: TensorProto, what: string): HostTensor {
  const dtype = t.dtype ?? DT.FLOAT;
  const shape = shapeFromProto(t.tensorShape) ?? [];
  const n = numElements(shape);
  const base = dtype % 100;
  if (base === DT.STRING) {
    const vals = t.stringVal;
    const out: Uint8Array[] = [];
    for (let i = 0; i < n; i++) out.push(vals.length ? vals[Math.min(i, vals.length - 1)]! : new Uint8Array(0));
    return { dtype, shape, values: out };
  }
  if (t.tensorContent && t.tensorContent.length > 0) {
    return { dtype, shape, values: decodeRawValues(dtype, t.tensorContent, n, what) };
  }
  let src: ArrayLike<number | bigint | boolean>;
  switch (base) {
    case DT.FLOAT:
      src = t.floatVal;
      break;
    case DT.DOUBLE:
      src = t.doubleVal;
      break;
    case DT.HALF:
    case DT.BFLOAT16:
      src = t.halfVal.map((h) => (base === DT.HALF ? halfToFloat(h) : new Float32Array(new Uint32Array([h << 16]).buffer)[0]!));
      break;
    case DT.INT64:
      src = t.int64Val;
      break;
    case DT.UINT64:
      src = t.uint64Val;
      break;
    case DT.UINT32:
      src = t.uint32Val;
      break;
    case DT.BOOL:
      src = t.boolVal;
      break;
    case DT.COMPLEX64:
      src = t.scomplexVal;
      break;
    case DT.COMPLEX128:
      src = t.dcomplexVal;
      break;
    case DT.INT32:
    case DT.INT16:
    case DT.INT8:
    case DT.UINT8:
    case DT.UINT16:
    case DT.QINT8:
    case DT.QUINT8:
    case DT.QINT32:
    case DT.QINT16:
    case DT.QUINT16:
      src = t.intVal;
      break;
    default:
      throw new ConverterError('UNIMPLEMENTED', `${what}: constant of dtype ${dtypeName(dtype)} is not supported`);
  }
  const out = allocFor(base, n);
  const width = base === DT.COMPLEX64 || base === DT.COMPLEX128 ? 2 : 1;
  const m = n * width;
  if (src.length > 0) {
    // TF semantics: if fewer values than elements, the last value repeats.
    for (let i = 0; i < m; i++) {
      const v = src[Math.min(i, src.length - 1) - (i >= src.length && width === 2 ? (i - src.length + 1) % 2 : 0)]!;
      out[i] = typeof v === 'bigint' ? Number(BigInt.asIntN(32, v)) : Number(v);
    }
  }
  return { dtype, shape, values: out };
}

/** Scalar number from a small numeric host tensor (for attrs like axis). */
export function tensorScalarValues(t: HostTensor): number[] {
  if (Array.isArray(t.values)) throw new ConverterError('INTERNAL', 'expected a numeric tensor');
  return Array.from(t.values as ArrayLike<number>);
}
