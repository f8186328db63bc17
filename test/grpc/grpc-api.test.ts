// TF Serving's gRPC API on 127.0.0.1, called by a client built independently from the vendored .proto
// files: the REST golden cases again (half_plus_two, same numbers), metadata, status, reload config,
// TF Serving's gRPC status codes, TensorProto encodings, and a request of several MB.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cp, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DENSE_BIAS, DENSE_KERNEL, DENSE_MODEL_DIR, FIXTURES, removeTempDirs, tempDir } from '../helpers/models.js';
import type { ServingClient } from './client.js';
import { callError, floatContent, protoRoot, shape } from './client.js';
import type { GrpcFixture } from './grpc-fixture.js';
import { startGrpcFixture } from './grpc-fixture.js';

const here = dirname(fileURLToPath(import.meta.url));
const TFSERVING = join(here, '..', 'fixtures', 'savedmodels', 'tfserving');
const HALF_PLUS_TWO = join(TFSERVING, 'saved_model_half_plus_two_cpu', '00000123');
const GOLDEN_METADATA = join(TFSERVING, 'half_plus_two_model_metadata.json');

const INVALID_ARGUMENT = 3;
const NOT_FOUND = 5;
const FAILED_PRECONDITION = 9;
const UNIMPLEMENTED = 12;

let root: string;
let fixture: GrpcFixture | undefined;
let server: GrpcFixture['server'];
let client: ServingClient;

before(async () => {
  root = await tempDir('grpc');
  await cp(HALF_PLUS_TWO, join(root, 'default', '00000123'), { recursive: true });
  await cp(DENSE_MODEL_DIR, join(root, 'dense', '1'), { recursive: true });
  await cp(join(FIXTURES, 'hash_table_v2'), join(root, 'table', '1'), { recursive: true });
  fixture = await startGrpcFixture([
    { name: 'default', basePath: join(root, 'default') },
    { name: 'dense', basePath: join(root, 'dense'), versionLabels: { stable: 1 } },
    { name: 'table', basePath: join(root, 'table') },
  ]);
  ({ server, client } = fixture);
});

after(async () => {
  await fixture?.close();
  await removeTempDirs();
});

const spec = (name: string, extra: object = {}) => ({ name, ...extra });
const floats = (values: number[], ...dims: number[]) => ({ dtype: 'DT_FLOAT', tensor_shape: shape(...dims), float_val: values });

function predict(model: object, inputs: Record<string, object>, extra: object = {}): Promise<any> {
  return client.call('Predict', { model_spec: model, inputs, ...extra });
}

describe('TF Serving golden cases over gRPC (half_plus_two, model "default")', () => {
  test('GetModelStatus → version 123 AVAILABLE, status OK', async () => {
    const r = await client.call('GetModelStatus', { model_spec: spec('default') });
    assert.deepEqual(r.model_version_status, [{ version: '123', state: 'AVAILABLE', status: { error_code: 'OK', error_message: '' } }]);
  });

  test('GetModelMetadata → model_spec and a SignatureDefMap in an Any equal to TF Serving\'s', async () => {
    const golden = JSON.parse(await readFile(GOLDEN_METADATA, 'utf8'));
    const r = await client.call('GetModelMetadata', { model_spec: spec('default'), metadata_field: ['signature_def'] });
    assert.equal(r.model_spec.name, 'default');
    assert.equal(r.model_spec.version.value, '123');
    const any = r.metadata.signature_def;
    assert.equal(any.type_url, 'type.googleapis.com/tensorflow.serving.SignatureDefMap');
    const type = protoRoot().lookupType('tensorflow.serving.SignatureDefMap');
    const map = type.toObject(type.decode(any.value), { longs: String, enums: String, defaults: true }) as any;
    const theirs = golden.metadata.signature_def.signature_def;
    assert.deepEqual(Object.keys(map.signature_def).sort(), Object.keys(theirs).sort());
    assert.deepEqual(map.signature_def.serving_default, theirs.serving_default);
    assert.deepEqual(map.signature_def.regress_x2_to_y3, theirs.regress_x2_to_y3);
  });

  test('Predict float_val [2,3,4] → y [3,3.5,4] as TF Serving writes it (dtype, shape, float_val)', async () => {
    const r = await predict(spec('default'), { x: floats([2, 3, 4], 3) });
    assert.deepEqual(r.model_spec, { name: 'default', version: { value: '123' }, signature_name: 'serving_default', version_choice: 'version' });
    assert.deepEqual(Object.keys(r.outputs), ['y']);
    assert.equal(r.outputs.y.dtype, 'DT_FLOAT');
    assert.deepEqual(r.outputs.y.tensor_shape.dim.map((d: { size: string }) => d.size), ['3']);
    assert.deepEqual(r.outputs.y.float_val, [3.0, 3.5, 4.0]);
    assert.equal(r.outputs.y.tensor_content.length, 0);
  });

  test('Predict [[1,2],[3,4]] → [[2.5,3],[3.5,4]]; [-1,1] by version and signature name; tensor_content in', async () => {
    let r = await predict(spec('default'), { x: floats([1, 2, 3, 4], 2, 2) });
    assert.deepEqual(r.outputs.y.float_val, [2.5, 3.0, 3.5, 4.0]);
    assert.deepEqual(r.outputs.y.tensor_shape.dim.map((d: { size: string }) => d.size), ['2', '2']);
    r = await predict(spec('default', { version: { value: '123' }, signature_name: 'serving_default' }), { x: floats([1, 3], 2, 1) });
    assert.deepEqual(r.outputs.y.float_val, [2.5, 3.5]);
    r = await predict(spec('default'), { x: { dtype: 'DT_FLOAT', tensor_shape: shape(3, 1), tensor_content: floatContent([2, 3, 4]) } });
    assert.deepEqual(r.outputs.y.float_val, [3.0, 3.5, 4.0]);
    // Fewer typed values than elements: the last one repeats (Tensor::FromProto).
    r = await predict(spec('default'), { x: floats([2], 3) });
    assert.deepEqual(r.outputs.y.float_val, [3, 3, 3]);
    // A scalar.
    r = await predict(spec('default'), { x: floats([2]) });
    assert.deepEqual(r.outputs.y.float_val, [3]);
    assert.deepEqual(r.outputs.y.tensor_shape.dim, []);
  });

  test('Regress regress_x_to_y {x: 2} → 3, {x: 80} → 42; regress_x_to_y2 [2],[4] → [4, 5]', async () => {
    const examples = (...xs: number[][]) => ({ example_list: { examples: xs.map((x) => ({ features: { feature: { x: { float_list: { value: x } } } } })) } });
    let r = await client.call('Regress', { model_spec: spec('default', { signature_name: 'regress_x_to_y' }), input: examples([2]) });
    assert.deepEqual(r.result.regressions, [{ value: 3 }]);
    assert.equal(r.model_spec.signature_name, 'regress_x_to_y');
    assert.equal(r.model_spec.version.value, '123');
    r = await client.call('Regress', { model_spec: spec('default', { signature_name: 'regress_x_to_y' }), input: examples([80]) });
    assert.deepEqual(r.result.regressions, [{ value: 42 }]);
    r = await client.call('Regress', { model_spec: spec('default', { signature_name: 'regress_x_to_y2' }), input: examples([2], [4]) });
    assert.deepEqual(r.result.regressions, [{ value: 4 }, { value: 5 }]);
  });

  test('MultiInference: classify and regress tasks over one Input', async () => {
    const r = await client.call('MultiInference', {
      tasks: [
        { model_spec: spec('default', { signature_name: 'classify_x_to_y' }), method_name: 'tensorflow/serving/classify' },
        { model_spec: spec('default', { signature_name: 'regress_x_to_y' }), method_name: 'tensorflow/serving/regress' },
      ],
      input: { example_list: { examples: [{ features: { feature: { x: { float_list: { value: [2] } } } } }, { features: { feature: { x: { float_list: { value: [80] } } } } }] } },
    });
    assert.equal(r.results.length, 2);
    assert.deepEqual(r.results[0].classification_result.classifications, [{ classes: [{ label: '', score: 3 }] }, { classes: [{ label: '', score: 42 }] }]);
    assert.deepEqual(r.results[1].regression_result.regressions, [{ value: 3 }, { value: 42 }]);
    assert.equal(r.results[1].model_spec.signature_name, 'regress_x_to_y');
  });

  test('Classify classify_x_to_y {x: 2} → [[("", 3)]]; int64 features and context merge', async () => {
    let r = await client.call('Classify', {
      model_spec: spec('default', { signature_name: 'classify_x_to_y' }),
      input: { example_list: { examples: [{ features: { feature: { x: { float_list: { value: [2] } } } } }] } },
    });
    assert.deepEqual(r.result.classifications, [{ classes: [{ label: '', score: 3 }] }]);
    r = await client.call('Regress', {
      model_spec: spec('default', { signature_name: 'regress_x_to_y' }),
      input: {
        example_list_with_context: {
          context: { features: { feature: { x: { int64_list: { value: ['10'] } } } } },
          examples: [{ features: { feature: {} } }, { features: { feature: { x: { float_list: { value: [2] } } } } }],
        },
      },
    });
    assert.deepEqual(r.result.regressions, [{ value: 7 }, { value: 3 }]);
  });
});

describe('TensorProto dtypes end to end', () => {
  test('DT_STRING string_val → DT_INT32 int_val (hash_table_v2: a, b, c → 0, 1, -1)', async () => {
    const r = await predict(spec('table'), { input: { dtype: 'DT_STRING', tensor_shape: shape(3), string_val: ['a', 'b', 'c'].map((s) => Buffer.from(s)) } });
    assert.equal(r.outputs.output_0.dtype, 'DT_INT32');
    assert.deepEqual(r.outputs.output_0.int_val, [0, 1, -1]);
  });

  test('graph model by label and by version, tensor_content in, output_filter', async () => {
    for (const model of [spec('dense', { version_label: 'stable' }), spec('dense', { version: { value: '1' } }), spec('dense')]) {
      const r = await predict(model, { 'dense_dense1_input:0': { dtype: 'DT_FLOAT', tensor_shape: shape(2, 1), tensor_content: floatContent([2, 3]) } }, { output_filter: ['Identity:0'] });
      assert.equal(r.model_spec.version.value, '1');
      const [a, b] = r.outputs['Identity:0'].float_val;
      assert.ok(Math.abs(a - (DENSE_KERNEL * 2 + DENSE_BIAS)) < 1e-5, String(a));
      assert.ok(Math.abs(b - (DENSE_KERNEL * 3 + DENSE_BIAS)) < 1e-5, String(b));
    }
  });
});

describe('errors carry TF Serving\'s gRPC status codes', () => {
  const cases: Array<[string, string, () => object, number, RegExp]> = [
    ['unknown model', 'Predict', () => ({ model_spec: spec('nope'), inputs: { x: floats([1], 1) } }), NOT_FOUND, /Servable not found for request: Latest\(nope\)/],
    ['unknown version', 'Predict', () => ({ model_spec: spec('default', { version: { value: '7' } }), inputs: { x: floats([1], 1) } }), NOT_FOUND, /Specific\(default, 7\)/],
    ['unknown label', 'Predict', () => ({ model_spec: spec('dense', { version_label: 'nope' }), inputs: {} }), INVALID_ARGUMENT, /nope/],
    ['no model_spec', 'Predict', () => ({ inputs: { x: floats([1], 1) } }), INVALID_ARGUMENT, /Missing ModelSpec/],
    ['unknown signature', 'Predict', () => ({ model_spec: spec('default', { signature_name: 'nope' }), inputs: { x: floats([1], 1) } }), INVALID_ARGUMENT, /Serving signature name: "nope" not found/],
    ['wrong dtype', 'Predict', () => ({ model_spec: spec('default'), inputs: { x: { dtype: 'DT_DOUBLE', tensor_shape: shape(1), double_val: [1] } } }), INVALID_ARGUMENT, /Expects arg "x" to be float but double is provided/],
    ['unsupported dtype', 'Predict', () => ({ model_spec: spec('default'), inputs: { x: { dtype: 'DT_COMPLEX64', tensor_shape: shape(1), scomplex_val: [1, 0] } } }), INVALID_ARGUMENT, /DT_COMPLEX64 is not supported/],
    ['tensor_content of the wrong size', 'Predict', () => ({ model_spec: spec('default'), inputs: { x: { dtype: 'DT_FLOAT', tensor_shape: shape(3), tensor_content: floatContent([1, 2]) } } }), INVALID_ARGUMENT, /tensor_content holds 8 bytes, but shape \[3\] of DT_FLOAT needs 12/],
    ['too many values', 'Predict', () => ({ model_spec: spec('default'), inputs: { x: floats([1, 2, 3], 2) } }), INVALID_ARGUMENT, /float_val holds 3 values, but shape \[2\] holds 2/],
    ['unknown input', 'Predict', () => ({ model_spec: spec('default'), inputs: { z: floats([1], 1) } }), INVALID_ARGUMENT, /"z" is not an input/],
    ['unknown output_filter', 'Predict', () => ({ model_spec: spec('default'), inputs: { x: floats([1], 1) }, output_filter: ['q'] }), INVALID_ARGUMENT, /output tensor alias not found in signature: q/],
    ['metadata without fields', 'GetModelMetadata', () => ({ model_spec: spec('default') }), INVALID_ARGUMENT, /must specify at least one metadata_field/],
    ['metadata field unknown', 'GetModelMetadata', () => ({ model_spec: spec('default'), metadata_field: ['x'] }), INVALID_ARGUMENT, /Metadata field x is not supported/],
    ['metadata of unknown model', 'GetModelMetadata', () => ({ model_spec: spec('nope'), metadata_field: ['signature_def'] }), NOT_FOUND, /nope/],
    ['status of unknown model', 'GetModelStatus', () => ({ model_spec: spec('nope') }), NOT_FOUND, /nope/],
    ['status of unknown version', 'GetModelStatus', () => ({ model_spec: spec('default', { version: { value: '9' } }) }), NOT_FOUND, /version 9/],
    ['classify with no parse spec', 'Classify', () => ({ model_spec: spec('default', { signature_name: 'regress_x2_to_y3' }), input: { example_list: { examples: [{ features: { feature: { x2: { float_list: { value: [1] } } } } }] } } }), FAILED_PRECONDITION, /parseSpec/],
    ['regress with empty input', 'Regress', () => ({ model_spec: spec('default', { signature_name: 'regress_x_to_y' }), input: {} }), INVALID_ARGUMENT, /Input is empty\./],
    ['regress missing feature', 'Regress', () => ({ model_spec: spec('default', { signature_name: 'regress_x_to_y' }), input: { example_list: { examples: [{ features: { feature: { y: { float_list: { value: [1] } } } } }] } } }), INVALID_ARGUMENT, /Feature: x .* is required but could not be found/],
    ['MultiInference without tasks', 'MultiInference', () => ({}), INVALID_ARGUMENT, /MultiInferenceRequest has no tasks/],
    ['MultiInference with a predict task', 'MultiInference', () => ({ tasks: [{ model_spec: spec('default'), method_name: 'tensorflow/serving/predict' }] }), UNIMPLEMENTED, /Unsupported signature method_name: tensorflow\/serving\/predict/],
    ['MultiInference over two models', 'MultiInference', () => ({ tasks: [{ model_spec: spec('default', { signature_name: 'regress_x_to_y' }), method_name: 'tensorflow/serving/regress' }, { model_spec: spec('dense'), method_name: 'tensorflow/serving/regress' }] }), INVALID_ARGUMENT, /same model name/],
    ['reload with a custom config', 'HandleReloadConfigRequest', () => ({ config: { custom_model_config: { type_url: 'x', value: Buffer.alloc(0) } } }), INVALID_ARGUMENT, /custom model configs are not supported/],
    ['reload with an unknown platform', 'HandleReloadConfigRequest', () => ({ config: { model_config_list: { config: [{ name: 'x', base_path: '/x', model_platform: 'pytorch' }] } } }), INVALID_ARGUMENT, /model_platform: platform "pytorch" is not supported/],
  ];
  for (const [name, method, request, code, message] of cases) {
    test(`${name}: ${method} → ${code}`, async () => {
      const e = await callError(client.call(method, request()));
      assert.equal(e.code, code, `${e.code}: ${e.details}`);
      assert.match(e.details, message);
    });
  }

  test('the server still answers after all of that', async () => {
    const r = await predict(spec('default'), { x: floats([2], 1, 1) });
    assert.deepEqual(r.outputs.y.float_val, [3]);
  });
});

describe('large messages, metrics, reload', () => {
  test('a 16 MB request (4M floats in tensor_content) and its 4M-value response', async () => {
    const n = 4 * 1024 * 1024;
    const content = Buffer.alloc(n * 4);
    for (let i = 0; i < n; i++) content.writeFloatLE(i % 1000, i * 4);
    const r = await predict(spec('default'), { x: { dtype: 'DT_FLOAT', tensor_shape: shape(n), tensor_content: content } });
    const y = r.outputs.y.float_val as number[];
    assert.equal(y.length, n);
    for (const i of [0, 1, 999, 1000, n - 1]) assert.equal(y[i], (i % 1000) / 2 + 2, `y[${i}]`);
  });

  test('gRPC requests are counted with entrypoint="GRPC"', async () => {
    const text = await server.prometheusMetrics();
    assert.match(text, /:tensorflow:serving:request_latency_count\{model_name="default",API="predict",entrypoint="GRPC"\} \d+/);
  });

  test('HandleReloadConfigRequest adds a model (version policy, labels) and removes one', async () => {
    await cp(DENSE_MODEL_DIR, join(root, 'dense2', '3'), { recursive: true });
    await cp(DENSE_MODEL_DIR, join(root, 'dense2', '4'), { recursive: true });
    const r = await client.call('HandleReloadConfigRequest', {
      config: {
        model_config_list: {
          config: [
            { name: 'default', base_path: join(root, 'default'), model_platform: 'tensorflow' },
            {
              name: 'dense2',
              base_path: join(root, 'dense2'),
              model_platform: 'tensorflow',
              model_version_policy: { specific: { versions: ['3', '4'] } },
              version_labels: { stable: '3', canary: '4' },
            },
          ],
        },
      },
    });
    assert.deepEqual(r.status, { error_code: 'OK', error_message: '' });
    const status = await client.call('GetModelStatus', { model_spec: spec('dense2') });
    assert.deepEqual(status.model_version_status.map((s: { version: string; state: string }) => [s.version, s.state]), [['4', 'AVAILABLE'], ['3', 'AVAILABLE']]);
    const p = await predict(spec('dense2', { version_label: 'canary' }), { 'dense_dense1_input:0': floats([0], 1, 1) });
    assert.equal(p.model_spec.version.value, '4');
    // As in TF Serving, a removed model's versions stay in the status monitor, at END.
    const gone = await client.call('GetModelStatus', { model_spec: spec('dense') });
    assert.deepEqual(gone.model_version_status.map((s: { version: string; state: string }) => [s.version, s.state]), [['1', 'END']]);
    assert.equal((await callError(predict(spec('dense'), { 'dense_dense1_input:0': floats([0], 1, 1) }))).code, NOT_FOUND);
    assert.deepEqual((await server.modelNames()).sort(), ['default', 'dense2']);
  });
});
