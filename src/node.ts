// tfjs-serving for Node: everything in the main entry, plus what needs the file system.
export * from './index.js';
export { FileSystemModelStore } from './storage/file-system-model-store.js';
export { publishGraphModel } from './cli/publish.js';
export type { PublishOptions, PublishResult } from './cli/publish.js';
