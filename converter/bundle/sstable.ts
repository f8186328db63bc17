/**
 * Reader for the LevelDB-format SSTable that TensorFlow uses for
 * `variables.index`: a 48-byte footer (metaindex and index block handles,
 * magic 0xdb4775248b80fb57), blocks of prefix-compressed key/value entries
 * with a restart array, and a 5-byte trailer per block (compression type +
 * masked crc32c of contents+type). Compression type 1 is Snappy.
 */
import { ConverterError } from '../errors.js';
import { crc32cExtend, unmaskCrc } from './crc32c.js';
import { snappyDecompress } from './snappy.js';

const MAGIC_LO = 0x8b80fb57;
const MAGIC_HI = 0xdb477524;
const FOOTER_SIZE = 48;
const TRAILER_SIZE = 5;

interface BlockHandle {
  offset: number;
  size: number;
}

function readVarint(buf: Uint8Array, pos: number, what: string): [number, number] {
  let result = 0;
  let mul = 1;
  for (let i = 0; i < 10; i++) {
    if (pos >= buf.length) throw new ConverterError('DATA_LOSS', `truncated varint in ${what}`);
    const b = buf[pos++]!;
    result += (b & 0x7f) * mul;
    if (b < 0x80) return [result, pos];
    mul *= 128;
  }
  throw new ConverterError('DATA_LOSS', `malformed varint in ${what}`);
}

function readHandle(buf: Uint8Array, pos: number, what: string): [BlockHandle, number] {
  const [offset, p1] = readVarint(buf, pos, what);
  const [size, p2] = readVarint(buf, p1, what);
  return [{ offset, size }, p2];
}

/** Reads one block, verifying its CRC and decompressing it if needed. */
function readBlock(file: Uint8Array, h: BlockHandle, fileName: string, verifyCrc: boolean): Uint8Array {
  if (h.offset + h.size + TRAILER_SIZE > file.length) {
    throw new ConverterError('DATA_LOSS', `${fileName}: block at offset ${h.offset} (size ${h.size}) runs past the end of the file (${file.length} bytes)`);
  }
  const contents = file.subarray(h.offset, h.offset + h.size);
  const type = file[h.offset + h.size]!;
  if (verifyCrc) {
    const dv = new DataView(file.buffer, file.byteOffset, file.byteLength);
    const stored = unmaskCrc(dv.getUint32(h.offset + h.size + 1, true));
    const actual = crc32cExtend(crc32cExtend(0, contents), file.subarray(h.offset + h.size, h.offset + h.size + 1));
    if (stored !== actual) {
      throw new ConverterError(
        'DATA_LOSS',
        `${fileName}: checksum mismatch in block at offset ${h.offset}: stored crc32c ${stored.toString(16)}, computed ${actual.toString(16)}`,
      );
    }
  }
  if (type === 0) return contents;
  if (type === 1) return snappyDecompress(contents);
  throw new ConverterError('UNIMPLEMENTED', `${fileName}: block compression type ${type} is not supported (expected 0 = none or 1 = Snappy)`);
}

/** Iterates the key/value entries of a block. */
function* blockEntries(block: Uint8Array, fileName: string): Generator<[Uint8Array, Uint8Array]> {
  if (block.length < 4) throw new ConverterError('DATA_LOSS', `${fileName}: block too short`);
  const dv = new DataView(block.buffer, block.byteOffset, block.byteLength);
  const numRestarts = dv.getUint32(block.length - 4, true);
  const limit = block.length - 4 - numRestarts * 4;
  if (limit < 0) throw new ConverterError('DATA_LOSS', `${fileName}: bad restart count ${numRestarts}`);
  let pos = 0;
  let key = new Uint8Array(0);
  while (pos < limit) {
    let shared: number, nonShared: number, valueLen: number;
    [shared, pos] = readVarint(block, pos, fileName);
    [nonShared, pos] = readVarint(block, pos, fileName);
    [valueLen, pos] = readVarint(block, pos, fileName);
    if (shared > key.length || pos + nonShared + valueLen > limit) {
      throw new ConverterError('DATA_LOSS', `${fileName}: corrupt block entry at byte ${pos}`);
    }
    const next = new Uint8Array(shared + nonShared);
    next.set(key.subarray(0, shared), 0);
    next.set(block.subarray(pos, pos + nonShared), shared);
    key = next;
    pos += nonShared;
    const value = block.subarray(pos, pos + valueLen);
    pos += valueLen;
    yield [key, value];
  }
}

const td = new TextDecoder();

/** Reads the whole table into a Map from key (UTF-8) to value bytes. */
export function readSSTable(file: Uint8Array, fileName = 'sstable', verifyCrc = true): Map<string, Uint8Array> {
  if (file.length < FOOTER_SIZE) {
    throw new ConverterError('DATA_LOSS', `${fileName}: ${file.length} bytes is too short for an SSTable (footer is ${FOOTER_SIZE} bytes)`);
  }
  const footer = file.subarray(file.length - FOOTER_SIZE);
  const fdv = new DataView(footer.buffer, footer.byteOffset, FOOTER_SIZE);
  if (fdv.getUint32(40, true) !== MAGIC_LO || fdv.getUint32(44, true) !== MAGIC_HI) {
    throw new ConverterError('DATA_LOSS', `${fileName}: bad SSTable magic number (not a TensorFlow variables index?)`);
  }
  const [, p] = readHandle(footer, 0, fileName); // metaindex (unused)
  const [indexHandle] = readHandle(footer, p, fileName);
  const index = readBlock(file, indexHandle, fileName, verifyCrc);
  const out = new Map<string, Uint8Array>();
  for (const [, handleBytes] of blockEntries(index, fileName)) {
    const [h] = readHandle(handleBytes, 0, fileName);
    const block = readBlock(file, h, fileName, verifyCrc);
    for (const [k, v] of blockEntries(block, fileName)) out.set(td.decode(k), v);
  }
  return out;
}
