// Sets the AWS environment variables a server reads when its S3 sources start, and restores them.
import type { S3TestServer } from './s3-test-server.js';

const NAMES = ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_REGION', 'AWS_DEFAULT_REGION', 'S3_ENDPOINT', 'AWS_ENDPOINT_URL', 'AWS_ENDPOINT_URL_S3', 'S3_USE_HTTPS', 'AWS_EC2_METADATA_DISABLED', 'AWS_PROFILE'];

/** Runs `fn` with `env` as the AWS environment (the others of NAMES unset), then restores process.env. */
export async function withAwsEnv<R>(env: Record<string, string>, fn: () => Promise<R>): Promise<R> {
  const saved = new Map(NAMES.map((n) => [n, process.env[n]]));
  for (const n of NAMES) delete process.env[n];
  Object.assign(process.env, env);
  try {
    return await fn();
  } finally {
    for (const [n, v] of saved) {
      if (v === undefined) delete process.env[n];
      else process.env[n] = v;
    }
  }
}

/** The admin environment of `s3`, for publishing. */
export function adminEnv(s3: S3TestServer): Record<string, string> {
  return s3.env();
}
