// TF Serving's gRPC API (`--port 8500`) for a ModelServer with @grpc/grpc-js: PredictionService and
// ModelService from the vendored .proto files, messages unlimited in size as in TF Serving, and a
// graceful close that stops accepting calls and lets in-flight ones finish.
import type { ChannelOptions, ServiceDefinition, UntypedServiceImplementation, sendUnaryData, ServerUnaryCall } from '@grpc/grpc-js';
import { Server, ServerCredentials } from '@grpc/grpc-js';
import { ServingError, messageOf } from '../core/status.js';
import type { ModelServer } from '../server/model-server.js';
import type { GrpcCall } from './model-spec.js';
import { modelServiceHandlers } from './model-service.js';
import { predictionServiceHandlers } from './prediction-service.js';
import { servingServices } from './service-definitions.js';
import { toServiceError } from './status-codes.js';

export interface GrpcServerOptions {
  /** Port to listen on (`--port`); 0 picks a free one. Default 8500. */
  port?: number;
  /** Host to bind. Default 0.0.0.0. */
  host?: string;
  /** Extra channel arguments (`--grpc_channel_arguments`), e.g. `{'grpc.max_concurrent_streams': 100}`. */
  channelOptions?: ChannelOptions;
}

export interface GrpcServer {
  readonly server: Server;
  /** The port it listens on. */
  readonly port: number;
  /** Calls being answered now. */
  readonly inFlight: number;
  /** Stops accepting calls and resolves when every in-flight call has been answered. */
  close(): Promise<void>;
}

/** TF Serving sets the largest message size to INT32_MAX both ways (model_servers/server.cc). */
const MAX_MESSAGE_BYTES = 2 ** 31 - 1;

/** Parses `--grpc_channel_arguments` (`key=value,key2=value2`; integer values become numbers). */
export function parseGrpcChannelArguments(text: string): ChannelOptions {
  const out: Record<string, string | number> = {};
  for (const part of text.split(',').map((s) => s.trim()).filter(Boolean)) {
    const eq = part.indexOf('=');
    if (eq <= 0) throw new ServingError('INVALID_ARGUMENT', `--grpc_channel_arguments: ${JSON.stringify(part)} is not key=value`);
    const value = part.slice(eq + 1).trim();
    out[part.slice(0, eq).trim()] = /^-?\d+$/.test(value) ? Number(value) : value;
  }
  return out;
}

/** The client's deadline of a call as a Date.now() time, or undefined when it set none. */
function deadlineOf(call: ServerUnaryCall<unknown, object>): number | undefined {
  const d = call.getDeadline();
  const ms = d instanceof Date ? d.getTime() : d;
  return Number.isFinite(ms) ? ms : undefined;
}

/** gRPC metadata key of the user id (REST's `X-Tfjs-Serving-User` header), for canary routing. */
export const USER_ID_METADATA = 'x-tfjs-serving-user';

/** The call's deadline and user id; INVALID_ARGUMENT for a user id that is empty or over 256 characters. */
function callOf(call: ServerUnaryCall<unknown, object>): GrpcCall {
  const deadline = deadlineOf(call);
  const values = call.metadata.get(USER_ID_METADATA);
  const first = values[0];
  const userId = first === undefined ? undefined : typeof first === 'string' ? first : first.toString('utf8');
  if (userId !== undefined && (userId === '' || userId.length > 256)) {
    throw new ServingError('INVALID_ARGUMENT', `metadata ${USER_ID_METADATA} must be a user id of 1 to 256 characters, got ${userId.length} characters`);
  }
  return { ...(deadline !== undefined ? { deadline } : {}), ...(userId !== undefined ? { userId } : {}) };
}

/** Serves PredictionService and ModelService for `model` on host:port. */
export async function startGrpcServer(model: ModelServer, options: GrpcServerOptions = {}): Promise<GrpcServer> {
  const server = new Server({
    'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
    'grpc.max_send_message_length': MAX_MESSAGE_BYTES,
    ...options.channelOptions,
  });
  let inFlight = 0;
  let idle: (() => void) | undefined;
  const implement = (service: ServiceDefinition, handlers: Record<string, (request: never, call: GrpcCall) => Promise<object>>): UntypedServiceImplementation => {
    const impl: UntypedServiceImplementation = {};
    for (const method of Object.keys(service)) {
      const handler = handlers[method];
      if (!handler) continue;
      impl[method] = (call: ServerUnaryCall<unknown, object>, callback: sendUnaryData<object>) => {
        inFlight++;
        Promise.resolve()
          .then(() => handler(call.request as never, callOf(call)))
          .then(
            (response) => callback(null, response),
            (e: unknown) => callback(toServiceError(e)),
          )
          .finally(() => {
            inFlight--;
            if (inFlight === 0) idle?.();
          });
      };
    }
    return impl;
  };
  const services = servingServices();
  server.addService(services.PredictionService.service, implement(services.PredictionService.service, predictionServiceHandlers(model)));
  server.addService(services.ModelService.service, implement(services.ModelService.service, modelServiceHandlers(model)));
  const host = options.host ?? '0.0.0.0';
  const address = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(`${address}:${options.port ?? 8500}`, ServerCredentials.createInsecure(), (error, bound) => {
      if (error) reject(new ServingError('UNAVAILABLE', `gRPC server cannot listen on ${address}:${options.port ?? 8500}: ${messageOf(error)}`, { cause: error }));
      else resolve(bound);
    });
  });
  let closed: Promise<void> | undefined;
  return {
    server,
    port,
    get inFlight() {
      return inFlight;
    },
    close() {
      closed ??= (async () => {
        // tryShutdown stops accepting and waits for the calls in progress.
        const drained = inFlight > 0 ? new Promise<void>((resolve) => (idle = resolve)) : Promise.resolve();
        await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
        await drained;
      })();
      return closed;
    },
  };
}
