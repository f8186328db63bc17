/**
 * TensorFlow's own `.proto` files (vendored under `proto/`, see proto/NOTICE.md), decoded with
 * protobufjs: the schema lives in one place and matches TensorFlow's field for field. The files are
 * parsed once, on first use; messages come back as plain objects (camelCase field names, int64 as
 * numbers, enums as numbers, bytes as Uint8Array (Buffer) views of the input, empty arrays / objects for absent
 * repeated / map fields, absent scalars undefined, oneof members present only when set), which is the
 * shape `messages.ts` types.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import { ConverterError } from '../errors.js';

const ROOT_FILES = [
  'tensorflow/core/protobuf/saved_model.proto',
  'tensorflow/core/protobuf/tensor_bundle.proto',
  'tensorflow/core/protobuf/trackable_object_graph.proto',
];

const TO_OBJECT: protobuf.IConversionOptions = { longs: Number, enums: Number, arrays: true, objects: true, defaults: false, oneofs: false };

/** The vendored `proto/` folder: next to the package root, from src (converter/proto) or dist (dist/converter/proto). */
export function protoDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const candidate = join(dir, 'proto');
    if (existsSync(join(candidate, ROOT_FILES[0]!))) return candidate;
    dir = dirname(dir);
  }
  throw new ConverterError('FAILED_PRECONDITION', `TensorFlow's .proto files (proto/${ROOT_FILES[0]}) were not found above ${fileURLToPath(import.meta.url)}`);
}

let root: protobuf.Root | undefined;

function loadRoot(): protobuf.Root {
  if (root) return root;
  const base = protoDir();
  const r = new protobuf.Root();
  // Imports resolve against proto/ (TensorFlow's include root); google/protobuf/* are protobufjs's bundled copies.
  r.resolvePath = (_origin, target) => (target.startsWith('google/protobuf/') ? target : join(base, target));
  r.loadSync(ROOT_FILES, { keepCase: false });
  r.resolveAll();
  root = r;
  return r;
}

const types = new Map<string, protobuf.Type>();

function typeOf(name: string): protobuf.Type {
  let t = types.get(name);
  if (!t) {
    t = loadRoot().lookupType(name);
    types.set(name, t);
  }
  return t;
}

/** Decodes `bytes` as TensorFlow message `name` (e.g. "tensorflow.SavedModel") into a plain object. */
export function decodeTf<T>(name: string, bytes: Uint8Array, what = name): T {
  const type = typeOf(name);
  // A Buffer view (no copy): protobufjs then reads strings with Node's native UTF-8 decoder (about twice
  // as fast on a function-heavy saved_model.pb) and returns bytes fields as Buffer views of the input.
  const input = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let msg: protobuf.Message;
  try {
    msg = type.decode(input);
  } catch (e) {
    throw new ConverterError('DATA_LOSS', `${what}: not a valid ${name} (${e instanceof Error ? e.message : String(e)})`);
  }
  return type.toObject(msg, TO_OBJECT) as T;
}
