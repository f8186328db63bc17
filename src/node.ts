// tfjs-serving for Node: everything in the main entry, plus what needs the file system.
export * from './index.js';
export { FileSystemModelStore } from './storage/file-system-model-store.js';
export { publishGraphModel } from './cli/publish.js';
export type { PublishOptions, PublishResult } from './cli/publish.js';
export { FileSystemSource, isLocalDirectoryBasePath } from './sources/file-system-source.js';
export type { FileSystemSourceOptions } from './sources/file-system-source.js';
export { startRestServer } from './rest/node-http.js';
export type { RestServer } from './rest/node-http.js';
export { startServe } from './cli/serve.js';
export { startGrpcServer, parseGrpcChannelArguments } from './grpc/grpc-server.js';
export type { GrpcServer, GrpcServerOptions } from './grpc/grpc-server.js';
export { parseTextFormat, TextFormatError } from './config/text-format.js';
export { parseModelServerConfigText, modelConfigsFromProto } from './config/model-server-config.js';
export { parseBatchingParametersText } from './config/batching-parameters-file.js';
export { parseMonitoringConfigText } from './config/monitoring-config-file.js';
