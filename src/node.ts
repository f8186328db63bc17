// tfjs-serving for Node: everything in the main entry, plus what needs the file system. Importing it
// lets servers in this process serve local directories laid out like TF Serving's base_path, and
// models in S3 buckets (`s3://bucket/prefix`).
import { registerFileSystemSource } from './server/file-system-source-factory.js';
import { registerS3Source } from './server/s3-source-factory.js';

registerFileSystemSource();
registerS3Source();

export * from './index.js';
export { FileSystemModelStore } from './storage/file-system-model-store.js';
export { publishGraphModel } from './repository/publish.js';
export type { PublishOptions, PublishResult } from './repository/publish.js';
export { generateSigningKey } from './repository/manifest-signature.js';
export { readVersionDirectory } from './repository/version-directory.js';
export type { VersionDirectory, VersionFileData } from './repository/version-directory.js';
export { FileSystemSource, isLocalDirectoryBasePath } from './sources/file-system-source.js';
export type { FileSystemSourceOptions } from './sources/file-system-source.js';
export { startRestServer } from './rest/node-http.js';
export type { RestServer } from './rest/node-http.js';
export { startServe } from './cli/serve.js';
export { startGrpcServer } from './grpc/grpc-server.js';
export type { GrpcServer, GrpcServerOptions } from './grpc/grpc-server.js';
export { parseModelServerConfigText, modelConfigsFromProto } from './config/model-server-config.js';
export { parseBatchingParametersText } from './config/batching-parameters-file.js';
export { parseMonitoringConfigText } from './config/monitoring-config-file.js';
