// PredictionService and ModelService loaded with @grpc/proto-loader from the vendored .proto files.
import type { GrpcObject, ServiceClientConstructor } from '@grpc/grpc-js';
import { loadPackageDefinition } from '@grpc/grpc-js';
import type { Options } from '@grpc/proto-loader';
import { loadSync } from '@grpc/proto-loader';
import { protoDir } from '../config/proto-root.js';

/**
 * How messages look in handlers: .proto field names, int64 as decimal strings, enums as names,
 * bytes as Buffers, empty arrays/maps present, and the name of the set member of each oneof.
 */
export const PROTO_LOADER_OPTIONS: Options = {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: false,
  arrays: true,
  objects: true,
  oneofs: true,
};

export interface ServingServices {
  readonly PredictionService: ServiceClientConstructor;
  readonly ModelService: ServiceClientConstructor;
}

let cached: ServingServices | undefined;

/** `tensorflow.serving.PredictionService` and `tensorflow.serving.ModelService`. */
export function servingServices(): ServingServices {
  if (cached) return cached;
  const definition = loadSync(['tensorflow_serving/apis/prediction_service.proto', 'tensorflow_serving/apis/model_service.proto'], {
    ...PROTO_LOADER_OPTIONS,
    includeDirs: [protoDir()],
  });
  const grpc = loadPackageDefinition(definition) as unknown as { tensorflow: { serving: GrpcObject } };
  const serving = grpc.tensorflow.serving;
  cached = {
    PredictionService: serving.PredictionService as ServiceClientConstructor,
    ModelService: serving.ModelService as ServiceClientConstructor,
  };
  return cached;
}
