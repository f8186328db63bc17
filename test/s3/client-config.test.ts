// The S3 client settings read from TF Serving's and KServe's environment variables.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { s3ClientConfig } from '../../src/repository/s3-client.js';
import { isS3BasePath, parseS3Url, s3Url } from '../../src/repository/s3-location.js';

test("TF Serving's variables: S3_ENDPOINT without a scheme, S3_USE_HTTPS=0, AWS_REGION, path-style", () => {
  const { config, endpoint } = s3ClientConfig({ S3_ENDPOINT: 'minio.local:9000', S3_USE_HTTPS: '0', AWS_REGION: 'eu-west-1', AWS_ACCESS_KEY_ID: 'AK', AWS_SECRET_ACCESS_KEY: 'SK' });
  assert.equal(config.endpoint, 'http://minio.local:9000');
  assert.equal(endpoint, 'http://minio.local:9000');
  assert.equal(config.region, 'eu-west-1');
  assert.equal(config.forcePathStyle, true);
  assert.deepEqual(config.credentials, { accessKeyId: 'AK', secretAccessKey: 'SK' });
});

test('AWS_ENDPOINT_URL_S3 wins over AWS_ENDPOINT_URL over S3_ENDPOINT; https by default; the session token is passed', () => {
  const { config } = s3ClientConfig({ AWS_ENDPOINT_URL_S3: 'https://s3.a', AWS_ENDPOINT_URL: 'https://b', S3_ENDPOINT: 'c', AWS_ACCESS_KEY_ID: 'AK', AWS_SECRET_ACCESS_KEY: 'SK', AWS_SESSION_TOKEN: 'T' });
  assert.equal(config.endpoint, 'https://s3.a');
  assert.deepEqual(config.credentials, { accessKeyId: 'AK', secretAccessKey: 'SK', sessionToken: 'T' });
  assert.equal(s3ClientConfig({ S3_ENDPOINT: 'host:1' }).config.endpoint, 'https://host:1');
  assert.equal(s3ClientConfig({ AWS_ENDPOINT_URL: 'http://b:2', S3_ENDPOINT: 'c' }).config.endpoint, 'http://b:2');
});

test("AWS S3 itself: region from AWS_DEFAULT_REGION (else us-east-1), virtual-hosted, the SDK's credential chain", () => {
  const { config, endpoint } = s3ClientConfig({ AWS_DEFAULT_REGION: 'ap-south-1' });
  assert.equal(config.region, 'ap-south-1');
  assert.equal(config.endpoint, undefined);
  assert.equal(config.forcePathStyle, undefined);
  assert.equal(config.credentials, undefined);
  assert.equal(endpoint, 'AWS S3 (ap-south-1)');
  assert.equal(s3ClientConfig({}).config.region, 'us-east-1');
  assert.equal(s3ClientConfig({ S3_ENDPOINT: 'h', S3_USER_VIRTUAL_BUCKET: 'true' }).config.forcePathStyle, false);
});

test("KServe's awsAnonymousCredential=true sends unsigned requests (a public bucket)", async () => {
  const { config } = s3ClientConfig({ awsAnonymousCredential: 'true' });
  assert.ok(config.signer && typeof config.signer === 'object' && 'sign' in config.signer);
});

test('s3:// base paths', () => {
  assert.equal(isS3BasePath('s3://b/m'), true);
  assert.equal(isS3BasePath('/models/m'), false);
  assert.deepEqual(parseS3Url('s3://bucket/a/b/'), { bucket: 'bucket', prefix: 'a/b' });
  assert.deepEqual(parseS3Url('s3://bucket'), { bucket: 'bucket', prefix: '' });
  assert.equal(s3Url(parseS3Url('s3://bucket/a/b/'), 'manifest.json'), 's3://bucket/a/b/manifest.json');
  assert.throws(() => parseS3Url('s3://bucket/a/../b'), (e: Error & { code?: string }) => e.code === 'INVALID_ARGUMENT' && /"\.\."/.test(e.message));
  assert.throws(() => parseS3Url('s3:///x'), (e: Error & { code?: string }) => e.code === 'INVALID_ARGUMENT');
});
