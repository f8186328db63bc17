// Publishing a version into a static model repository: the version's files first (through a
// temporary directory and one rename), the manifest last (temporary file + rename).
import { randomUUID } from 'node:crypto';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { isValidVersion } from '../core/servable-id.js';
import { ServingError } from '../core/status.js';
import type { VersionFile } from '../storage/model-store.js';
import type { ManifestVersion, ModelManifest } from './manifest.js';
import { MANIFEST_FILE, MANIFEST_FORMAT, MANIFEST_FORMAT_VERSION, parseManifest } from './manifest.js';
import { signManifest } from './manifest-signature.js';
import { readVersionDirectory, versionFileRecord } from './version-directory.js';

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
 * version.
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

  const target = resolve(modelDir);
  const name = basename(target);
  await mkdir(target, { recursive: true });
  const manifestPath = join(target, MANIFEST_FILE);
  const manifest: ModelManifest = (await exists(manifestPath))
    ? parseManifest(await readFile(manifestPath, 'utf8'), manifestPath)
    : { format: MANIFEST_FORMAT, formatVersion: MANIFEST_FORMAT_VERSION, name, versions: [] };
  if (manifest.name !== name) {
    throw new ServingError('FAILED_PRECONDITION', `${manifestPath} is the manifest of model ${JSON.stringify(manifest.name)}, not ${JSON.stringify(name)}`);
  }
  const version = options.version ?? Math.max(0, ...manifest.versions.map((v) => v.version)) + 1;
  if (!isValidVersion(version)) throw new ServingError('INVALID_ARGUMENT', `--version must be a non-negative integer, got ${String(options.version)}`);
  if (manifest.versions.some((v) => v.version === version)) {
    throw new ServingError('ALREADY_EXISTS', `version ${version} of ${name} is already published in ${manifestPath}; versions are immutable, publish a new one`);
  }

  const staging = join(target, `.publish-${version}-${randomUUID()}`);
  const files: VersionFile[] = [];
  try {
    for (const file of read.files) {
      const dest = join(staging, ...file.path.split('/'));
      await mkdir(dirname(dest), { recursive: true });
      await writeFile(dest, file.bytes);
      files.push(versionFileRecord(file));
      log(`  ${file.path} ${file.bytes.length} bytes`);
    }
    const versionDir = join(target, String(version));
    await rm(versionDir, { recursive: true, force: true }); // a leftover of a publish that crashed before its manifest
    await rename(staging, versionDir);
  } catch (e) {
    await rm(staging, { recursive: true, force: true });
    throw e;
  }
  const entry: ManifestVersion = { version, files, publishedAt: new Date().toISOString() };
  // Publishing a version brings a retired model back; the old signatures cover the old manifest only.
  const { retired: _retired, signatures: oldSignatures, ...live } = manifest;
  const unsigned: ModelManifest = { ...live, versions: [...manifest.versions, entry].sort((a, b) => a.version - b.version) };
  const keys = options.signingKeys ?? [];
  if (keys.length === 0 && oldSignatures?.length) log(`warning: ${manifestPath} was signed; the new manifest is not (pass the signing key)`);
  const signatures = await Promise.all(keys.map((k) => signManifest(unsigned, k)));
  const next: ModelManifest = signatures.length ? { ...unsigned, signatures } : unsigned;
  const tmp = `${manifestPath}.tmp-${randomUUID()}`;
  await writeFile(tmp, JSON.stringify(next, null, 2) + '\n');
  await rename(tmp, manifestPath);
  log(`published ${name} version ${version} (${files.length} files${signatures.length ? `, signed by ${signatures.map((x) => x.keyId).join(', ')}` : ''}) → ${manifestPath}`);
  return { model: name, version, files, manifestPath };
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}
