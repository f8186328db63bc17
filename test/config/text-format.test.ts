// The protobuf text-format parser over the vendored TF Serving messages: TF Serving's own config
// examples, wrapper types, repeated fields and lists, maps as key/value entries, comments, escapes,
// and errors that name the file, line, column and field.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseBatchingParametersText } from '../../src/config/batching-parameters-file.js';
import { parseModelServerConfigText } from '../../src/config/model-server-config.js';
import { parseMonitoringConfigText } from '../../src/config/monitoring-config-file.js';
import { servingMessageType } from '../../src/config/proto-root.js';
import { TextFormatError, fieldPosition, parseTextFormat } from '../../src/config/text-format.js';

const MODEL_SERVER_CONFIG = 'tensorflow.serving.ModelServerConfig';

test('TF Serving\'s model config file: two models, version policies, labels (maps as key/value entries)', () => {
  const text = `# The models this server serves.
model_config_list {
  config {
    name: 'half_plus_two'
    base_path: "/models/half_plus_two"   # trailing comment
    model_platform: "tensorflow"
    model_version_policy {
      specific {
        versions: 1
        versions: 2
      }
    }
    version_labels {
      key: 'stable'
      value: 1
    }
    version_labels {
      key: 'canary'
      value: 2
    }
  }
  config {
    name: "dense"
    base_path: "s3://bucket/dense"
    model_platform: "tfjs"
    model_version_policy { latest { num_versions: 2 } }
  }
  config: { name: "all" base_path: "/models/all", model_version_policy: < all { } > }
}
`;
  assert.deepEqual(parseModelServerConfigText(text, 'models.config'), [
    { name: 'half_plus_two', basePath: '/models/half_plus_two', modelVersionPolicy: { specific: { versions: [1, 2] } }, versionLabels: { stable: 1, canary: 2 } },
    { name: 'dense', basePath: 's3://bucket/dense', modelPlatform: 'tfjs', modelVersionPolicy: { latest: { numVersions: 2 } } },
    { name: 'all', basePath: '/models/all', modelVersionPolicy: { all: {} } },
  ]);
});

test('wrapper types, repeated scalars one by one and as a list, bools, hex and octal', () => {
  const b = parseBatchingParametersText(
    `max_batch_size { value: 32 }
     batch_timeout_micros: { value: 0x3E8 }
     max_enqueued_batches < value: 010 >
     num_batch_threads { value: 4 }
     thread_pool_name { value: "pool" }
     allowed_batch_sizes: 8
     allowed_batch_sizes: [16, 32]
     pad_variable_length_inputs: True
     enable_large_batch_splitting { value: false }
     max_execution_batch_size { value: 32 }`,
    'batching.config',
  );
  assert.deepEqual(b.parameters, {
    maxBatchSize: 32,
    batchTimeoutMicros: 1000,
    maxEnqueuedBatches: 8,
    numBatchThreads: 4,
    allowedBatchSizes: [8, 16, 32],
    padVariableLengthInputs: true,
    enableLargeBatchSplitting: false,
    maxExecutionBatchSize: 32,
  });
  assert.deepEqual(b.ignoredFields, ['thread_pool_name']);
});

test('strings: both quotes, C escapes, adjacent literals concatenated, UTF-8', () => {
  const m = parseTextFormat(String.raw`model_config_list { config { name: "a\tb\"c\'d\x41\101\u00e9" 'é' base_path: "/p" "/q" } }`, servingMessageType(MODEL_SERVER_CONFIG), 'f');
  const config = (m.model_config_list as any).config[0];
  assert.equal(config.name, 'a\tb"c\'dAAéé');
  assert.equal(config.base_path, '/p/q');
});

test('monitoring config: prometheus_config enable and path', () => {
  assert.deepEqual(parseMonitoringConfigText('prometheus_config {\n  enable: true,\n  path: "/metrics"\n}\n', 'monitoring.config'), { prometheus: { enable: true, path: '/metrics' } });
  assert.deepEqual(parseMonitoringConfigText('', 'monitoring.config'), { prometheus: { enable: false, path: '/monitoring/prometheus/metrics' } });
  assert.throws(() => parseMonitoringConfigText('prometheus_config {\n  path: "metrics"\n}', 'm.config'), /m\.config:2:3: prometheus_config\.path must start with "\/"/);
});

test('positions are kept for every field, for errors found after parsing', () => {
  const m = parseTextFormat('model_config_list {\n  config {\n    name: "x"\n  }\n}', servingMessageType(MODEL_SERVER_CONFIG), 'f');
  const config = (m.model_config_list as any).config[0];
  assert.deepEqual(fieldPosition(config, 'name'), { line: 3, column: 5 });
});

const ERRORS: Array<[string, string, RegExp]> = [
  ['unknown field', 'model_config_list {\n  config {\n    nmae: "x"\n  }\n}', /^models\.config:3:5: unknown field "nmae" in tensorflow\.serving\.ModelConfig \(fields: name, base_path/],
  ['non-repeated field twice', 'model_config_list {\n  config {\n    name: "x"\n    name: "y"\n  }\n}', /^models\.config:4:5: non-repeated field "name" of tensorflow\.serving\.ModelConfig is specified more than once/],
  ['two members of a oneof', 'model_config_list { }\ncustom_model_config { }', /^models\.config:2:1: field "custom_model_config" of tensorflow\.serving\.ModelServerConfig is in oneof "config" with "model_config_list"/],
  ['wrong value type', 'model_config_list { config { name: 7 } }', /^models\.config:1:36: expected a quoted string for field "name" of tensorflow\.serving\.ModelConfig, found number "7"/],
  ['unknown enum value', 'model_config_list { config {\n model_type: PYTORCH } }', /^models\.config:2:14: unknown value PYTORCH for enum field "model_type"/],
  ['number out of range', 'model_config_list { config { model_version_policy { latest { num_versions: -1 } } } }', /^models\.config:1:76: integer -1 is out of range for field "num_versions" .* \(uint32: 0…4294967295\)/],
  ['missing colon before a scalar', 'model_config_list { config { name "x" } }', /^models\.config:1:35: expected ":" after field "name"/],
  ['unclosed message', 'model_config_list {\n  config {\n    name: "x"\n', /^models\.config:4:1: expected "}" to close tensorflow\.serving\.ModelConfig, found the end of the file/],
  ['unterminated string', 'model_config_list { config { name: "x } }', /^models\.config:1:36: string literal is not terminated on its line/],
  ['stray character', 'model_config_list { config { name: "x" } } @', /^models\.config:1:44: unexpected character "@"/],
  ['list on a non-repeated field', 'model_config_list { config { name: ["a"] } }', /not repeated: a list \[ … \] is not allowed/],
  ['unsupported platform, after parsing', 'model_config_list {\n  config {\n    name: "x"\n    base_path: "/x"\n    model_platform: "pytorch"\n  }\n}', /^models\.config:5:5: model_config_list\.config\[0\] \(x\)\.model_platform: platform "pytorch" is not supported/],
  ['no base_path', 'model_config_list {\n  config {\n    name: "x"\n  }\n}', /^models\.config:1:1: model_config_list\.config\[0\] \(x\)\.base_path: a model needs a base_path/],
  ['custom model config', 'custom_model_config { type_url: "x" }', /^models\.config:1:1: ModelServerConfig\.custom_model_config: custom model configs are not supported/],
];

for (const [name, text, error] of ERRORS) {
  test(`error: ${name}`, () => {
    assert.throws(
      () => parseModelServerConfigText(text, 'models.config'),
      (e: unknown) => {
        assert.ok(e instanceof TextFormatError, String(e));
        assert.equal(e.code, 'INVALID_ARGUMENT');
        assert.equal(e.file, 'models.config');
        assert.match(e.message, error);
        return true;
      },
    );
  });
}

test('batching: a field of the wrong kind names the file and line', () => {
  assert.throws(() => parseBatchingParametersText('max_batch_size { value: 32 }\nmax_batch_size: 3', 'b.config'), /b\.config:2:1: non-repeated field "max_batch_size"/);
  assert.throws(() => parseBatchingParametersText('\n\nmax_batch_size { value: "x" }', 'b.config'), /b\.config:3:25: expected an integer for field "value" of google\.protobuf\.Int64Value, found string/);
});
