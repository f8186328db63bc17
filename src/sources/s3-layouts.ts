// The two layouts of a model in a bucket, each a store-importing source over one S3 connection. Loaded
// by the S3Source when it starts, so importing tfjs-serving/node does not load the AWS SDK.
import type { S3Connection, S3Environment } from '../repository/s3-client.js';
import { createS3Connection } from '../repository/s3-client.js';
import type { S3Location } from '../repository/s3-location.js';
import { HttpSource } from './http-source.js';
import type { ModelSource } from './model-source.js';
import { s3Fetch } from './s3-fetch.js';
import { S3ListingSource } from './s3-listing-source.js';
import type { StoreImportingSourceOptions } from './store-importing-source.js';

export interface S3LayoutOptions<T> extends StoreImportingSourceOptions<T> {
  readonly pollIntervalMs?: number;
  readonly requestTimeoutMs?: number;
  readonly maxBackoffMs?: number;
  /** Only manifests signed by one of these keys are accepted: the manifest layout alone (a listing has no signature). */
  readonly trustedPublicKeys?: readonly string[];
}

export { createS3Connection };
export type { S3Connection, S3Environment };

/** This project's manifest layout: the HttpSource reading `s3://…/manifest.json` through signed GetObjects. */
export function manifestLayoutSource<T>(options: S3LayoutOptions<T>, connection: S3Connection): ModelSource<T> {
  return new HttpSource<T>({ ...options, fetch: s3Fetch(connection) });
}

/** TF Serving's layout, found by listing. */
export function listingLayoutSource<T>(options: S3LayoutOptions<T>, connection: S3Connection, location: S3Location, onManifestFound: () => void): ModelSource<T> {
  return new S3ListingSource<T>({ ...options, connection, location, onManifestFound });
}
