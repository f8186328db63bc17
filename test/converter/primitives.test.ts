/** Unit tests: crc32c, Snappy, the protobuf reader/schema decoder, SSTable + TensorBundle, float16, fnmatch. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { crc32c, crc32cExtend, maskCrc, unmaskCrc } from '../../converter/bundle/crc32c.js';
import { snappyDecompress } from '../../converter/bundle/snappy.js';
import { readSSTable } from '../../converter/bundle/sstable.js';
import { openTensorBundle } from '../../converter/bundle/tensor-bundle.js';
import { ConverterError } from '../../converter/errors.js';
import { decodeBundleEntry, decodeSavedModel, decodeTensorProto, type TensorShapeProto } from '../../converter/proto/messages.js';
import { halfToFloat, tensorFromProto } from '../../converter/tensor.js';
import { floatToHalf, fnmatchToRegExp, quantize } from '../../converter/writer/quantize.js';
import { TFJS, TFS } from './helpers.js';

const bytes = (...b: number[]) => new Uint8Array(b);
const ascii = (s: string) => new TextEncoder().encode(s);

describe('crc32c', () => {
  it('matches the standard check values', () => {
    assert.equal(crc32c(ascii('123456789')), 0xe3069283);
    assert.equal(crc32c(new Uint8Array(32)), 0x8a9136aa);
    assert.equal(crc32c(new Uint8Array(32).fill(0xff)), 0x62a8ab43);
    assert.equal(crc32c(new Uint8Array(0)), 0);
  });
  it('extends incrementally and across the 8-byte fast path', () => {
    const data = ascii('The quick brown fox jumps over the lazy dog, twice over.');
    for (const cut of [0, 1, 7, 8, 13, data.length]) {
      assert.equal(crc32cExtend(crc32c(data.subarray(0, cut)), data.subarray(cut)), crc32c(data));
    }
  });
  it('masks and unmasks like LevelDB', () => {
    for (const c of [0, 1, 0xe3069283, 0xffffffff]) assert.equal(unmaskCrc(maskCrc(c)), c);
    assert.notEqual(maskCrc(0xe3069283), 0xe3069283);
  });
});

describe('snappy', () => {
  it('decodes literals and 1-byte-offset copies, including overlapping ones', () => {
    // "abcd" literal, then copy len 8 offset 4 → "abcdabcdabcd"
    assert.equal(new TextDecoder().decode(snappyDecompress(bytes(12, 0x0c, 97, 98, 99, 100, 0x11, 4))), 'abcdabcdabcd');
    // "a" then copy len 9 offset 1 (run-length) → 10 × "a"
    assert.equal(new TextDecoder().decode(snappyDecompress(bytes(10, 0x00, 97, 0x15, 1))), 'aaaaaaaaaa');
  });
  it('decodes 2- and 4-byte-offset copies and long literals', () => {
    const lit = new Uint8Array(100).map((_, i) => i);
    // literal of 100 bytes: tag 60<<2 (1 extra length byte), len-1 = 99
    const two = [130, 1, 60 << 2, 99, ...lit, ((20 - 1) << 2) | 2, 100, 0, ((10 - 1) << 2) | 3, 50, 0, 0, 0];
    const out = snappyDecompress(new Uint8Array(two));
    assert.equal(out.length, 130);
    assert.deepEqual(Array.from(out.subarray(100, 120)), Array.from(lit.subarray(0, 20)));
    assert.deepEqual(Array.from(out.subarray(120, 130)), Array.from(out.subarray(70, 80)));
  });
  it('rejects corrupt input with DATA_LOSS', () => {
    assert.throws(() => snappyDecompress(bytes(5, 0x11, 4)), (e: unknown) => e instanceof ConverterError && e.code === 'DATA_LOSS');
    assert.throws(() => snappyDecompress(bytes(8, 0x0c, 97, 98)), /runs past the input/);
    assert.throws(() => snappyDecompress(bytes(9, 0x0c, 97, 98, 99, 100)), /preamble says 9/);
  });
});

describe('protobuf decoding (protobufjs with TensorFlow\'s own .proto files)', () => {
  it('reads negative int64 (10-byte varints), floats and packed repeated fields; skips unknown fields', () => {
    // BundleEntryProto { dtype: DT_FLOAT, shape { dim { size: -1 } dim { size: 3 } }, offset: 2^40, crc32c (fixed32) 7, field 99 (unknown) }
    const entry = decodeBundleEntry(bytes(
      0x08, 1,
      0x12, 17, 0x12, 11, 0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0x12, 2, 0x08, 3,
      0x20, 0x80, 0x80, 0x80, 0x80, 0x80, 0x20,
      0x35, 7, 0, 0, 0,
      0x98, 0x06, 5,
    ));
    assert.equal(entry.dtype, 1);
    assert.deepEqual(entry.shape?.dim.map((d) => d.size), [-1, 3]);
    assert.equal(entry.offset, 2 ** 40);
    assert.equal(entry.crc32c, 7);
    assert.deepEqual(entry.slices, []);
    // TensorProto { dtype: DT_FLOAT, float_val packed [1, 0.5], int_val unpacked 1, 2 }
    const t = decodeTensorProto(bytes(0x08, 1, 0x2a, 8, 0, 0, 0x80, 0x3f, 0, 0, 0, 0x3f, 0x38, 1, 0x38, 2));
    assert.deepEqual(t.floatVal, [1, 0.5]);
    assert.deepEqual(t.intVal, [1, 2]);
    assert.deepEqual(t.stringVal, []);
  });
  it('reports truncation as DATA_LOSS', () => {
    // SavedModel { meta_graphs (length 5, only 1 byte follows) }
    assert.throws(() => decodeSavedModel(bytes(0x12, 5, 0x0a)), (e: unknown) => e instanceof ConverterError && e.code === 'DATA_LOSS');
  });
  it('decodes TensorProto values (content, repeated values, broadcast of a single value)', () => {
    // dtype FLOAT, shape [3], float_val [2.5] → broadcast to 3 values
    const t = decodeTensorProto(bytes(0x08, 1, 0x12, 4, 0x12, 2, 0x08, 3, 0x2a, 4, 0, 0, 0x20, 0x40));
    const shape: TensorShapeProto | undefined = t.tensorShape;
    assert.equal(shape?.dim[0]?.size, 3);
    assert.deepEqual(Array.from(tensorFromProto(t, 't').values as Float32Array), [2.5, 2.5, 2.5]);
  });
});

describe('SSTable and TensorBundle', () => {
  it('reads a Snappy-compressed variables.index (TF Serving half_plus_two_cpu) with crc checks', () => {
    const b = openTensorBundle(`${TFS('saved_model_half_plus_two_cpu')}/variables/variables`);
    assert.deepEqual([...b.entries.keys()].sort(), ['a', 'a2', 'b', 'c', 'c2']);
    assert.deepEqual(Array.from(b.read('a').values as Float32Array), [0.5]);
    assert.deepEqual(Array.from(b.read('c').values as Float32Array), [3]);
  });
  it('reads TF2 keys, int64 variables and the string _CHECKPOINTABLE_OBJECT_GRAPH', () => {
    const b = openTensorBundle(`${TFJS('int64_multiply')}/variables/variables`);
    assert.deepEqual(Array.from(b.read('v1/.ATTRIBUTES/VARIABLE_VALUE').values as Int32Array), [3]);
    assert.equal(b.readStrings('_CHECKPOINTABLE_OBJECT_GRAPH').length, 1);
  });
  it('detects a corrupted index block (DATA_LOSS)', () => {
    const file = new Uint8Array(readFileSync(`${TFS('saved_model_half_plus_two_cpu')}/variables/variables.index`));
    file[3] = file[3]! ^ 0xff;
    assert.throws(() => readSSTable(file, 'variables.index'), (e: unknown) => e instanceof ConverterError && e.code === 'DATA_LOSS' && /checksum mismatch/.test(e.message));
  });
  it('rejects a file that is not an SSTable', () => {
    assert.throws(() => readSSTable(new Uint8Array(64), 'x.index'), /bad SSTable magic/);
  });
});

describe('float16 and weight-name patterns', () => {
  it('round-trips float16 exactly for representable values and rounds to nearest', () => {
    for (const v of [0, 1, -2, 0.5, 65504, 6.103515625e-5, 5.960464477539063e-8]) assert.equal(halfToFloat(floatToHalf(v)), v);
    assert.equal(halfToFloat(floatToHalf(1 / 3)), 0.333251953125);
    assert.equal(halfToFloat(floatToHalf(1e6)), Infinity);
    assert.ok(Number.isNaN(halfToFloat(floatToHalf(NaN))));
  });
  it('quantizes uint8 with a nudged zero and decodes within one step', () => {
    const v = new Float32Array([-1, -0.3, 0, 0.25, 2]);
    const q = quantize(v, 'uint8');
    const { min, scale } = q.quantization as { min: number; scale: number };
    Array.from(q.bytes).forEach((b, i) => assert.ok(Math.abs(b * scale + min - v[i]!) <= scale / 2 + 1e-7));
    assert.equal(q.bytes[2]! * scale + min, 0); // zero is exact
  });
  it('matches names with fnmatch wildcards', () => {
    assert.ok(fnmatchToRegExp('conv*/kernel').test('conv1/kernel'));
    assert.ok(fnmatchToRegExp('dense_?').test('dense_1'));
    assert.ok(!fnmatchToRegExp('dense_?').test('dense_12'));
    assert.ok(fnmatchToRegExp('a[0-9].b').test('a5.b'));
  });
});
