// The TensorProto codec against bytes written the way TF writes them (little-endian tensor_content),
// every dtype in both the typed field and tensor_content, and TF's Tensor::FromProto padding rules.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bfloat16ToFloat, decodeTensorProto, encodeTensorProto, floatToBfloat16, floatToHalf, halfToFloat } from '../../src/grpc/tensor-proto.js';

const shape = (...dims: number[]) => ({ dim: dims.map((d) => ({ size: String(d) })) });

function content(write: (b: Buffer, i: number, v: number) => void, size: number, values: number[]): Buffer {
  const b = Buffer.alloc(values.length * size);
  values.forEach((v, i) => write(b, i * size, v));
  return b;
}

const CASES: Array<{ dtype: string; field: string; values: number[]; typed: unknown[]; bytes: Buffer; expect?: number[] }> = [
  { dtype: 'DT_FLOAT', field: 'float_val', values: [1.5, -2, 0.25], typed: [1.5, -2, 0.25], bytes: content((b, o, v) => b.writeFloatLE(v, o), 4, [1.5, -2, 0.25]) },
  { dtype: 'DT_DOUBLE', field: 'double_val', values: [0.1, -1e300, 3], typed: [0.1, -1e300, 3], bytes: content((b, o, v) => b.writeDoubleLE(v, o), 8, [0.1, -1e300, 3]) },
  { dtype: 'DT_INT32', field: 'int_val', values: [7, -8, 2 ** 31 - 1], typed: [7, -8, 2 ** 31 - 1], bytes: content((b, o, v) => b.writeInt32LE(v, o), 4, [7, -8, 2 ** 31 - 1]) },
  { dtype: 'DT_INT16', field: 'int_val', values: [300, -300, 1], typed: [300, -300, 1], bytes: content((b, o, v) => b.writeInt16LE(v, o), 2, [300, -300, 1]) },
  { dtype: 'DT_INT8', field: 'int_val', values: [-128, 127, 0], typed: [-128, 127, 0], bytes: content((b, o, v) => b.writeInt8(v, o), 1, [-128, 127, 0]) },
  { dtype: 'DT_UINT8', field: 'int_val', values: [255, 0, 9], typed: [255, 0, 9], bytes: Buffer.from([255, 0, 9]) },
  { dtype: 'DT_UINT16', field: 'int_val', values: [65535, 0, 2], typed: [65535, 0, 2], bytes: content((b, o, v) => b.writeUInt16LE(v, o), 2, [65535, 0, 2]) },
  { dtype: 'DT_UINT32', field: 'uint32_val', values: [4294967295, 0, 5], typed: [4294967295, 0, 5], bytes: content((b, o, v) => b.writeUInt32LE(v, o), 4, [4294967295, 0, 5]) },
  { dtype: 'DT_INT64', field: 'int64_val', values: [-(2 ** 40), 2 ** 53 - 1, 0], typed: [String(-(2 ** 40)), String(2 ** 53 - 1), '0'], bytes: content((b, o, v) => b.writeBigInt64LE(BigInt(v), o), 8, [-(2 ** 40), 2 ** 53 - 1, 0]) },
  { dtype: 'DT_UINT64', field: 'uint64_val', values: [2 ** 40, 1, 0], typed: [String(2 ** 40), '1', '0'], bytes: content((b, o, v) => b.writeBigUInt64LE(BigInt(v), o), 8, [2 ** 40, 1, 0]) },
  { dtype: 'DT_HALF', field: 'half_val', values: [1, -2.5, 65504], typed: [0x3c00, 0xc100, 0x7bff], bytes: content((b, o, v) => b.writeUInt16LE(v, o), 2, [0x3c00, 0xc100, 0x7bff]) },
  { dtype: 'DT_BFLOAT16', field: 'half_val', values: [1, -2.5, 256], typed: [0x3f80, 0xc020, 0x4380], bytes: content((b, o, v) => b.writeUInt16LE(v, o), 2, [0x3f80, 0xc020, 0x4380]) },
];

for (const c of CASES) {
  test(`${c.dtype}: ${c.field} and tensor_content decode to the same values; written back both ways`, () => {
    const fromField = decodeTensorProto({ dtype: c.dtype, tensor_shape: shape(3), [c.field]: c.typed }, 'x');
    const fromContent = decodeTensorProto({ dtype: c.dtype, tensor_shape: shape(3), tensor_content: c.bytes }, 'x');
    assert.deepEqual([...fromField.data].map(Number), c.values);
    assert.deepEqual([...fromContent.data].map(Number), c.values);
    assert.deepEqual(fromField.shape, [3]);
    const output = { dtype: 'float32' as const, shape: [3], data: Float32Array.from(c.values) };
    if (c.dtype !== 'DT_FLOAT' && c.dtype !== 'DT_DOUBLE' && c.dtype !== 'DT_HALF' && c.dtype !== 'DT_BFLOAT16') {
      // Integers come back from TF.js as int32 data; the declared TF dtype is written.
      const ints = { dtype: 'int32' as const, shape: [3], data: Int32Array.from(c.values.map((v) => (v > 2 ** 31 - 1 ? 0 : v))) };
      const typed = encodeTensorProto(ints, c.dtype);
      assert.equal(typed.dtype, c.dtype);
      assert.ok(Array.isArray(typed[c.field]), `${c.field} written`);
      return;
    }
    const typed = encodeTensorProto(output, c.dtype);
    assert.deepEqual(typed[c.field], c.dtype === 'DT_FLOAT' || c.dtype === 'DT_DOUBLE' ? [...Float32Array.from(c.values)] : c.typed);
    const packed = encodeTensorProto(output, c.dtype, { tensorContent: true });
    assert.deepEqual(
      [...decodeTensorProto(packed, 'y').data].map(Number),
      c.dtype === 'DT_DOUBLE' ? [...Float32Array.from(c.values)] : c.values,
    );
  });
}

test('DT_BOOL and DT_STRING (UTF-8 bytes); strings refuse tensor_content', () => {
  assert.deepEqual(decodeTensorProto({ dtype: 'DT_BOOL', tensor_shape: shape(3), bool_val: [true, false, true] }, 'b').data, [true, false, true]);
  assert.deepEqual(decodeTensorProto({ dtype: 'DT_BOOL', tensor_shape: shape(3), tensor_content: Buffer.from([1, 0, 2]) }, 'b').data, [true, false, true]);
  const s = decodeTensorProto({ dtype: 'DT_STRING', tensor_shape: shape(2), string_val: [Buffer.from('héllo'), Buffer.from('')] }, 's');
  assert.deepEqual(s.data, ['héllo', '']);
  const out = encodeTensorProto({ dtype: 'string', shape: [1], data: ['é'] });
  assert.deepEqual(out, { dtype: 'DT_STRING', tensor_shape: shape(1), string_val: [new TextEncoder().encode('é')] });
  assert.deepEqual(encodeTensorProto({ dtype: 'bool', shape: [2], data: Uint8Array.from([1, 0]) }).bool_val, [true, false]);
  assert.throws(() => decodeTensorProto({ dtype: 'DT_STRING', tensor_shape: shape(1), tensor_content: Buffer.from('a') }, 's'), /DT_STRING tensors cannot use tensor_content/);
});

test('FromProto rules: no values → zeros, fewer → the last repeated, more → INVALID_ARGUMENT; shapes checked', () => {
  assert.deepEqual([...decodeTensorProto({ dtype: 'DT_FLOAT', tensor_shape: shape(2, 2) }, 'x').data], [0, 0, 0, 0]);
  assert.deepEqual([...decodeTensorProto({ dtype: 'DT_INT32', tensor_shape: shape(4), int_val: [1, 2] }, 'x').data], [1, 2, 2, 2]);
  assert.throws(() => decodeTensorProto({ dtype: 'DT_INT32', tensor_shape: shape(1), int_val: [1, 2] }, 'input "x"'), (e: any) => e.code === 'INVALID_ARGUMENT' && /input "x": int_val holds 2 values/.test(e.message));
  assert.throws(() => decodeTensorProto({ dtype: 'DT_FLOAT', tensor_shape: { unknown_rank: true } }, 'x'), /unknown rank/);
  assert.throws(() => decodeTensorProto({ dtype: 'DT_FLOAT', tensor_shape: shape(-1) }, 'x'), /non-negative/);
  assert.throws(() => decodeTensorProto({ tensor_shape: shape(1) }, 'x'), /dtype DT_INVALID is not supported/);
  assert.deepEqual(decodeTensorProto({ dtype: 'DT_FLOAT', float_val: [5] }, 'x').shape, []);
});

test('half and bfloat16 conversions round to nearest even and keep inf/nan', () => {
  for (const v of [0, 1, -1, 0.5, 65504, 6.103515625e-5, 5.960464477539063e-8, Infinity, -Infinity]) assert.equal(halfToFloat(floatToHalf(v)), v);
  assert.ok(Number.isNaN(halfToFloat(floatToHalf(NaN))));
  assert.equal(halfToFloat(floatToHalf(1 + 2 ** -11)), 1); // tie → even
  assert.equal(halfToFloat(floatToHalf(1e6)), Infinity);
  assert.equal(bfloat16ToFloat(floatToBfloat16(3.140625)), 3.140625);
  assert.equal(bfloat16ToFloat(floatToBfloat16(1 + 2 ** -8)), 1); // tie → even
});
