// Reading one model version from a directory (Node): a TF.js graph model, or a TensorFlow SavedModel
// converted to one. The one place that knows a version's files: the file-system source imports with
// it, and `publish` publishes with it.
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, readdir, realpath, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import { convertSavedModel, writeGraphModel } from '../../converter/index.js';
import { ServingError } from '../core/status.js';
import type { VersionFile } from '../storage/model-store.js';
import { fsError } from './fs-errors.js';
import { MODEL_JSON, WARMUP_FILE, expectedWeightBytes, parseGraphModelJson } from './graph-model-json.js';

/** One file of a version, as the store and the repository keep it. */
export interface VersionFileData {
  /** Relative path inside the version (`model.json`, `group1-shard1of1.bin`, `warmup.json`). */
  readonly path: string;
  readonly bytes: Uint8Array;
}

/** The files a version directory (or a graph model's JSON file) yields, and what it was. */
export interface VersionDirectory {
  readonly files: readonly VersionFileData[];
  readonly kind: 'graph-model' | 'saved-model';
  /** SavedModel signatures the converter skipped, with the reason. */
  readonly skippedSignatures: Readonly<Record<string, string>>;
}

/**
 * Reads a version: `source` is a directory holding `model.json` (a TF.js graph model) or
 * `saved_model.pb` (converted here with every serving signature), or the path of a graph model's JSON
 * file under another name (`models/emotion.json`). The result holds `model.json`, the weight files it
 * names (checked against its weights manifest) and `warmup.json` when the directory has one — the
 * same for both kinds. Weight paths that leave the directory are refused, and so are files that are
 * symbolic links to somewhere outside it (a shard linking to /etc/passwd is never read); file-system
 * errors carry TF Serving's codes (ENOENT → NOT_FOUND, EACCES → PERMISSION_DENIED, …).
 */
export async function readVersionDirectory(source: string, where: string = source): Promise<VersionDirectory> {
  const s = await stat(source).catch(() => undefined);
  if (!s) throw new ServingError('NOT_FOUND', `${source} does not exist; expected a TF.js graph model directory, its model.json, or a SavedModel directory`);
  if (s.isFile()) return { files: await readGraphModel(dirname(resolve(source)), basename(source), where), kind: 'graph-model', skippedSignatures: {} };
  if (await isFile(join(source, MODEL_JSON))) return { files: await readGraphModel(source, MODEL_JSON, where), kind: 'graph-model', skippedSignatures: {} };
  if (await isFile(join(source, 'saved_model.pb'))) return convertSavedModelDirectory(source, where);
  const names = await readdir(source).catch((): string[] => []);
  const jsons = names.filter((f) => f.endsWith('.json'));
  throw new ServingError(
    'NOT_FOUND',
    `${source} holds neither a TF.js graph model (${MODEL_JSON}) nor a SavedModel (saved_model.pb); found: ${names.slice(0, 8).join(', ') || 'nothing'}` +
      (jsons.length ? `; if the model's JSON has another name, pass that file` : ''),
  );
}

/** The manifest record of a file: path, size and SHA-256. */
export function versionFileRecord(file: VersionFileData): VersionFile {
  return { path: file.path, size: file.bytes.length, sha256: createHash('sha256').update(file.bytes).digest('hex') };
}

async function readGraphModel(dir: string, jsonName: string, where: string): Promise<VersionFileData[]> {
  const root = await realpath(dir).catch((e: unknown) => {
    throw fsError(e, `${where}: reading ${dir}`);
  });
  const read = async (rel: string) => {
    const path = join(dir, ...rel.split('/'));
    const real = await realpath(path);
    const inside = relative(root, real);
    if (inside.startsWith('..') || inside.startsWith(sep) || resolve(root, inside) !== real) {
      throw new ServingError('PERMISSION_DENIED', `${where}: ${rel} is a symbolic link to ${real}, outside the model directory ${root}; copy the file in instead`);
    }
    return new Uint8Array(await readFile(real));
  };
  const modelJson = await read(jsonName).catch((e: unknown) => {
    throw fsError(e, `${where}: reading ${jsonName}`);
  });
  const json = parseGraphModelJson(modelJson, where);
  const out: VersionFileData[] = [{ path: MODEL_JSON, bytes: modelJson }];
  let weightBytes = 0;
  for (const p of (json.weightsManifest ?? []).flatMap((g) => g.paths)) {
    const rel = p.replace(/^\.\//, '');
    if (rel.split('/').includes('..') || rel.startsWith('/')) throw new ServingError('INVALID_ARGUMENT', `${where}: weight path ${JSON.stringify(p)} leaves the model directory`);
    const bytes = await read(rel).catch((e: unknown) => {
      if (e instanceof ServingError) throw e;
      throw fsError(e, `${where}: ${jsonName} lists weight file ${p}, which cannot be read`);
    });
    weightBytes += bytes.length;
    out.push({ path: rel, bytes });
  }
  const expected = expectedWeightBytes((json.weightsManifest ?? []).flatMap((g) => g.weights));
  if (expected !== undefined && expected !== weightBytes) {
    throw new ServingError('DATA_LOSS', `${where}: the weight files hold ${weightBytes} bytes, but ${jsonName}'s weightsManifest describes ${expected} (a half-written copy?)`);
  }
  const warmup = await read(WARMUP_FILE).catch((e: unknown) => {
    if (e instanceof ServingError) throw e; // a link leaving the directory
    return undefined; // no warmup file
  });
  if (warmup) out.push({ path: WARMUP_FILE, bytes: warmup });
  return out;
}

/** Converts a SavedModel (every serving signature, so predict, classify and regress are served by name), keeping its warmup.json. */
async function convertSavedModelDirectory(dir: string, where: string): Promise<VersionDirectory> {
  let converted: Awaited<ReturnType<typeof convertSavedModel>>;
  try {
    converted = await convertSavedModel(dir, { signatureName: 'all' });
  } catch (e) {
    throw ServingError.from(e, 'UNKNOWN', `${where}: converting the SavedModel: `); // a ConverterError keeps its code
  }
  const tmp = await mkdtemp(join(tmpdir(), 'tfjs-serving-convert-'));
  try {
    await writeGraphModel(converted, tmp);
    const files = (await readGraphModel(tmp, MODEL_JSON, where)).filter((f) => f.path !== WARMUP_FILE);
    const warmup = await readFile(join(dir, WARMUP_FILE)).catch(() => undefined);
    if (warmup) files.push({ path: WARMUP_FILE, bytes: new Uint8Array(warmup) });
    const skipped = Object.fromEntries(Object.entries(converted.skippedSignatures ?? {}).map(([k, v]) => [k, String(v)]));
    return { files, kind: 'saved-model', skippedSignatures: skipped };
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

async function isFile(path: string): Promise<boolean> {
  return stat(path).then((s) => s.isFile(), () => false);
}
