// The vendored TF Serving / TensorFlow `.proto` files (`proto/` at the package root) and a protobufjs
// Root of them, shared by the text-format config readers and the gRPC API.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import { ServingError } from '../core/status.js';

/** The files the servers and config readers use; their imports are loaded with them. */
export const SERVING_PROTO_FILES: readonly string[] = [
  'tensorflow_serving/apis/prediction_service.proto',
  'tensorflow_serving/apis/model_service.proto',
  'tensorflow_serving/config/model_server_config.proto',
  'tensorflow_serving/config/monitoring_config.proto',
  'tensorflow_serving/servables/tensorflow/session_bundle_config.proto',
];

let cachedDir: string | undefined;

/**
 * The `proto/` include root: found by walking up from this module (src/config in a checkout,
 * dist/src/config in the package) to the folder that holds `proto/tensorflow_serving`.
 */
export function protoDir(): string {
  if (cachedDir) return cachedDir;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, 'proto');
    if (existsSync(join(candidate, 'tensorflow_serving', 'apis', 'prediction_service.proto'))) return (cachedDir = candidate);
    const parent = dirname(dir);
    if (parent === dir) throw new ServingError('NOT_FOUND', `the vendored .proto files (proto/tensorflow_serving/…) were not found above ${fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
}

let cachedRoot: protobuf.Root | undefined;

/** A resolved protobufjs Root of `SERVING_PROTO_FILES` (field names as in the .proto files). */
export function servingProtoRoot(): protobuf.Root {
  if (cachedRoot) return cachedRoot;
  const dir = protoDir();
  const root = new protobuf.Root();
  // Well-known types (google/protobuf/*.proto) come from protobufjs itself.
  root.resolvePath = (_origin, target) => (target.startsWith('google/protobuf/') ? target : join(dir, target));
  root.loadSync([...SERVING_PROTO_FILES], { keepCase: true });
  root.resolveAll();
  return (cachedRoot = root);
}

/** One message type of the vendored files, e.g. `tensorflow.serving.ModelServerConfig`. */
export function servingMessageType(fullName: string): protobuf.Type {
  return servingProtoRoot().lookupType(fullName);
}
