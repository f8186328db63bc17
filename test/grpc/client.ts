// A TF Serving gRPC client built independently of src/grpc: @grpc/proto-loader + @grpc/grpc-js from
// the vendored .proto files, and protobufjs to unpack Any.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import protobuf from 'protobufjs';

const here = dirname(fileURLToPath(import.meta.url));
export const PROTO_DIR = join(here, '..', '..', 'proto');

const definition = loadSync(['tensorflow_serving/apis/prediction_service.proto', 'tensorflow_serving/apis/model_service.proto'], {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
  includeDirs: [PROTO_DIR],
});
const serving = (grpc.loadPackageDefinition(definition) as any).tensorflow.serving;

export interface CallError extends Error {
  code: number;
  details: string;
}

export interface ServingClient {
  /** One call; `deadlineMs` from now (default 120 s), with optional metadata (key → value). */
  call(method: string, request: object, deadlineMs?: number, metadata?: Record<string, string>): Promise<any>;
  close(): void;
}

/** Clients of both services on 127.0.0.1:port; `call('Predict', …)` or `call('GetModelStatus', …)`. */
export function servingClient(port: number): ServingClient {
  const options = { 'grpc.max_receive_message_length': -1, 'grpc.max_send_message_length': -1 };
  const address = `127.0.0.1:${port}`;
  const prediction = new serving.PredictionService(address, grpc.credentials.createInsecure(), options);
  const model = new serving.ModelService(address, grpc.credentials.createInsecure(), options);
  return {
    call(method, request, deadlineMs = 120_000, metadata = {}) {
      const client = method in serving.ModelService.service ? model : prediction;
      const meta = new grpc.Metadata();
      for (const [key, value] of Object.entries(metadata)) meta.set(key, value);
      return new Promise((resolve, reject) => {
        client[method](request, meta, { deadline: Date.now() + deadlineMs }, (error: CallError | null, response: unknown) => (error ? reject(error) : resolve(response)));
      });
    },
    close() {
      prediction.close();
      model.close();
    },
  };
}

let root: protobuf.Root | undefined;

/** The vendored files as a protobufjs Root (for Any payloads). */
export function protoRoot(): protobuf.Root {
  if (root) return root;
  root = new protobuf.Root();
  root.resolvePath = (_o, t) => (t.startsWith('google/protobuf/') ? t : join(PROTO_DIR, t));
  root.loadSync('tensorflow_serving/apis/get_model_metadata.proto', { keepCase: true });
  root.resolveAll();
  return root;
}

/** Rejects with the gRPC error of a call that must fail. */
export async function callError(promise: Promise<unknown>): Promise<CallError> {
  try {
    await promise;
  } catch (e) {
    return e as CallError;
  }
  throw new Error('the call succeeded but should have failed');
}

export function floatContent(values: number[]): Buffer {
  const b = Buffer.alloc(values.length * 4);
  values.forEach((v, i) => b.writeFloatLE(v, i * 4));
  return b;
}

export function shape(...dims: number[]): { dim: Array<{ size: string }> } {
  return { dim: dims.map((d) => ({ size: String(d) })) };
}
