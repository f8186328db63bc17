// Node only: `s3://bucket/prefix` base paths are polled by the S3Source (either layout). The AWS SDK is
// loaded only when such a source starts, and never reaches the browser bundle.
import type { Servable } from '../runtime/servable.js';
import { isS3BasePath } from '../repository/s3-location.js';
import { S3Source } from '../sources/s3-source.js';
import type { SourceFactory } from './source-registry.js';
import { registerSourceFactory } from './source-registry.js';

export const s3SourceFactory: SourceFactory = {
  name: 's3',
  handles: isS3BasePath,
  create: (options) => new S3Source<Servable>(options),
};

/** Lets servers in this process serve models from S3 buckets (done by `tfjs-serving/node` and the CLI). */
export function registerS3Source(): void {
  registerSourceFactory(s3SourceFactory);
}
