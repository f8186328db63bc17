// An S3 client configured like TF Serving's and KServe's: credentials, region and endpoint from the
// standard AWS environment variables (see docs/deploy.md, "Buckets").
import { Agent } from 'node:https';
import { S3Client } from '@aws-sdk/client-s3';
import type { S3ClientConfig } from '@aws-sdk/client-s3';

/** The environment the settings are read from (process.env by default). */
export type S3Environment = Readonly<Record<string, string | undefined>>;

/** An S3 client and what error messages say about where it points. */
export interface S3Connection {
  readonly client: S3Client;
  /** The endpoint (`AWS S3 (us-east-1)` or the S3_ENDPOINT URL), for messages. */
  readonly endpoint: string;
}

const truthy = (v: string | undefined) => v !== undefined && /^(1|true|yes|on)$/i.test(v.trim());
const falsy = (v: string | undefined) => v !== undefined && /^(0|false|no|off)$/i.test(v.trim());

/**
 * The client settings the environment gives:
 * - region: `AWS_REGION`, `AWS_DEFAULT_REGION`, `S3_REGION` (TF Serving's deprecated one), else us-east-1;
 * - endpoint: `AWS_ENDPOINT_URL_S3`, `AWS_ENDPOINT_URL`, `S3_ENDPOINT` (TF Serving's `HOST:PORT`, scheme from
 *   `S3_USE_HTTPS`: `0` is http); an S3-compatible endpoint is addressed path-style (as TF Serving does)
 *   unless `S3_USER_VIRTUAL_BUCKET` (KServe's) is true; `S3_VERIFY_SSL=0` accepts any certificate;
 * - credentials: `AWS_ACCESS_KEY_ID` + `AWS_SECRET_ACCESS_KEY` (+ `AWS_SESSION_TOKEN`), or unsigned requests
 *   with `awsAnonymousCredential=true` (KServe's), else the SDK's default chain (profile, web identity/IRSA,
 *   container and instance roles);
 * - `S3_CONNECT_TIMEOUT_MSEC`, `S3_REQUEST_TIMEOUT_MSEC`: the client's timeouts.
 */
export function s3ClientConfig(env: S3Environment = process.env): { config: S3ClientConfig; endpoint: string } {
  const region = env.AWS_REGION || env.AWS_DEFAULT_REGION || env.S3_REGION || 'us-east-1';
  const rawEndpoint = env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL || env.S3_ENDPOINT;
  const scheme = falsy(env.S3_USE_HTTPS) ? 'http' : 'https';
  const endpoint = rawEndpoint ? (/^[a-z][a-z\d+.-]*:\/\//i.test(rawEndpoint) ? rawEndpoint : `${scheme}://${rawEndpoint}`) : undefined;
  const config: S3ClientConfig = { region };
  if (endpoint) {
    config.endpoint = endpoint;
    config.forcePathStyle = !truthy(env.S3_USER_VIRTUAL_BUCKET);
  }
  if (env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY) {
    config.credentials = { accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY, ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}) };
  } else if (truthy(env.awsAnonymousCredential) || truthy(env.AWS_ANONYMOUS_CREDENTIAL)) {
    config.signer = { sign: async (request) => request }; // a public bucket: no signature at all
  }
  const connectionTimeout = Number(env.S3_CONNECT_TIMEOUT_MSEC) || undefined;
  const requestTimeout = Number(env.S3_REQUEST_TIMEOUT_MSEC) || undefined;
  const insecure = falsy(env.S3_VERIFY_SSL);
  if (connectionTimeout || requestTimeout || insecure) {
    config.requestHandler = { connectionTimeout, requestTimeout, ...(insecure ? { httpsAgent: new Agent({ rejectUnauthorized: false }) } : {}) };
  }
  return { config, endpoint: endpoint ?? `AWS S3 (${region})` };
}

/** An S3 client from the environment (see `s3ClientConfig`). */
export function createS3Connection(env: S3Environment = process.env): S3Connection {
  const { config, endpoint } = s3ClientConfig(env);
  return { client: new S3Client(config), endpoint };
}
