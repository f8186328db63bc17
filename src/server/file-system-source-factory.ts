// Node only: local directories laid out like TF Serving's base_path are polled by the FileSystemSource.
import { ServingError } from '../core/status.js';
import type { Servable } from '../runtime/servable.js';
import { FileSystemSource, isLocalDirectoryBasePath } from '../sources/file-system-source.js';
import type { SourceFactory } from './source-registry.js';
import { registerSourceFactory } from './source-registry.js';

export const fileSystemSourceFactory: SourceFactory = {
  name: 'file-system',
  handles: isLocalDirectoryBasePath,
  create: (options) => {
    if (options.trustedPublicKeys?.length) {
      throw new ServingError('INVALID_ARGUMENT', `model ${options.name}: trustedPublicKeys needs a manifest repository (a URL); ${options.basePath} is a local directory, which has no signed manifest`);
    }
    return new FileSystemSource<Servable>(options);
  },
};

/** Lets servers in this process serve local directories (done by `tfjs-serving/node` and the CLI). */
export function registerFileSystemSource(): void {
  registerSourceFactory(fileSystemSourceFactory);
}
