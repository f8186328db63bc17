/**
 * Snappy block-format decompression (no framing), as used by LevelDB /
 * TensorFlow SSTable blocks with compression type 1.
 * Format: varint uncompressed length, then elements tagged by the low two
 * bits: 0 literal, 1 copy with 1-byte offset, 2 copy with 2-byte offset,
 * 3 copy with 4-byte offset.
 */
import { ConverterError } from '../errors.js';

function corrupt(what: string): never {
  throw new ConverterError('DATA_LOSS', `corrupt Snappy block: ${what}`);
}

export function snappyUncompressedLength(src: Uint8Array): { length: number; headerBytes: number } {
  let result = 0;
  let shift = 0;
  for (let i = 0; i < 5; i++) {
    if (i >= src.length) corrupt('truncated length preamble');
    const b = src[i]!;
    result += (b & 0x7f) * 2 ** shift;
    if (b < 0x80) return { length: result, headerBytes: i + 1 };
    shift += 7;
  }
  return corrupt('length preamble longer than 5 bytes');
}

export function snappyDecompress(src: Uint8Array): Uint8Array {
  const { length, headerBytes } = snappyUncompressedLength(src);
  const out = new Uint8Array(length);
  let ip = headerBytes;
  let op = 0;
  const n = src.length;
  while (ip < n) {
    const tag = src[ip++]!;
    const kind = tag & 3;
    if (kind === 0) {
      let len = tag >>> 2;
      if (len >= 60) {
        const extra = len - 59;
        if (ip + extra > n) corrupt('truncated literal length');
        len = 0;
        for (let k = 0; k < extra; k++) len |= src[ip + k]! << (8 * k);
        len >>>= 0;
        ip += extra;
      }
      len += 1;
      if (ip + len > n) corrupt(`literal of ${len} bytes runs past the input`);
      if (op + len > length) corrupt('literal runs past the declared output length');
      out.set(src.subarray(ip, ip + len), op);
      ip += len;
      op += len;
      continue;
    }
    let len: number;
    let offset: number;
    if (kind === 1) {
      if (ip >= n) corrupt('truncated copy-1');
      len = 4 + ((tag >>> 2) & 7);
      offset = ((tag >>> 5) << 8) | src[ip++]!;
    } else if (kind === 2) {
      if (ip + 2 > n) corrupt('truncated copy-2');
      len = (tag >>> 2) + 1;
      offset = src[ip]! | (src[ip + 1]! << 8);
      ip += 2;
    } else {
      if (ip + 4 > n) corrupt('truncated copy-4');
      len = (tag >>> 2) + 1;
      offset = (src[ip]! | (src[ip + 1]! << 8) | (src[ip + 2]! << 16) | (src[ip + 3]! << 24)) >>> 0;
      ip += 4;
    }
    if (offset === 0 || offset > op) corrupt(`copy offset ${offset} outside the ${op} bytes written so far`);
    if (op + len > length) corrupt('copy runs past the declared output length');
    // Overlapping copies are allowed (run-length style), so copy bytewise.
    let from = op - offset;
    for (let k = 0; k < len; k++) out[op++] = out[from++]!;
  }
  if (op !== length) corrupt(`decoded ${op} bytes, preamble says ${length}`);
  return out;
}
