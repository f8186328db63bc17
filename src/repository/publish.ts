// Publishing a version into a static model repository — a directory, or a bucket (`s3://…`): the
// version's files first, the manifest last.
import { isValidVersion } from '../core/servable-id.js';
import { ServingError } from '../core/status.js';
import type { VersionFile } from '../storage/model-store.js';
import { DirectoryPublishTarget } from './directory-publish-target.js';
import type { ManifestVersion, ModelManifest } from './manifest.js';
import { MANIFEST_FORMAT, MANIFEST_FORMAT_VERSION } from './manifest.js';
import { signManifest } from './manifest-signature.js';
import type { PublishTarget } from './publish-target.js';
import { isS3BasePath } from './s3-location.js';
import { readVersionDirectory, versionFileRecord } from './version-directory.js';
import { shardWeightsByName } from './weight-sharding.js';

export interface PublishOptions {
  /** The version number; default: the highest published version + 1 (or 1). */
  version?: number;
  /** Called with a line of progress for humans. */
  log?: (line: string) => void;
  /**
   * Ed25519 private keys (PKCS#8 PEM text or DER bytes) that sign the new manifest; servers whose model
   * config lists the matching `trustedPublicKeys` accept only manifests signed so. Several keys give
   * several signatures (key rotation). Without keys the manifest is written unsigned.
   */
  signingKeys?: ReadonlyArray<string | Uint8Array<ArrayBuffer>>;
  /**
   * Re-shard the weights so each weight has its own shard file(s), named by the weight's name
   * (`shardWeightsByName` in weight-sharding.ts): a weight that did not change keeps its bytes and
   * SHA-256 across versions, so stores that already hold it do not download it again. Default true;
   * false publishes the model's shards as they are.
   */
  shardByWeight?: boolean;
}

export interface PublishResult {
  readonly model: string;
  readonly version: number;
  readonly files: readonly VersionFile[];
  readonly manifestPath: string;
}

/**
 * Adds a model as a new version of `<repository>/<model>`: writes model.json, its weight shards and an
 * optional warmup.json into `<version>/` through a temporary directory and one rename, then rewrites
 * `manifest.json` last, atomically (temporary file + rename), so a poller never sees a half-published
 * version. `modelDir` may also be `s3://bucket/prefix/model`: each file is uploaded (PutObject is atomic
 * per object), then the manifest, with the client the AWS environment variables configure (s3-client.ts).
 *
 * `source` is a graph model directory holding `model.json`, the path of the model's JSON file
 * (e.g. `models/emotion.json`), or a TensorFlow SavedModel directory (converted first, with every
 * serving signature, keeping its warmup.json) — read exactly as the file-system source reads a version.
 */
export async function publishGraphModel(source: string, modelDir: string, options: PublishOptions = {}): Promise<PublishResult> {
  const log = options.log ?? (() => undefined);
  const read = await readVersionDirectory(source);
  if (read.kind === 'saved-model') log(`converted ${source}`);
  for (const [name, why] of Object.entries(read.skippedSignatures)) log(`  skipped signature ${name}: ${why}`);

  const target = await publishTarget(modelDir);
  try {
    const name = target.model;
    const manifestPath = target.manifestLocation;
    const manifest: ModelManifest = (await target.readManifest()) ?? { format: MANIFEST_FORMAT, formatVersion: MANIFEST_FORMAT_VERSION, name, versions: [] };
    if (manifest.name !== name) {
      throw new ServingError('FAILED_PRECONDITION', `${manifestPath} is the manifest of model ${JSON.stringify(manifest.name)}, not ${JSON.stringify(name)}`);
    }
    const version = options.version ?? Math.max(0, ...manifest.versions.map((v) => v.version)) + 1;
    if (!isValidVersion(version)) throw new ServingError('INVALID_ARGUMENT', `--version must be a non-negative integer, got ${String(options.version)}`);
    if (manifest.versions.some((v) => v.version === version)) {
      throw new ServingError('ALREADY_EXISTS', `version ${version} of ${name} is already published in ${manifestPath}; versions are immutable, publish a new one`);
    }

    const written = options.shardByWeight !== false ? shardWeightsByName(read.files, source) : read.files;
    await target.writeVersion(version, written, log);
    const files: VersionFile[] = written.map(versionFileRecord);
    const entry: ManifestVersion = { version, files, publishedAt: new Date().toISOString() };
    // Publishing a version brings a retired model back; the old signatures cover the old manifest only.
    const { retired: _retired, signatures: oldSignatures, ...live } = manifest;
    const unsigned: ModelManifest = { ...live, versions: [...manifest.versions, entry].sort((a, b) => a.version - b.version) };
    const keys = options.signingKeys ?? [];
    if (keys.length === 0 && oldSignatures?.length) log(`warning: ${manifestPath} was signed; the new manifest is not (pass the signing key)`);
    const signatures = await Promise.all(keys.map((k) => signManifest(unsigned, k)));
    await target.writeManifest(signatures.length ? { ...unsigned, signatures } : unsigned);
    log(`published ${name} version ${version} (${files.length} files${signatures.length ? `, signed by ${signatures.map((x) => x.keyId).join(', ')}` : ''}) → ${manifestPath}`);
    return { model: name, version, files, manifestPath };
  } finally {
    target.close();
  }
}

/** The directory target, or the bucket target for `s3://…` (loaded only then: it carries the AWS SDK). */
async function publishTarget(modelDir: string): Promise<PublishTarget> {
  if (!isS3BasePath(modelDir)) return new DirectoryPublishTarget(modelDir);
  const { S3PublishTarget } = await import('./s3-publish-target.js');
  return new S3PublishTarget(modelDir);
}
