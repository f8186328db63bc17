// Every vendored .proto file loads and resolves with protobufjs (include root proto/, well-known
// types from protobufjs), and the services have the methods TF Serving's clients call.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import protobuf from 'protobufjs';
import { protoDir, servingProtoRoot } from '../../src/config/proto-root.js';
import { PROTO_DIR } from './client.js';

function protoFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? protoFiles(path) : name.endsWith('.proto') ? [relative(PROTO_DIR, path)] : [];
  });
}

test('every vendored .proto loads and resolves on its own', () => {
  const files = protoFiles(PROTO_DIR);
  assert.ok(files.length >= 60, `${files.length} files`);
  for (const file of ['tsl/protobuf/error_codes.proto', 'tensorflow/core/protobuf/saved_model.proto', 'tensorflow/core/protobuf/tensor_bundle.proto', 'tensorflow_serving/config/monitoring_config.proto']) {
    assert.ok(files.includes(file), file);
  }
  for (const file of files) {
    const root = new protobuf.Root();
    root.resolvePath = (_o, t) => (t.startsWith('google/protobuf/') ? t : join(PROTO_DIR, t));
    assert.doesNotThrow(() => {
      root.loadSync(file, { keepCase: true });
      root.resolveAll();
    }, file);
  }
});

test('the services and messages the server uses', () => {
  assert.equal(protoDir(), PROTO_DIR);
  const root = servingProtoRoot();
  const prediction = root.lookupService('tensorflow.serving.PredictionService');
  assert.deepEqual(Object.keys(prediction.methods).sort(), ['Classify', 'GetModelMetadata', 'MultiInference', 'Predict', 'Regress']);
  const model = root.lookupService('tensorflow.serving.ModelService');
  assert.deepEqual(Object.keys(model.methods).sort(), ['GetModelStatus', 'HandleReloadConfigRequest']);
  // error_codes.proto forwards to tsl's by `import public`: status.proto's error.Code resolves.
  const status = root.lookupType('tensorflow.serving.StatusProto');
  assert.equal((status.fields.error_code!.resolvedType as protobuf.Enum).values.NOT_FOUND, 5);
  assert.ok(root.lookupType('tensorflow.serving.BatchingParameters').fields.max_batch_size);
});

test('gRPC status numbers are TF\'s canonical error codes (tensorflow.error.Code in the vendored tsl file)', async () => {
  const { grpcStatusOf } = await import('../../src/grpc/status-codes.js');
  const codes = (servingProtoRoot().lookupEnum('tensorflow.error.Code')).values;
  const names = Object.keys(codes).filter((n) => !n.startsWith('DO_NOT_USE'));
  assert.equal(names.length, 17);
  for (const name of names) assert.equal(grpcStatusOf(name as never), codes[name], name);
});
