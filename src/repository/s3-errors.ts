// What an S3 error means for serving: TF Serving's status codes, and messages that name the bucket and
// what to check.
import type { StatusCode } from '../core/status.js';
import { ServingError, messageOf } from '../core/status.js';

/** What was being done, for the message: `GET s3://b/m/manifest.json`, `listing s3://b/m/`. */
export interface S3Request {
  readonly bucket: string;
  readonly what: string;
  /** Where the client points (`AWS S3 (us-east-1)`, `http://127.0.0.1:9000`). */
  readonly endpoint: string;
}

interface SdkErrorShape {
  readonly name?: string;
  readonly Code?: string;
  readonly message?: string;
  readonly $metadata?: { readonly httpStatusCode?: number };
}

/** The S3 error code (`AccessDenied`, `NoSuchKey`, …) and HTTP status of an SDK error, when it is one. */
export function s3ErrorCode(e: unknown): { code: string | undefined; status: number | undefined } {
  if (typeof e !== 'object' || e === null) return { code: undefined, status: undefined };
  const err = e as SdkErrorShape; // the SDK's ServiceException shape, read defensively
  return { code: err.Code ?? err.name, status: err.$metadata?.httpStatusCode };
}

const CREDENTIALS = 'AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN for temporary credentials)';

/**
 * A ServingError for an S3 failure: bad or missing credentials are UNAUTHENTICATED, a refused request
 * PERMISSION_DENIED, a missing bucket or key NOT_FOUND, throttling RESOURCE_EXHAUSTED… and the rest
 * (5xx, the network) UNAVAILABLE, each naming the bucket and what to check.
 */
export function s3ServingError(e: unknown, request: S3Request): ServingError {
  if (e instanceof ServingError) return e;
  const { code, status } = s3ErrorCode(e);
  const at = `${request.what} at ${request.endpoint}`;
  const detail = messageOf(e);
  const make = (c: StatusCode, message: string) => new ServingError(c, message, { cause: e });
  switch (code) {
    case 'InvalidAccessKeyId':
      return make('UNAUTHENTICATED', `${at}: the access key id is not known to the S3 service (${detail}); check ${CREDENTIALS}`);
    case 'SignatureDoesNotMatch':
      return make('UNAUTHENTICATED', `${at}: the request signature does not match (${detail}); check AWS_SECRET_ACCESS_KEY (and AWS_REGION)`);
    case 'ExpiredToken':
    case 'InvalidToken':
    case 'TokenRefreshRequired':
    case 'RequestExpired':
      return make('UNAUTHENTICATED', `${at}: the credentials expired or are invalid (${detail}); refresh ${CREDENTIALS}`);
    case 'CredentialsProviderError':
      return make('UNAUTHENTICATED', `${at}: no AWS credentials were found (${detail}); set ${CREDENTIALS}, or awsAnonymousCredential=true for a public bucket`);
    case 'AccessDenied':
    case 'AllAccessDisabled':
      return make('PERMISSION_DENIED', `${at}: access to bucket ${request.bucket} was denied (${detail}); check ${CREDENTIALS} and that the bucket's policy lets them s3:ListBucket and s3:GetObject (s3:PutObject to publish)`);
    case 'NoSuchBucket':
      return make('NOT_FOUND', `${at}: bucket ${request.bucket} does not exist; check the bucket name, AWS_REGION and the endpoint (S3_ENDPOINT/AWS_ENDPOINT_URL)`);
    case 'NoSuchKey':
    case 'NotFound':
      return make('NOT_FOUND', `${at}: no such object in bucket ${request.bucket}`);
    case 'SlowDown':
    case 'Throttling':
    case 'ThrottlingException':
      return make('RESOURCE_EXHAUSTED', `${at}: the S3 service is throttling requests (${detail})`);
    case 'PermanentRedirect':
    case 'AuthorizationHeaderMalformed':
    case 'IllegalLocationConstraintException':
      return make('FAILED_PRECONDITION', `${at}: bucket ${request.bucket} is in another region or needs another endpoint (${detail}); check AWS_REGION and S3_ENDPOINT`);
  }
  if (status === 401) return make('UNAUTHENTICATED', `${at}: HTTP 401 (${detail}); check ${CREDENTIALS}`);
  if (status === 403) return make('PERMISSION_DENIED', `${at}: HTTP 403, access to bucket ${request.bucket} was denied (${detail}); check ${CREDENTIALS} and the bucket's policy`);
  if (status === 404) return make('NOT_FOUND', `${at}: HTTP 404 (${detail})`);
  return make('UNAVAILABLE', `${at} failed: ${code && code !== detail ? `${code}: ` : ''}${detail}`);
}
