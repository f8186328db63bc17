// The byte parser that reads REST bodies gives the same values and the same errors as the string
// parser (TF Serving's messages), keeps regular lists of numbers as dense blocks, refuses numbers
// that overflow a double like rapidjson, and refuses bodies whose non-numeric part would not fit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DenseNumbers } from '../../src/rest/dense-numbers.js';
import { parseJson } from '../../src/rest/json.js';
import { parseJsonBytes, toJsonValue } from '../../src/rest/json-bytes.js';
import { ServingError } from '../../src/core/status.js';

const bytes = (s: string) => new TextEncoder().encode(s);

function outcome(f: () => unknown): unknown {
  try {
    return { ok: f() };
  } catch (e) {
    return { code: (e as ServingError).code, message: (e as Error).message };
  }
}

const CASES = [
  '{"instances": [[1.0, 2.5], [3, -4e-2]]}',
  '{"inputs": {"a": [[[1]], [[2]]], "b": "x\\u00e9\\n", "c": [true, null]}}',
  '[1, [2, 3], "a", {"b": []}]',
  '[[1, 2], [3]]',
  '[[1, 2], 3]',
  '[NaN, Infinity, -Infinity, Inf, -Inf, -0, 0.5e-400]',
  '{"__proto__": [1, 2]}',
  '',
  '   ',
  '{',
  '[1,]',
  '[1 2]',
  '{"a" 1}',
  '{"a": 1,}',
  '[01]',
  '[1.]',
  '[1.e5]',
  '[-]',
  '["a\\x"]',
  '["\\u12G4"]',
  '["abc',
  '[1] x',
  '[1e400]',
  '[[1, -1e400]]',
  '{"x": 1E+309}',
  '[' + '['.repeat(600) + ']'.repeat(600) + ']',
  '[tru]',
  '[Nan]',
];

test('byte parser: same values and errors as the string parser (ASCII bodies)', () => {
  for (const c of CASES) {
    const want = outcome(() => parseJson(c));
    assert.deepEqual(outcome(() => parseJsonBytes(bytes(c), { dense: false })), want, c);
    assert.deepEqual(outcome(() => toJsonValue(parseJsonBytes(bytes(c)))), want, c);
  }
});

test('a UTF-8 byte order mark is skipped, as Request.text() skipped it', () => {
  const withBom = new Uint8Array([0xef, 0xbb, 0xbf, ...bytes('{"instances": [1]}')]);
  assert.deepEqual(toJsonValue(parseJsonBytes(withBom)), { instances: [1] });
});

test('1e400 is refused like rapidjson ("Number too big to be stored in double."), tiny numbers underflow to 0', () => {
  assert.deepEqual(outcome(() => parseJson('[1, 1e400]')), { code: 'INVALID_ARGUMENT', message: 'JSON Parse error: Number too big to be stored in double. at offset: 4' });
  assert.deepEqual(outcome(() => parseJsonBytes(bytes('[1, 1e400]'))), { code: 'INVALID_ARGUMENT', message: 'JSON Parse error: Number too big to be stored in double. at offset: 4' });
  assert.deepEqual(toJsonValue(parseJsonBytes(bytes('[1e-400, NaN]'))), [0, Number.NaN]);
});

test('regular lists of numbers are dense blocks; ragged or mixed ones are plain arrays', () => {
  const v = parseJsonBytes(bytes('{"a": [[1, 2, 3], [4, 5, 6]], "b": [[1], [2, 3]], "c": [1, "x"]}')) as Record<string, unknown>;
  assert.ok(v.a instanceof DenseNumbers);
  assert.deepEqual((v.a as DenseNumbers).shape, [2, 3]);
  assert.equal((v.a as DenseNumbers).count, 6);
  assert.ok(Array.isArray(v.b));
  assert.ok((v.b as unknown[])[0] instanceof DenseNumbers);
  assert.deepEqual(v.c, [1, 'x']);
});

test('a body of many small non-numeric values is RESOURCE_EXHAUSTED, not an out-of-memory crash', () => {
  const body = bytes(`{"instances": [${'"a",'.repeat(2_000_000)}"a"]}`);
  const r = outcome(() => parseJsonBytes(body)) as { code: string; message: string };
  assert.equal(r.code, 'RESOURCE_EXHAUSTED');
  assert.match(r.message, /too many values outside regular lists of numbers/);
  // The same count of numbers is fine.
  const numbers = parseJsonBytes(bytes(`{"instances": [${'1,'.repeat(200_000)}1]}`)) as Record<string, DenseNumbers>;
  assert.equal(numbers.instances!.count, 200_001);
});
