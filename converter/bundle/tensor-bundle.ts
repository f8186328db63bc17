/**
 * TensorFlow checkpoint reader (TensorBundle V2): `<prefix>.index` is an
 * SSTable mapping checkpoint keys to BundleEntryProto (dtype, shape, shard,
 * offset, size, crc32c); the key "" holds the BundleHeaderProto. Tensor bytes
 * live in `<prefix>.data-0000k-of-0000n`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { ConverterError } from '../errors.js';
import {
  decodeBundleEntry,
  decodeBundleHeader,
  type BundleEntryProto,
  type BundleHeaderProto,
} from '../proto/messages.js';
import { DT, decodeRawValues, dtypeName, numElements, shapeFromProto, type HostTensor } from '../tensor.js';
import { crc32c, crc32cExtend, unmaskCrc } from './crc32c.js';
import { readSSTable } from './sstable.js';

export interface TensorBundle {
  readonly prefix: string;
  readonly header: BundleHeaderProto;
  readonly entries: ReadonlyMap<string, BundleEntryProto>;
  has(key: string): boolean;
  /** Reads and checksums one tensor. */
  read(key: string): HostTensor;
  /** Raw bytes of an entry (e.g. the serialized _CHECKPOINTABLE_OBJECT_GRAPH string). */
  readStrings(key: string): Uint8Array[];
}

function shardName(prefix: string, id: number, n: number): string {
  const pad = (x: number) => String(x).padStart(5, '0');
  return `${prefix}.data-${pad(id)}-of-${pad(n)}`;
}

export function openTensorBundle(prefix: string): TensorBundle {
  const indexPath = `${prefix}.index`;
  if (!existsSync(indexPath)) {
    throw new ConverterError('NOT_FOUND', `checkpoint index ${indexPath} does not exist`);
  }
  const table = readSSTable(new Uint8Array(readFileSync(indexPath)), indexPath);
  const headerBytes = table.get('');
  if (!headerBytes) throw new ConverterError('DATA_LOSS', `${indexPath}: no BundleHeaderProto (empty key) in the index`);
  const header = decodeBundleHeader(headerBytes);
  if ((header.endianness ?? 0) !== 0) {
    throw new ConverterError('UNIMPLEMENTED', `${indexPath}: big-endian checkpoints are not supported`);
  }
  const numShards = header.numShards ?? 1;
  const entries = new Map<string, BundleEntryProto>();
  for (const [k, v] of table) if (k !== '') entries.set(k, decodeBundleEntry(v));

  const shards = new Map<number, Uint8Array>();
  const shard = (id: number): Uint8Array => {
    let s = shards.get(id);
    if (!s) {
      const p = shardName(prefix, id, numShards);
      if (!existsSync(p)) throw new ConverterError('NOT_FOUND', `checkpoint data shard ${p} does not exist (index ${indexPath} refers to it)`);
      s = new Uint8Array(readFileSync(p));
      shards.set(id, s);
    }
    return s;
  };

  const entryOf = (key: string): [BundleEntryProto, Uint8Array] => {
    const e = entries.get(key);
    if (!e) throw new ConverterError('NOT_FOUND', `checkpoint key "${key}" not found in ${indexPath}`);
    if (e.slices.length > 0) throw new ConverterError('UNIMPLEMENTED', `checkpoint key "${key}" is stored as partitioned slices, which are not supported`);
    const data = shard(e.shardId ?? 0);
    const off = Number(e.offset ?? 0);
    const size = Number(e.size ?? 0);
    if (off + size > data.length) {
      throw new ConverterError('DATA_LOSS', `checkpoint key "${key}": bytes ${off}..${off + size} run past the end of shard ${e.shardId ?? 0} (${data.length} bytes)`);
    }
    return [e, data.subarray(off, off + size)];
  };

  const checkCrc = (key: string, e: BundleEntryProto, actual: number): void => {
    if (e.crc32c !== undefined && unmaskCrc(e.crc32c) !== actual) {
      throw new ConverterError(
        'DATA_LOSS',
        `checksum mismatch for checkpoint key "${key}" in ${shardName(prefix, e.shardId ?? 0, numShards)}: stored crc32c ${unmaskCrc(e.crc32c).toString(16)}, computed ${actual.toString(16)}`,
      );
    }
  };

  /**
   * String tensors: varint64 length per element, a masked crc32c of the
   * lengths, then the bytes. The length checksum is computed over each length
   * as a little-endian uint32 (current TF) or uint64 (older TF); the entry's
   * crc32c extends it with the 4 checksum bytes and the string bytes.
   */
  const decodeStrings = (key: string, e: BundleEntryProto, bytes: Uint8Array, n: number): Uint8Array[] => {
    let pos = 0;
    const lens: number[] = [];
    let crc4 = 0;
    let crc8 = 0;
    const len8 = new Uint8Array(8);
    const len8v = new DataView(len8.buffer);
    for (let i = 0; i < n; i++) {
      let len = 0;
      let mul = 1;
      for (;;) {
        if (pos >= bytes.length) throw new ConverterError('DATA_LOSS', `checkpoint key "${key}": truncated string lengths`);
        const b = bytes[pos++]!;
        len += (b & 0x7f) * mul;
        if (b < 0x80) break;
        mul *= 128;
      }
      lens.push(len);
      len8v.setBigUint64(0, BigInt(len), true);
      crc4 = crc32cExtend(crc4, len8.subarray(0, 4));
      crc8 = crc32cExtend(crc8, len8);
    }
    let crc = crc4;
    if (n > 0) {
      if (pos + 4 > bytes.length) throw new ConverterError('DATA_LOSS', `checkpoint key "${key}": truncated string length checksum`);
      const stored = unmaskCrc(new DataView(bytes.buffer, bytes.byteOffset + pos, 4).getUint32(0, true));
      if (stored === crc8 && stored !== crc4) crc = crc8;
      else if (stored !== crc4) throw new ConverterError('DATA_LOSS', `checkpoint key "${key}": checksum mismatch in string lengths`);
      crc = crc32cExtend(crc, bytes.subarray(pos, pos + 4));
      pos += 4;
    }
    const out: Uint8Array[] = [];
    for (const len of lens) {
      if (pos + len > bytes.length) throw new ConverterError('DATA_LOSS', `checkpoint key "${key}": truncated string data`);
      const s = bytes.subarray(pos, pos + len);
      crc = crc32cExtend(crc, s);
      out.push(s);
      pos += len;
    }
    checkCrc(key, e, crc);
    return out;
  };

  const readStrings = (key: string): Uint8Array[] => {
    const [e, bytes] = entryOf(key);
    return decodeStrings(key, e, bytes, numElements(shapeFromProto(e.shape) ?? []));
  };

  return {
    prefix,
    header,
    entries,
    has: (key) => entries.has(key),
    read(key: string): HostTensor {
      const [e, bytes] = entryOf(key);
      const dtype = e.dtype ?? DT.FLOAT;
      const shape = shapeFromProto(e.shape) ?? [];
      const n = numElements(shape);
      if (dtype === DT.STRING) return { dtype, shape, values: decodeStrings(key, e, bytes, n) };
      if (dtype === DT.RESOURCE || dtype === DT.VARIANT) {
        throw new ConverterError('UNIMPLEMENTED', `checkpoint key "${key}" has dtype ${dtypeName(dtype)}, which cannot become a constant`);
      }
      checkCrc(key, e, crc32c(bytes));
      return { dtype, shape, values: decodeRawValues(dtype, bytes, n, `checkpoint key "${key}"`) };
    },
    readStrings,
  };
}
