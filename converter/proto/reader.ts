/**
 * A minimal protobuf wire-format reader (proto2/proto3 binary encoding).
 *
 * Only what the SavedModel / TensorBundle messages need: varints (32/64 bit,
 * signed as two's complement), fixed32/fixed64, length-delimited fields and
 * skipping of unknown fields. int64 values are returned as JS numbers when
 * they fit in 53 bits, otherwise as bigint.
 */
import { ConverterError } from '../errors.js';

export const WIRE_VARINT = 0;
export const WIRE_FIXED64 = 1;
export const WIRE_LEN = 2;
export const WIRE_START_GROUP = 3;
export const WIRE_END_GROUP = 4;
export const WIRE_FIXED32 = 5;

const textDecoder = new TextDecoder('utf-8');

export class ProtoReader {
  readonly buf: Uint8Array;
  pos: number;
  readonly end: number;
  private readonly view: DataView;

  constructor(buf: Uint8Array, start = 0, end = buf.length) {
    this.buf = buf;
    this.pos = start;
    this.end = end;
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  eof(): boolean {
    return this.pos >= this.end;
  }

  private truncated(what: string): never {
    throw new ConverterError('DATA_LOSS', `truncated protobuf: ${what} at byte ${this.pos} runs past the end (${this.end})`);
  }

  /** Reads a varint as an unsigned number (exact up to 2^53). */
  uvarint(): number {
    let result = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) this.truncated('varint');
      const b = this.buf[this.pos++]!;
      result += (b & 0x7f) * mul;
      if (b < 0x80) return result;
      mul *= 128;
    }
    throw new ConverterError('DATA_LOSS', `malformed protobuf varint at byte ${this.pos}`);
  }

  /** Reads a varint as a 64-bit unsigned bigint. */
  uvarint64(): bigint {
    let result = 0n;
    let shift = 0n;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) this.truncated('varint');
      const b = this.buf[this.pos++]!;
      result |= BigInt(b & 0x7f) << shift;
      if (b < 0x80) return result;
      shift += 7n;
    }
    throw new ConverterError('DATA_LOSS', `malformed protobuf varint at byte ${this.pos}`);
  }

  /** int64 (two's complement varint): number if safe, else bigint. */
  int64(): number | bigint {
    const start = this.pos;
    // Fast path: small non-negative values.
    let n = 0;
    let mul = 1;
    for (let i = 0; i < 7 && this.pos < this.end; i++) {
      const b = this.buf[this.pos++]!;
      n += (b & 0x7f) * mul;
      if (b < 0x80) return n;
      mul *= 128;
    }
    this.pos = start;
    const v = BigInt.asIntN(64, this.uvarint64());
    if (v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER)) return Number(v);
    return v;
  }

  /** uint64 varint: number if safe, else bigint. */
  uint64(): number | bigint {
    const v = this.uvarint64();
    return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  }

  /** int32 is encoded as a sign-extended 64-bit varint. */
  int32(): number {
    const v = this.int64();
    return Number(BigInt.asIntN(32, BigInt(v)));
  }

  uint32(): number {
    return Number(BigInt.asUintN(32, BigInt(this.int64())));
  }

  bool(): boolean {
    return this.uvarint() !== 0;
  }

  fixed32(): number {
    if (this.pos + 4 > this.end) this.truncated('fixed32');
    const v = this.view.getUint32(this.pos, true);
    this.pos += 4;
    return v;
  }

  float(): number {
    if (this.pos + 4 > this.end) this.truncated('float');
    const v = this.view.getFloat32(this.pos, true);
    this.pos += 4;
    return v;
  }

  double(): number {
    if (this.pos + 8 > this.end) this.truncated('double');
    const v = this.view.getFloat64(this.pos, true);
    this.pos += 8;
    return v;
  }

  fixed64(): bigint {
    if (this.pos + 8 > this.end) this.truncated('fixed64');
    const v = this.view.getBigUint64(this.pos, true);
    this.pos += 8;
    return v;
  }

  /** A length-delimited field's bytes (a view, not a copy). */
  bytes(): Uint8Array {
    const len = this.uvarint();
    if (this.pos + len > this.end) this.truncated('length-delimited field');
    const out = this.buf.subarray(this.pos, this.pos + len);
    this.pos += len;
    return out;
  }

  string(): string {
    return textDecoder.decode(this.bytes());
  }

  /** Reads a field tag; returns [fieldNumber, wireType]. */
  tag(): [number, number] {
    const t = this.uvarint();
    return [Math.floor(t / 8), t & 7];
  }

  skip(wireType: number): void {
    switch (wireType) {
      case WIRE_VARINT:
        this.uvarint64();
        return;
      case WIRE_FIXED64:
        if (this.pos + 8 > this.end) this.truncated('fixed64');
        this.pos += 8;
        return;
      case WIRE_LEN:
        this.bytes();
        return;
      case WIRE_FIXED32:
        if (this.pos + 4 > this.end) this.truncated('fixed32');
        this.pos += 4;
        return;
      case WIRE_START_GROUP:
        for (;;) {
          const [, wt] = this.tag();
          if (wt === WIRE_END_GROUP) return;
          this.skip(wt);
        }
      default:
        throw new ConverterError('DATA_LOSS', `malformed protobuf: unknown wire type ${wireType} at byte ${this.pos}`);
    }
  }

  /** A sub-reader over a length-delimited field. */
  sub(): ProtoReader {
    const len = this.uvarint();
    if (this.pos + len > this.end) this.truncated('embedded message');
    const r = new ProtoReader(this.buf, this.pos, this.pos + len);
    this.pos += len;
    return r;
  }
}

export function decodeUtf8(b: Uint8Array): string {
  return textDecoder.decode(b);
}
