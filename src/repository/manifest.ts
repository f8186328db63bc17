import type { CanarySplit } from '../core/canary.js';
import { validateCanary } from '../core/canary.js';
import { ServingError } from '../core/status.js';
import { describeJsonSyntaxError } from '../core/json-syntax.js';
import { isValidVersion } from '../core/servable-id.js';
import type { VersionFile } from '../storage/model-store.js';
import { assertSafeRelativePath } from '../storage/model-store.js';

/** Name of the manifest file at a model's base path: `<basePath>/manifest.json`. */
export const MANIFEST_FILE = 'manifest.json';
export const MANIFEST_FORMAT = 'tfjs-serving-manifest';
export const MANIFEST_FORMAT_VERSION = 1;

/**
 * The index of one model in a static repository. HTTP cannot list directories, so this file lists
 * every published version and, per version, its files (at `<basePath>/<version>/<path>`) with their
 * exact size and SHA-256. Publishers write the version's files first and this file last.
 */
export interface ModelManifest {
  readonly format: typeof MANIFEST_FORMAT;
  readonly formatVersion: typeof MANIFEST_FORMAT_VERSION;
  readonly name: string;
  readonly versions: readonly ManifestVersion[];
  /**
   * The model is taken down on purpose: with `versions: []`, sources unload it. Without this flag an
   * empty version list is taken for a broken publish and what serves keeps serving.
   */
  readonly retired?: boolean;
  /**
   * A canary rollout steered from the repository: `percent` of users get `version` for requests that
   * name no version or label. A model config's own `canary` wins over it; the config's version policy
   * must keep the version loaded (e.g. `latest: {numVersions: 2}`), else the split waits for it.
   */
  readonly canary?: CanarySplit;
  /** Ed25519 signatures over the manifest's canonical JSON (`publish --signing_key`); see manifest-signature.ts. */
  readonly signatures?: readonly ManifestSignature[];
}

/** One signature of a manifest (`signatures` in manifest.json). */
export interface ManifestSignature {
  /** The signing key: the first 16 hex digits of the SHA-256 of its raw 32-byte public key. */
  readonly keyId: string;
  readonly algorithm: 'Ed25519';
  /** Base64 of the 64-byte Ed25519 signature over `canonicalManifestBytes(manifest)`. */
  readonly signature: string;
}

export interface ManifestVersion {
  readonly version: number;
  readonly files: readonly VersionFile[];
  /** ISO time the version was published (informational). */
  readonly publishedAt?: string;
}

/** A value from the file, described without quoting text from it (numbers, booleans and null as they are). */
function describeValue(v: unknown): string {
  if (typeof v === 'number' || typeof v === 'boolean' || v === null || v === undefined) return String(v);
  if (typeof v === 'string') return `a string of ${v.length} characters`;
  return Array.isArray(v) ? 'an array' : `a ${typeof v}`;
}

/** Parses and checks a manifest; errors are INVALID_ARGUMENT and name the field. */
export function parseManifest(text: string, where: string): ModelManifest {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new ServingError('INVALID_ARGUMENT', `${where}: manifest is not valid JSON: ${describeJsonSyntaxError(text)}`);
  }
  const bad = (what: string) => new ServingError('INVALID_ARGUMENT', `${where}: invalid manifest: ${what}`);
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw bad('expected a JSON object');
  const m = json as Record<string, unknown>;
  if (m.format !== MANIFEST_FORMAT) throw bad(`"format" must be ${JSON.stringify(MANIFEST_FORMAT)}, got ${describeValue(m.format)}`);
  if (m.formatVersion !== MANIFEST_FORMAT_VERSION) {
    throw bad(`"formatVersion" ${describeValue(m.formatVersion)} is not supported (this runtime reads ${MANIFEST_FORMAT_VERSION})`);
  }
  if (typeof m.name !== 'string') throw bad('"name" must be a string');
  if (!Array.isArray(m.versions)) throw bad('"versions" must be a list');
  if (m.retired !== undefined && typeof m.retired !== 'boolean') throw bad(`"retired" must be true or false, got ${JSON.stringify(m.retired)}`);
  const signatures = parseSignatures(m.signatures, bad);
  const canary = m.canary === undefined ? undefined : validateCanary(m.canary, `${where}: invalid manifest`);
  const seen = new Set<number>();
  const versions = m.versions.map((v: unknown, i: number): ManifestVersion => {
    const entry = v as Record<string, unknown> | null;
    if (typeof entry !== 'object' || entry === null) throw bad(`versions[${i}] must be an object`);
    if (!isValidVersion(entry.version)) throw bad(`versions[${i}].version must be a non-negative integer, got ${describeValue(entry.version)}`);
    if (seen.has(entry.version)) throw bad(`version ${entry.version} is listed twice`);
    seen.add(entry.version);
    if (!Array.isArray(entry.files) || entry.files.length === 0) throw bad(`versions[${i}].files must be a non-empty list`);
    const paths = new Set<string>();
    const files = entry.files.map((f: unknown, j: number): VersionFile => {
      const file = f as Record<string, unknown> | null;
      const at = `versions[${i}].files[${j}]`;
      if (typeof file !== 'object' || file === null) throw bad(`${at} must be an object`);
      if (typeof file.path !== 'string') throw bad(`${at}.path must be a string`);
      try {
        assertSafeRelativePath(file.path);
      } catch (e) {
        throw bad(`${at}: ${(e as Error).message}`);
      }
      if (paths.has(file.path)) throw bad(`${at}.path ${file.path} is listed twice`);
      paths.add(file.path);
      if (!Number.isSafeInteger(file.size) || (file.size as number) < 0) throw bad(`${at}.size must be a non-negative integer`);
      if (typeof file.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(file.sha256)) throw bad(`${at}.sha256 must be 64 lower-case hex digits`);
      return { path: file.path, size: file.size as number, sha256: file.sha256 };
    });
    return { version: entry.version, files, ...(typeof entry.publishedAt === 'string' ? { publishedAt: entry.publishedAt } : {}) };
  });
  return {
    format: MANIFEST_FORMAT,
    formatVersion: MANIFEST_FORMAT_VERSION,
    name: m.name,
    versions,
    ...(m.retired === true ? { retired: true } : {}),
    ...(canary ? { canary } : {}),
    ...(signatures ? { signatures } : {}),
  };
}

function parseSignatures(value: unknown, bad: (what: string) => ServingError): ManifestSignature[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value)) throw bad('"signatures" must be a list');
  return value.map((v: unknown, i: number): ManifestSignature => {
    const s = v as Record<string, unknown> | null; // checked field by field below
    if (typeof s !== 'object' || s === null) throw bad(`signatures[${i}] must be an object`);
    if (s.algorithm !== 'Ed25519') throw bad(`signatures[${i}].algorithm must be "Ed25519", got ${JSON.stringify(s.algorithm)}`);
    if (typeof s.keyId !== 'string' || !/^[0-9a-f]{16}$/.test(s.keyId)) throw bad(`signatures[${i}].keyId must be 16 lower-case hex digits`);
    if (typeof s.signature !== 'string' || !/^[A-Za-z0-9+/]{86}==$/.test(s.signature)) throw bad(`signatures[${i}].signature must be the base64 of 64 bytes`);
    return { keyId: s.keyId, algorithm: 'Ed25519', signature: s.signature };
  });
}
