// Where a model lives in a bucket: `s3://bucket/prefix/model` → bucket and key prefix.
import { ServingError } from '../core/status.js';

/** A bucket and a key prefix without leading or trailing slashes ('' for the bucket's root). */
export interface S3Location {
  readonly bucket: string;
  readonly prefix: string;
}

/** True for `s3://…` base paths. */
export function isS3BasePath(basePath: string): boolean {
  return /^s3:\/\//i.test(basePath);
}

/** Parses `s3://bucket/prefix`; INVALID_ARGUMENT names what is wrong. */
export function parseS3Url(url: string): S3Location {
  const m = /^s3:\/\/([^/]+)\/*(.*?)\/*$/i.exec(url);
  const bucket = m?.[1];
  if (!m || !bucket) throw new ServingError('INVALID_ARGUMENT', `${JSON.stringify(url)} is not an S3 location; expected s3://BUCKET/PREFIX`);
  const prefix = m[2] ?? '';
  if (prefix && prefix.split('/').some((s) => s === '' || s === '.' || s === '..')) {
    throw new ServingError('INVALID_ARGUMENT', `${JSON.stringify(url)}: the key prefix ${JSON.stringify(prefix)} has an empty, "." or ".." segment`);
  }
  return { bucket, prefix };
}

/** The key of `rel` under the location's prefix. */
export function s3Key(location: S3Location, rel: string): string {
  return location.prefix ? `${location.prefix}/${rel}` : rel;
}

/** `s3://bucket/prefix` (for messages), or `s3://bucket/prefix/rel`. */
export function s3Url(location: S3Location, rel = ''): string {
  return `s3://${location.bucket}/${rel ? s3Key(location, rel) : location.prefix}`;
}
