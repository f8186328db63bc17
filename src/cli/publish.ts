import { createHash, randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, readFile, readdir, rename, rm, stat, writeFile, copyFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { ServingError } from '../core/status.js';
import { isValidVersion } from '../core/servable-id.js';
import type { ModelManifest, ManifestVersion } from '../sources/manifest.js';
import { MANIFEST_FILE, MANIFEST_FORMAT, MANIFEST_FORMAT_VERSION, parseManifest } from '../sources/manifest.js';
import { MODEL_JSON } from '../runtime/tfjs-model-loader.js';
import { WARMUP_FILE } from '../runtime/warmup.js';
import { parseGraphModelJson } from '../runtime/graph-model-artifacts.js';
import type { VersionFile } from '../storage/model-store.js';

export interface PublishOptions {
  /** The version number; default: the highest published version + 1 (or 1). */
  version?: number;
  /** Called with a line of progress for humans. */
  log?: (line: string) => void;
}

export interface PublishResult {
  readonly model: string;
  readonly version: number;
  readonly files: readonly VersionFile[];
  readonly manifestPath: string;
}

/**
 * Adds a TF.js graph model as a new version of `<repository>/<model>`: copies model.json (under that
 * name), its weight shards and an optional warmup.json into `<version>/` through a temporary
 * directory and one rename, then rewrites `manifest.json` last, atomically (temporary file + rename),
 * so a poller never sees a half-published version.
 *
 * `source` is a graph model directory holding `model.json`, the path of the model's JSON file
 * (e.g. `models/emotion.json`), or a TensorFlow SavedModel directory (converted first).
 */
export async function publishGraphModel(source: string, modelDir: string, options: PublishOptions = {}): Promise<PublishResult> {
  const log = options.log ?? (() => undefined);
  if (await exists(join(source, 'saved_model.pb'))) return publishSavedModel(source, modelDir, options);
  const { jsonPath, dir } = await locateModelJson(source);
  const jsonBytes = await readFile(jsonPath);
  const json = parseGraphModelJson(jsonBytes, jsonPath);
  const copies: Array<{ from: string; to: string }> = [{ from: jsonPath, to: MODEL_JSON }];
  for (const p of (json.weightsManifest ?? []).flatMap((g) => g.paths)) {
    const rel = p.replace(/^\.\//, '');
    if (rel.includes('..') || rel.startsWith('/')) throw new ServingError('INVALID_ARGUMENT', `${jsonPath}: weight path ${JSON.stringify(p)} leaves the model directory`);
    const from = join(dir, rel);
    await stat(from).catch(() => {
      throw new ServingError('NOT_FOUND', `${jsonPath} lists weight file ${p}, but ${from} does not exist`);
    });
    copies.push({ from, to: rel });
  }
  const warmup = join(dir, WARMUP_FILE);
  if (await exists(warmup)) copies.push({ from: warmup, to: WARMUP_FILE });

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
    for (const { from, to } of copies) {
      const dest = join(staging, ...to.split('/'));
      await mkdir(dirname(dest), { recursive: true });
      await copyFile(from, dest);
      const bytes = await readFile(dest);
      files.push({ path: to, size: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') });
      log(`  ${to} ${bytes.length} bytes`);
    }
    const versionDir = join(target, String(version));
    await rm(versionDir, { recursive: true, force: true }); // a leftover of a publish that crashed before its manifest
    await rename(staging, versionDir);
  } catch (e) {
    await rm(staging, { recursive: true, force: true });
    throw e;
  }
  const entry: ManifestVersion = { version, files, publishedAt: new Date().toISOString() };
  const next: ModelManifest = { ...manifest, versions: [...manifest.versions, entry].sort((a, b) => a.version - b.version) };
  const tmp = `${manifestPath}.tmp-${randomUUID()}`;
  await writeFile(tmp, JSON.stringify(next, null, 2) + '\n');
  await rename(tmp, manifestPath);
  log(`published ${name} version ${version} (${files.length} files) → ${manifestPath}`);
  return { model: name, version, files, manifestPath };
}

/**
 * Converts a SavedModel (every serving signature, so predict, classify and regress can be served by
 * name) into a temporary graph-model directory and publishes that.
 */
async function publishSavedModel(savedModelDir: string, modelDir: string, options: PublishOptions): Promise<PublishResult> {
  const { convertSavedModel, writeGraphModel } = await import('../../converter/index.js');
  const log = options.log ?? (() => undefined);
  const converted = await convertSavedModel(savedModelDir, { signatureName: 'all' });
  for (const [name, why] of Object.entries(converted.skippedSignatures ?? {})) log(`  skipped signature ${name}: ${String(why)}`);
  const tmp = await mkdtemp(join(tmpdir(), 'tfjs-serving-publish-'));
  try {
    await writeGraphModel(converted, tmp);
    log(`converted ${savedModelDir} (${converted.signatures.length} signature(s))`);
    const warmup = join(savedModelDir, WARMUP_FILE);
    if (await exists(warmup)) await copyFile(warmup, join(tmp, WARMUP_FILE));
    return await publishGraphModel(tmp, modelDir, options);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

async function locateModelJson(source: string): Promise<{ jsonPath: string; dir: string }> {
  const s = await stat(source).catch(() => undefined);
  if (!s) throw new ServingError('NOT_FOUND', `${source} does not exist; expected a TF.js graph model directory or its model.json`);
  if (s.isFile()) return { jsonPath: resolve(source), dir: dirname(resolve(source)) };
  const candidate = join(source, MODEL_JSON);
  if (await exists(candidate)) return { jsonPath: resolve(candidate), dir: resolve(source) };
  const jsons = (await readdir(source)).filter((f) => f.endsWith('.json'));
  throw new ServingError(
    'NOT_FOUND',
    `${source} holds neither a TF.js graph model (${MODEL_JSON}) nor a SavedModel (saved_model.pb)` +
      (jsons.length ? `; if the model's JSON has another name, pass that file (found: ${jsons.slice(0, 8).join(', ')})` : ''),
  );
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}
