// Node only: local directories laid out like TF Serving's base_path are polled by the FileSystemSource.
import type { Servable } from '../runtime/servable.js';
import { FileSystemSource, isLocalDirectoryBasePath } from '../sources/file-system-source.js';
import type { SourceFactory } from './source-registry.js';
import { registerSourceFactory } from './source-registry.js';

export const fileSystemSourceFactory: SourceFactory = {
  name: 'file-system',
  handles: isLocalDirectoryBasePath,
  create: (options) => new FileSystemSource<Servable>(options),
};

/** Lets servers in this process serve local directories (done by `tfjs-serving/node` and the CLI). */
export function registerFileSystemSource(): void {
  registerSourceFactory(fileSystemSourceFactory);
}
