// TF Serving's REST API over real HTTP on 127.0.0.1: its own golden request/response pairs against
// half_plus_two (the SavedModel fixture, converted on the fly by the file-system source), status and
// metadata against TF Serving's expected JSON, and malformed URLs and bodies.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cp, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LocalModelServer } from '../../src/node.js';
import { handleRestRequest } from '../../src/rest/handler.js';
import { formatDecimal, parseJson } from '../../src/rest/json.js';
import type { RestServer } from '../../src/rest/node-http.js';
import { startRestServer } from '../../src/rest/node-http.js';
import { parseRestPath } from '../../src/rest/url.js';
import { DENSE_MODEL_DIR, removeTempDirs, tempDir } from '../helpers/models.js';

const here = dirname(fileURLToPath(import.meta.url));
const TFSERVING = join(here, '..', 'fixtures', 'savedmodels', 'tfserving');
const HALF_PLUS_TWO = join(TFSERVING, 'saved_model_half_plus_two_cpu', '00000123');
const GOLDEN_METADATA = join(TFSERVING, 'half_plus_two_model_metadata.json');

let server: LocalModelServer;
let rest: RestServer;
let base: string;

async function call(method: string, path: string, body?: string): Promise<{ status: number; json: any; text: string; headers: Headers }> {
  const r = await fetch(base + path, { method, body, headers: body === undefined ? undefined : { 'Content-Type': 'application/json' } });
  const text = await r.text();
  return { status: r.status, json: parseJson(text), text, headers: r.headers };
}

const post = (path: string, body: unknown) => call('POST', path, typeof body === 'string' ? body : JSON.stringify(body));

before(async () => {
  const root = await tempDir('rest');
  // TF Serving's layout: <base_path>/<numeric version>/ — a SavedModel, and a TF.js graph model.
  await cp(HALF_PLUS_TWO, join(root, 'default', '00000123'), { recursive: true });
  await cp(DENSE_MODEL_DIR, join(root, 'dense', '1'), { recursive: true });
  server = await LocalModelServer.start({
    modelConfigList: [
      { name: 'default', basePath: join(root, 'default') },
      { name: 'dense', basePath: join(root, 'dense'), versionLabels: { stable: 1 } },
    ],
    pollIntervalMs: 0,
    backends: ['cpu'],
  });
  rest = await startRestServer(server, { port: 0, host: '127.0.0.1', cors: true });
  base = `http://127.0.0.1:${rest.port}`;
});

after(async () => {
  await rest?.close();
  await server?.close();
  await removeTempDirs();
});

describe('TF Serving golden pairs (half_plus_two, model "default")', () => {
  test('GET /v1/models/default → model_version_status (exact)', async () => {
    const r = await call('GET', '/v1/models/default');
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('content-type'), 'application/json');
    assert.deepEqual(r.json, { model_version_status: [{ version: '123', state: 'AVAILABLE', status: { error_code: 'OK', error_message: '' } }] });
  });

  test('GET /v1/models/default/metadata → model_spec and the predict signatures equal TF Serving\'s JSON', async () => {
    const golden = JSON.parse(await readFile(GOLDEN_METADATA, 'utf8'));
    const r = await call('GET', '/v1/models/default/metadata');
    assert.equal(r.status, 200);
    assert.deepEqual(r.json.model_spec, golden.model_spec);
    const ours = r.json.metadata.signature_def.signature_def;
    const theirs = golden.metadata.signature_def.signature_def;
    assert.deepEqual(Object.keys(ours).sort(), Object.keys(theirs).sort());
    // Signatures on tensors are identical; the tf.Example ones are served on their parsed features
    // (inputs keyed by feature name instead of one serialized DT_STRING `inputs`).
    assert.deepEqual(ours.serving_default, theirs.serving_default);
    assert.deepEqual(ours.regress_x2_to_y3, theirs.regress_x2_to_y3);
    // Output tensor names are the converted graph's (an Identity where two signatures share y:0).
    const noName = ({ name: _name, ...rest }: { name: string }) => rest;
    assert.deepEqual(noName(ours.regress_x_to_y.outputs.outputs), noName(theirs.regress_x_to_y.outputs.outputs));
    assert.deepEqual(Object.keys(ours.classify_x_to_y.inputs), ['x']);
    assert.equal(ours.classify_x_to_y.method_name, 'tensorflow/serving/classify');
  });

  test(':regress {"signature_name":"regress_x_to_y","examples":[{"x":2.0}]} → {"results":[3.0]}, x=80 → [42]', async () => {
    let r = await post('/v1/models/default:regress', { signature_name: 'regress_x_to_y', examples: [{ x: 2.0 }] });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json, { results: [3.0] });
    assert.match(r.text, /3\.0/);
    r = await post('/v1/models/default:regress', { signature_name: 'regress_x_to_y', examples: [{ x: 80 }] });
    assert.deepEqual(r.json, { results: [42] });
    r = await post('/v1/models/default:regress', { signature_name: 'regress_x_to_y2', examples: [{ x: [2.0] }, { x: 4 }] });
    assert.deepEqual(r.json, { results: [4, 5] });
  });

  test(':classify {"signature_name":"classify_x_to_y","examples":[{"x":2.0}]} → {"results":[[["",3.0]]]}', async () => {
    const r = await post('/v1/models/default:classify', { signature_name: 'classify_x_to_y', examples: [{ x: 2.0 }] });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json, { results: [[['', 3.0]]] });
  });

  test('classify/regress with context: context features merge into each example', async () => {
    const r = await post('/v1/models/default:regress', { signature_name: 'regress_x_to_y', context: { x: 10 }, examples: [{}, { x: 2 }] });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json, { results: [7, 3] });
  });

  test('predict {"instances":[2.0,3.0,4.0]} → {"predictions":[3.0,3.5,4.0]} (exact: x:0 is a cut point, fed at any shape as in TF)', async () => {
    const r = await post('/v1/models/default:predict', '{"instances":[2.0,3.0,4.0]}');
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json, { predictions: [3.0, 3.5, 4.0] });
    assert.match(r.text, /\[\s*3\.0,\s*3\.5,\s*4\.0\s*\]/);
  });

  test('predict {"inputs":[2.0,3.0,4.0]} → {"outputs":[3.0,3.5,4.0]} (columnar, exact)', async () => {
    const r = await post('/v1/models/default:predict', '{"inputs":[2.0,3.0,4.0]}');
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json, { outputs: [3.0, 3.5, 4.0] });
    assert.match(r.text, /\[\s*3\.0,\s*3\.5,\s*4\.0\s*\]/);
  });

  test('predict {"instances":[[1.0,2.0],[3.0,4.0]]} → {"predictions":[[2.5,3.0],[3.5,4.0]]} although the signature says [-1,1]', async () => {
    const r = await post('/v1/models/default:predict', '{"instances":[[1.0,2.0],[3.0,4.0]]}');
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json, { predictions: [[2.5, 3.0], [3.5, 4.0]] });
  });

  test('predict with the declared [-1,1] shape, by version and signature name; metadata keeps [-1,1]', async () => {
    let r = await post('/v1/models/default:predict', { instances: [[2.0], [3.0], [4.0]] });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json, { predictions: [[3.0], [3.5], [4.0]] });
    r = await post('/v1/models/default:predict', { inputs: [[2.0], [3.0], [4.0]] });
    assert.deepEqual(r.json, { outputs: [[3.0], [3.5], [4.0]] });
    r = await post('/v1/models/default/versions/123:predict', { signature_name: 'serving_default', instances: [[1.0], [3.0]] });
    assert.deepEqual(r.json, { predictions: [[2.5], [3.5]] });
    // A scalar instance and a scalar columnar input run too (TF feeds them unchecked).
    r = await post('/v1/models/default:predict', { inputs: 2.0 });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json, { outputs: 3.0 });
    const m = await call('GET', '/v1/models/default/metadata');
    assert.deepEqual(m.json.metadata.signature_def.signature_def.serving_default.inputs.x.tensor_shape.dim.map((d: { size: string }) => d.size), ['-1', '1']);
  });

  test('predict still checks dtype on a cut-point input: a string for float x is 400', async () => {
    const r = await post('/v1/models/default:predict', { instances: ['a', 'b'] });
    assert.equal(r.status, 400, r.text);
    assert.match(r.json.error, /JSON Value: "a" Type: String is not of expected type: float/);
  });
});

describe('golden predict pairs through the batching layer', () => {
  test('cut-point input (unknown rank in the graph) batches on the signature\'s [-1,1]: every answer exact', async () => {
    const root = await tempDir('rest-batching');
    await cp(HALF_PLUS_TWO, join(root, 'default', '00000123'), { recursive: true });
    const batched = await LocalModelServer.start({
      modelConfigList: [{ name: 'default', basePath: join(root, 'default') }],
      pollIntervalMs: 0,
      backends: ['cpu'],
      enableBatching: true,
      batchingParameters: { maxBatchSize: 16, batchTimeoutMicros: 20000 },
    });
    try {
      const pairs: Array<[string, unknown]> = [
        ['{"instances":[2.0,3.0,4.0]}', { predictions: [3.0, 3.5, 4.0] }],
        ['{"inputs":[2.0,3.0,4.0]}', { outputs: [3.0, 3.5, 4.0] }],
        ['{"instances":[[1.0,2.0],[3.0,4.0]]}', { predictions: [[2.5, 3.0], [3.5, 4.0]] }],
        ['{"instances":[[2.0],[4.0]]}', { predictions: [[3.0], [4.0]] }],
        ['{"instances":[5.0]}', { predictions: [4.5] }],
        ['{"inputs":2.0}', { outputs: 3.0 }], // a scalar has no batch dimension: it runs alone
      ];
      const responses = await Promise.all(
        pairs.map(([body]) => handleRestRequest(batched, new Request('http://x/v1/models/default:predict', { method: 'POST', body }))),
      );
      for (const [i, res] of responses.entries()) {
        const text = await res.text();
        assert.equal(res.status, 200, text);
        assert.deepEqual(parseJson(text), pairs[i]![1], pairs[i]![0]);
      }
    } finally {
      await batched.close();
    }
  });
});

describe('predict encoding', () => {
  test('NaN / Infinity in (non-strict JSON) and out, float formatting, int cast', async () => {
    const r = await post('/v1/models/default:predict', '{"inputs": [[NaN], [Infinity], [-Infinity], [1]]}');
    assert.equal(r.status, 200, r.text);
    assert.match(r.text, /\[\[NaN\], \[Infinity\], \[-Infinity\], \[2\.5\]\]/);
    assert.equal(formatDecimal(Math.fround(0.2)), '0.2');
    assert.equal(formatDecimal(3), '3.0');
    assert.equal(formatDecimal(9000000), '9e+06');
    assert.equal(formatDecimal(Math.fround(1.2345678)), '1.23456776');
  });

  test('graph-model fixture, label and version routes, row with named instances', async () => {
    const k = 1.9513733386993408;
    const b = -0.8492417335510254;
    for (const path of ['/v1/models/dense:predict', '/v1/models/dense/versions/1:predict', '/v1/models/dense/labels/stable:predict', '/V1/MODELS/dense:PREDICT']) {
      const r = await post(path, { instances: [{ 'dense_dense1_input:0': [2] }, { 'dense_dense1_input:0': [3] }] });
      assert.equal(r.status, 200, `${path}: ${r.text}`);
      assert.equal(r.json.predictions.length, 2);
      assert.ok(Math.abs(r.json.predictions[0][0] - (k * 2 + b)) < 1e-5);
    }
    const r = await post('/v1/models/dense/labels/nope:predict', { instances: [[1]] });
    assert.equal(r.status, 400);
    const s = await call('GET', '/v1/models/dense/labels/stable');
    assert.equal(s.status, 200);
    assert.equal(s.json.model_version_status[0].version, '1');
    const m = await call('GET', '/v1/models/dense/versions/1/metadata');
    assert.equal(m.json.model_spec.version, '1');
  });

  test('CORS headers and preflight', async () => {
    const r = await call('GET', '/v1/models/default');
    assert.equal(r.headers.get('access-control-allow-origin'), '*');
    const pre = await fetch(base + '/v1/models/default:predict', { method: 'OPTIONS' });
    assert.equal(pre.status, 204);
    assert.equal(pre.headers.get('access-control-allow-methods'), 'POST, GET');
  });

  test('Prometheus metrics page: REST requests are counted with entrypoint="REST"', async () => {
    const r = await fetch(base + '/monitoring/prometheus/metrics');
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type') ?? '', /^text\/plain/);
    const text = await r.text();
    assert.match(text, /:tensorflow:serving:request_count\{model_name="default",status="OK"\} \d+/);
    assert.match(text, /:tensorflow:serving:request_latency_count\{model_name="default",API="predict",entrypoint="REST"\} \d+/);
  });
});

describe('malformed requests get TF Serving errors, never a crash', () => {
  const cases: Array<[string, string, string, unknown, number, RegExp]> = [
    ['bad JSON', 'POST', '/v1/models/default:predict', '{"instances": [1,', 400, /^JSON Parse error: .* at offset: \d+$/],
    ['empty body', 'POST', '/v1/models/default:predict', '', 400, /JSON Parse error: The document is empty/],
    ['not an object', 'POST', '/v1/models/default:predict', '[1]', 400, /Is not object/],
    ['both instances and inputs', 'POST', '/v1/models/default:predict', { instances: [[1]], inputs: [[1]] }, 400, /expecting only one of 'inputs' or 'instances' keys to exist/],
    ['neither', 'POST', '/v1/models/default:predict', { foo: 1 }, 400, /Missing 'inputs' or 'instances' key/],
    ['instances not a list', 'POST', '/v1/models/default:predict', { instances: 5 }, 400, /'instances' to be an list\/array/],
    ['empty instances', 'POST', '/v1/models/default:predict', { instances: [] }, 400, /No values in 'instances' array/],
    ['wrong type', 'POST', '/v1/models/default:predict', { instances: [['a']] }, 400, /JSON Value: "a" Type: String is not of expected type: float/],
    ['ragged instances', 'POST', '/v1/models/default:predict', { instances: [[1], [2, 3]] }, 400, /Expecting tensor size: 1 but got: 2/],
    ['ragged inputs', 'POST', '/v1/models/default:predict', { inputs: [[1], [2, 3]] }, 400, /Encountered list at unexpected size: 2 at level: 1 expected size: 1/],
    ['non-string signature_name', 'POST', '/v1/models/default:predict', { signature_name: 1, instances: [[1]] }, 400, /'signature_name' key must be a string value\./],
    ['unknown signature', 'POST', '/v1/models/default:predict', { signature_name: 'nope', instances: [[1]] }, 400, /Serving signature name: "nope" not found in signature def/],
    ['unknown model', 'POST', '/v1/models/nope:predict', { instances: [[1]] }, 404, /Servable not found for request: Latest\(nope\)/],
    ['bad version', 'POST', '/v1/models/default/versions/7:predict', { instances: [[1]] }, 404, /Servable not found for request: Specific\(default, 7\)/],
    ['version not digits', 'POST', '/v1/models/default/versions/x:predict', { instances: [[1]] }, 400, /^Malformed request: POST \/v1\/models\/default\/versions\/x:predict$/],
    ['version and label', 'POST', '/v1/models/default/versions/123/labels/a:predict', { instances: [[1]] }, 400, /Malformed request/],
    ['unknown verb', 'POST', '/v1/models/default:explain', { instances: [[1]] }, 400, /Malformed request/],
    ['GET on a verb', 'GET', '/v1/models/default:predict', undefined, 400, /Malformed request: GET/],
    ['no model name', 'GET', '/v1/models', undefined, 400, /Missing model name in request\./],
    ['status of unknown model', 'GET', '/v1/models/nope', undefined, 404, /nope/],
    ['status of unknown version', 'GET', '/v1/models/default/versions/9', undefined, 404, /version 9/],
    ['metadata of unknown version', 'GET', '/v1/models/default/versions/9/metadata', undefined, 404, /Specific\(default, 9\)/],
    ['regress without examples', 'POST', '/v1/models/default:regress', { signature_name: 'regress_x_to_y' }, 400, /key 'examples' is expected and was not found/],
    ['regress missing feature', 'POST', '/v1/models/default:regress', { signature_name: 'regress_x_to_y', examples: [{ y: 1 }] }, 400, /Feature: x .* is required but could not be found/],
    ['classify on a signature with no parse spec', 'POST', '/v1/models/default:classify', { signature_name: 'regress_x2_to_y3', examples: [{ x2: 1 }] }, 400, /no userDefinedMetadata\.signatures\["regress_x2_to_y3"\]\.parseSpec/],
    ['example not an object', 'POST', '/v1/models/default:regress', { signature_name: 'regress_x_to_y', examples: [1] }, 400, /Example must be JSON object but got JSON Number/],
    ['wrong method', 'PUT', '/v1/models/default', '{}', 400, /Malformed request: PUT/],
    ['outside /v1', 'GET', '/v2/models/default', undefined, 404, /no handler/],
  ];
  for (const [name, method, path, body, status, error] of cases) {
    test(`${name}: ${method} ${path} → ${status}`, async () => {
      const r = await call(method, path, body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body));
      assert.equal(r.status, status, r.text);
      assert.equal(typeof r.json.error, 'string');
      assert.match(r.json.error, error);
    });
  }

  test('the server still answers after all of that', async () => {
    const r = await post('/v1/models/default:predict', { instances: [[2.0]] });
    assert.deepEqual(r.json, { predictions: [[3.0]] });
  });
});

describe('units', () => {
  test('URL grammar: case-insensitive, URL-decoded model name and label', () => {
    assert.deepEqual(parseRestPath('POST', '/v1/models/my%20model/labels/can%61ry:Classify'), { kind: 'classify', model: 'my model', label: 'canary' });
    assert.deepEqual(parseRestPath('GET', '/V1/Models/m/Versions/00012/METADATA'), { kind: 'metadata', model: 'm', version: 12 });
    assert.throws(() => parseRestPath('GET', '/v1/models/m/versions/1/labels/x'), /Malformed request/);
  });

  test('handleRestRequest works on bare Fetch API objects (no HTTP server)', async () => {
    const res = await handleRestRequest(server, new Request('http://x/v1/models/default:predict', { method: 'POST', body: '{"inputs": [[0]]}' }));
    assert.equal(res.status, 200);
    assert.deepEqual(parseJson(await res.text()), { outputs: [[2]] });
  });

  test('non-strict JSON parser', () => {
    assert.deepEqual(parseJson('{"a": [NaN, -Infinity, 1e3, "\\u00e9"]}'), { a: [NaN, -Infinity, 1000, 'é'] });
    assert.throws(() => parseJson('{"a": nan}'), /JSON Parse error: Invalid value\. at offset: 6/);
  });
});
