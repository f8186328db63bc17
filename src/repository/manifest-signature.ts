// Signed manifests: Ed25519 signatures (WebCrypto, in Node 20 and browsers) over a manifest's canonical
// JSON, so a compromised CDN or bucket cannot publish a version that a server trusting the key accepts.
import { ServingError, messageOf } from '../core/status.js';
import type { ManifestSignature, ModelManifest } from './manifest.js';

export type { ManifestSignature };

const ALGORITHM = { name: 'Ed25519' } as const;

function subtle(): SubtleCrypto {
  const s = globalThis.crypto?.subtle;
  if (!s) throw new ServingError('FAILED_PRECONDITION', 'signed manifests need WebCrypto (crypto.subtle): a secure context (https or localhost) in browsers, Node 20 or later');
  return s;
}

/**
 * The bytes a manifest's signatures cover: its JSON with every object's keys sorted and no whitespace,
 * `signatures` left out. Publishers and servers compute it the same way whatever the file's layout.
 */
export function canonicalManifestBytes(manifest: ModelManifest): Uint8Array<ArrayBuffer> {
  const { signatures: _signatures, ...signed } = manifest;
  return new TextEncoder().encode(canonicalJson(signed));
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value).filter(([, v]) => v !== undefined).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** The key id of a raw 32-byte Ed25519 public key. */
export async function publicKeyId(rawPublicKey: Uint8Array<ArrayBuffer>): Promise<string> {
  const digest = new Uint8Array(await subtle().digest('SHA-256', rawPublicKey));
  return [...digest.subarray(0, 8)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

/** Decodes a trusted public key: base64 of the raw 32-byte Ed25519 key. INVALID_ARGUMENT otherwise. */
export function decodePublicKey(text: string, where: string): Uint8Array<ArrayBuffer> {
  let bytes: Uint8Array<ArrayBuffer>;
  try {
    bytes = base64ToBytes(text.trim());
  } catch {
    throw new ServingError('INVALID_ARGUMENT', `${where}: a trusted public key must be the base64 of a raw 32-byte Ed25519 key, got ${JSON.stringify(text.slice(0, 16))}…`);
  }
  if (bytes.length !== 32) throw new ServingError('INVALID_ARGUMENT', `${where}: a trusted public key must be 32 bytes (raw Ed25519), got ${bytes.length}`);
  return bytes;
}

/** Signs a manifest with an Ed25519 private key (PKCS#8: PEM text or DER bytes). */
export async function signManifest(manifest: ModelManifest, privateKey: string | Uint8Array<ArrayBuffer>): Promise<ManifestSignature> {
  const pkcs8 = typeof privateKey === 'string' ? pemToDer(privateKey) : privateKey;
  let key: CryptoKey;
  try {
    key = await subtle().importKey('pkcs8', pkcs8, ALGORITHM, true, ['sign']);
  } catch (e) {
    throw new ServingError('INVALID_ARGUMENT', `the signing key is not an Ed25519 private key in PKCS#8 (PEM "BEGIN PRIVATE KEY", e.g. from \`openssl genpkey -algorithm ed25519\`): ${messageOf(e)}`);
  }
  const jwk = await subtle().exportKey('jwk', key);
  const raw = base64ToBytes((jwk.x ?? '').replace(/-/g, '+').replace(/_/g, '/'));
  const signature = new Uint8Array(await subtle().sign(ALGORITHM, key, canonicalManifestBytes(manifest)));
  return { keyId: await publicKeyId(raw), algorithm: 'Ed25519', signature: bytesToBase64(signature) };
}

/**
 * Checks that one of the manifest's signatures verifies with one of the trusted keys; PERMISSION_DENIED
 * (naming what is wrong: unsigned, signed by other keys, or a signature that does not verify) otherwise.
 */
export async function verifyManifest(manifest: ModelManifest, trustedPublicKeys: readonly string[], where: string): Promise<void> {
  const signatures = manifest.signatures ?? [];
  if (signatures.length === 0) throw new ServingError('PERMISSION_DENIED', `${where}: the manifest is not signed, and this model trusts only signed manifests (trustedPublicKeys)`);
  const data = canonicalManifestBytes(manifest);
  const trusted = new Map<string, Uint8Array<ArrayBuffer>>();
  for (const text of trustedPublicKeys) {
    const raw = decodePublicKey(text, where);
    trusted.set(await publicKeyId(raw), raw);
  }
  let tried = 0;
  for (const sig of signatures) {
    const raw = trusted.get(sig.keyId);
    if (!raw) continue;
    tried++;
    const key = await subtle().importKey('raw', raw, ALGORITHM, false, ['verify']);
    if (await subtle().verify(ALGORITHM, key, base64ToBytes(sig.signature), data)) return;
  }
  throw new ServingError(
    'PERMISSION_DENIED',
    tried === 0
      ? `${where}: the manifest is signed by key(s) ${signatures.map((s) => s.keyId).join(', ')}, none of which this model trusts (trusted: ${[...trusted.keys()].join(', ')})`
      : `${where}: the manifest's signature by a trusted key does not verify: the manifest was changed after it was signed`,
  );
}

/** A new Ed25519 key pair: the private key as PKCS#8 PEM (for `publish --signing_key`), the public key as base64 (for `trustedPublicKeys`). */
export async function generateSigningKey(): Promise<{ privateKeyPem: string; publicKey: string; keyId: string }> {
  const pair = (await subtle().generateKey(ALGORITHM, true, ['sign', 'verify'])) as CryptoKeyPair; // Ed25519 generates a pair
  const pkcs8 = new Uint8Array(await subtle().exportKey('pkcs8', pair.privateKey));
  const raw = new Uint8Array(await subtle().exportKey('raw', pair.publicKey));
  const body = bytesToBase64(pkcs8).replace(/(.{64})/g, '$1\n').trim();
  return { privateKeyPem: `-----BEGIN PRIVATE KEY-----\n${body}\n-----END PRIVATE KEY-----\n`, publicKey: bytesToBase64(raw), keyId: await publicKeyId(raw) };
}

function pemToDer(pem: string): Uint8Array<ArrayBuffer> {
  const m = /-----BEGIN PRIVATE KEY-----([\s\S]*?)-----END PRIVATE KEY-----/.exec(pem);
  if (!m) throw new ServingError('INVALID_ARGUMENT', 'the signing key file holds no "-----BEGIN PRIVATE KEY-----" block (an Ed25519 key in PKCS#8 PEM)');
  return base64ToBytes((m[1] ?? '').replace(/\s+/g, ''));
}

function base64ToBytes(text: string): Uint8Array<ArrayBuffer> {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text)) throw new Error('not base64');
  const binary = atob(text);
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}

function bytesToBase64(bytes: Uint8Array): string {
  let binary = '';
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary);
}
