// A `fetch` over S3 for the HttpSource: a GET of `s3://bucket/key` (with If-None-Match) becomes a signed
// GetObject, so the manifest layout in a bucket is read by the HttpSource's own manifest, download and
// verification code.
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { ServingError } from '../core/status.js';
import type { S3Connection } from '../repository/s3-client.js';
import { s3ErrorCode, s3ServingError } from '../repository/s3-errors.js';

/**
 * Answers GETs of `s3://bucket/key` URLs: 200 with the object's body and ETag, 304 when If-None-Match
 * matches, 404 for a missing key. Any other failure is thrown as a ServingError with TF Serving's code
 * (wrong credentials are UNAUTHENTICATED, a refused request PERMISSION_DENIED, a missing bucket NOT_FOUND).
 */
export function s3Fetch(connection: S3Connection): typeof fetch {
  return async (input, init) => {
    const url = new URL(typeof input === 'string' ? input : input instanceof URL ? input.href : input.url);
    const method = init?.method ?? 'GET';
    if (url.protocol !== 's3:' || method !== 'GET') throw new ServingError('INTERNAL', `the S3 fetch only GETs s3:// URLs, not ${method} ${url.href}`);
    const bucket = url.host;
    const key = url.pathname.replace(/^\//, '').split('/').map(decodeURIComponent).join('/');
    const ifNoneMatch = new Headers(init?.headers).get('If-None-Match') ?? undefined;
    const signal = init?.signal ?? undefined;
    try {
      const out = await connection.client.send(new GetObjectCommand({ Bucket: bucket, Key: key, IfNoneMatch: ifNoneMatch }), { abortSignal: signal });
      const headers = new Headers();
      if (out.ETag) headers.set('ETag', out.ETag);
      if (out.ContentLength !== undefined) headers.set('Content-Length', String(out.ContentLength));
      return new Response(out.Body?.transformToWebStream() ?? null, { status: 200, headers });
    } catch (e) {
      if (signal?.aborted) throw signal.reason;
      const { code, status } = s3ErrorCode(e);
      if (status === 304) return new Response(null, { status: 304, statusText: 'Not Modified' });
      if (code === 'NoSuchKey') return new Response(null, { status: 404, statusText: 'Not Found' });
      throw s3ServingError(e, { bucket, what: `GET ${url.href}`, endpoint: connection.endpoint });
    }
  };
}
