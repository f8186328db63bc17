// Publishing into a bucket: every file of the version is uploaded first (each PutObject is atomic), the
// manifest last, so a poller never sees half a version.
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import type { ModelManifest } from './manifest.js';
import { MANIFEST_FILE, parseManifest } from './manifest.js';
import type { PublishTarget } from './publish-target.js';
import type { S3Connection, S3Environment } from './s3-client.js';
import { createS3Connection } from './s3-client.js';
import { s3ErrorCode, s3ServingError } from './s3-errors.js';
import type { S3Location } from './s3-location.js';
import { parseS3Url, s3Key, s3Url } from './s3-location.js';
import type { VersionFileData } from './version-directory.js';
import { ServingError } from '../core/status.js';

export class S3PublishTarget implements PublishTarget {
  readonly model: string;
  readonly manifestLocation: string;
  private readonly location: S3Location;
  private readonly connection: S3Connection;

  /** `url` is `s3://bucket/prefix/model`; the client comes from `env` (see s3-client.ts). */
  constructor(url: string, env?: S3Environment) {
    this.location = parseS3Url(url);
    const model = this.location.prefix.split('/').pop();
    if (!model) throw new ServingError('INVALID_ARGUMENT', `${url}: name the model after the bucket (s3://BUCKET/[PREFIX/]MODEL)`);
    this.model = model;
    this.manifestLocation = s3Url(this.location, MANIFEST_FILE);
    this.connection = createS3Connection(env);
  }

  async readManifest(): Promise<ModelManifest | undefined> {
    const Key = s3Key(this.location, MANIFEST_FILE);
    try {
      const out = await this.connection.client.send(new GetObjectCommand({ Bucket: this.location.bucket, Key }));
      return parseManifest((await out.Body?.transformToString('utf-8')) ?? '', this.manifestLocation);
    } catch (e) {
      if (s3ErrorCode(e).code === 'NoSuchKey') return undefined; // nothing published yet
      if (e instanceof ServingError) throw e;
      throw this.error(e, `GET ${this.manifestLocation}`);
    }
  }

  async writeVersion(version: number, files: readonly VersionFileData[], log: (line: string) => void): Promise<void> {
    for (const file of files) {
      await this.put(`${version}/${file.path}`, file.bytes, file.path.endsWith('.json') ? 'application/json' : 'application/octet-stream');
      log(`  ${file.path} ${file.bytes.length} bytes → ${s3Url(this.location, `${version}/${file.path}`)}`);
    }
  }

  async writeManifest(manifest: ModelManifest): Promise<void> {
    await this.put(MANIFEST_FILE, new TextEncoder().encode(JSON.stringify(manifest, null, 2) + '\n'), 'application/json');
  }

  close(): void {
    this.connection.client.destroy();
  }

  private async put(rel: string, bytes: Uint8Array, contentType: string): Promise<void> {
    try {
      await this.connection.client.send(new PutObjectCommand({ Bucket: this.location.bucket, Key: s3Key(this.location, rel), Body: bytes, ContentType: contentType }));
    } catch (e) {
      throw this.error(e, `PUT ${s3Url(this.location, rel)}`);
    }
  }

  private error(e: unknown, what: string): ServingError {
    return s3ServingError(e, { bucket: this.location.bucket, what, endpoint: this.connection.endpoint });
  }
}
