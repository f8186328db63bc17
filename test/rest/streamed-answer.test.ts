// The predict answer is streamed: text chunks of about RESPONSE_CHUNK_CHARS written from the output
// arrays, the same bytes the whole-string writer gave (TF Serving's layout), checks before the first
// chunk; over real HTTP a large answer comes chunked (no Content-Length) and reads back exactly.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { LocalModelServer, startRestServer } from '../../src/node.js';
import { stringifyJson } from '../../src/rest/json.js';
import { RESPONSE_CHUNK_CHARS, predictResponseChunks } from '../../src/rest/tensor-json.js';
import { cp } from 'node:fs/promises';
import { join } from 'node:path';
import { DENSE_BIAS, DENSE_KERNEL, DENSE_MODEL_DIR, denseExpected, removeTempDirs, tempDir } from '../helpers/models.js';

after(() => removeTempDirs());

test('a large output comes in chunks of about RESPONSE_CHUNK_CHARS that join into stringifyJson\'s text', () => {
  const rows = 40_000;
  // int32: stringifyJson writes the same digits (float32 answers are written with float32's precision).
  const data = Int32Array.from({ length: rows * 3 }, (_, i) => i * 7 - 1000);
  const chunks = [...predictResponseChunks({ y: { dtype: 'int32', shape: [rows, 3], data } }, 'row')];
  assert.ok(chunks.length > 5, `${chunks.length} chunk(s)`);
  for (const c of chunks) assert.ok(c.length < RESPONSE_CHUNK_CHARS * 1.5, `a chunk of ${c.length} characters`);
  const nested = Array.from({ length: rows }, (_, r) => [...data.subarray(3 * r, 3 * r + 3)]);
  assert.equal(chunks.join(''), stringifyJson({ predictions: nested }));
  // float32: the values read back as the float32s they were.
  const floats = Float32Array.from({ length: 30_000 }, (_, i) => Math.fround(i / 7));
  const floatChunks = [...predictResponseChunks({ y: { dtype: 'float32', shape: [30_000], data: floats } }, 'row')];
  assert.ok(floatChunks.length > 2);
  assert.deepEqual((JSON.parse(floatChunks.join('')) as { predictions: number[] }).predictions.map(Math.fround), [...floats]);
  // Columnar, two outputs, one of them a single huge row: still chunked, still the same text.
  const wide = Int32Array.from({ length: 100_000 }, (_, i) => i);
  const columnar = [...predictResponseChunks({ a: { dtype: 'int32', shape: [1, 100_000], data: wide }, b: { dtype: 'int32', shape: [2], data: Int32Array.of(4, 5) } }, 'columnar')];
  assert.ok(columnar.length > 2, `${columnar.length} chunk(s)`);
  assert.equal(columnar.join(''), stringifyJson({ outputs: { a: [[...wide]], b: [4, 5] } }));
});

test('bad outputs are refused at the call, before any chunk', () => {
  assert.throws(() => predictResponseChunks({}, 'row'), /Cannot convert empty tensor map to JSON/);
  assert.throws(
    () => predictResponseChunks({ a: { dtype: 'int32', shape: [2], data: Int32Array.of(1, 2) }, b: { dtype: 'int32', shape: [3], data: Int32Array.of(1, 2, 3) } }, 'row'),
    /Tensor name: b has inconsistent batch size: 3 expecting: 2/,
  );
});

test('over HTTP, a 100 000-row answer is sent chunked and reads back exactly', async () => {
  const base = join(await tempDir('streamed'), 'm');
  await cp(DENSE_MODEL_DIR, join(base, '1'), { recursive: true });
  const server = await LocalModelServer.start({ modelConfigList: [{ name: 'm', basePath: base }], backends: ['cpu'], pollIntervalMs: 0 });
  const rest = await startRestServer(server, { port: 0, host: '127.0.0.1' });
  try {
    const n = 100_000;
    const xs = Array.from({ length: n }, (_, i) => (i % 100) / 10);
    const r = await fetch(`http://127.0.0.1:${rest.port}/v1/models/m:predict`, { method: 'POST', body: JSON.stringify({ instances: xs.map((x) => [x]) }) });
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('content-length'), null);
    assert.equal(r.headers.get('transfer-encoding'), 'chunked');
    const predictions = ((await r.json()) as { predictions: number[][] }).predictions;
    assert.equal(predictions.length, n);
    for (const i of [0, 1, 57, n - 1]) assert.ok(Math.abs(predictions[i]![0]! - denseExpected(DENSE_KERNEL, DENSE_BIAS, xs[i]!)) < 1e-5, `row ${i}`); // i < n
  } finally {
    await rest.close();
    await server.close();
  }
});
