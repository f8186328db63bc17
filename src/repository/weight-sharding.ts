// Deterministic re-sharding of a graph model's weights: each weight gets its own shard file(s), named
// by the weight's name, so a weight whose values did not change keeps its bytes, its name and its
// SHA-256 from one version to the next, and stores and sources share it instead of fetching it again.
import type * as tf from '@tensorflow/tfjs';
import { ServingError } from '../core/status.js';
import { sha256HexFallback } from '../storage/sha256.js';
import { MODEL_JSON, parseGraphModelJson } from './graph-model-json.js';
import type { GraphModelJson } from './graph-model-json.js';
import type { VersionFileData } from './version-directory.js';

/** The largest shard a weight is cut into (TF.js's own default shard size, 4 MiB); bigger weights get several. */
export const MAX_SHARD_BYTES = 4 * 1024 * 1024;

const BYTES_PER_ELEMENT: Record<string, number> = { float32: 4, int32: 4, bool: 1, uint8: 1, uint16: 2, float16: 2, int8: 1, int16: 2, complex64: 8 };

/**
 * Rewrites a version's `model.json` and weight files so that every weight is one weight group of its
 * own, stored in `<slug>.<id>.bin` — `slug` the weight's name with every character outside
 * `[A-Za-z0-9_-]` turned into `_` (its last 60 characters), `id` the first 8 hex digits of the
 * SHA-256 of the full name — cut into `…-part<i>of<n>.bin` files of at most 4 MiB when it is bigger.
 * The weights keep their order and specs; everything else in model.json is kept as it is (written
 * back as compact JSON), and other files (warmup.json) pass through. The rule depends only on the
 * weights' names, specs and bytes, so publishing a fine-tuned model whose last layer alone changed
 * yields the same model.json and the same shards for every other layer.
 */
export function shardWeightsByName(files: readonly VersionFileData[], where: string): VersionFileData[] {
  const modelJsonFile = files.find((f) => f.path === MODEL_JSON);
  if (!modelJsonFile) throw new ServingError('INVALID_ARGUMENT', `${where}: the version has no ${MODEL_JSON} to re-shard`);
  const json = parseGraphModelJson(modelJsonFile.bytes, where);
  const byPath = new Map(files.map((f) => [f.path, f.bytes]));
  const shardPaths = new Set<string>();
  const outFiles: VersionFileData[] = [];
  const groups: NonNullable<GraphModelJson['weightsManifest']> = [];
  const used = new Set<string>();

  for (const [g, group] of (json.weightsManifest ?? []).entries()) {
    const parts = group.paths.map((p) => {
      const rel = p.replace(/^\.\//, '');
      shardPaths.add(rel);
      const bytes = byPath.get(rel);
      if (!bytes) throw new ServingError('INVALID_ARGUMENT', `${where}: weightsManifest[${g}] lists ${p}, which is not among the version's files`);
      return bytes;
    });
    const data = concat(parts);
    let offset = 0;
    for (const spec of group.weights) {
      const size = weightByteLength(spec, data, offset, where);
      const bytes = data.subarray(offset, offset + size);
      offset += size;
      const base = shardBaseName(spec.name);
      if (used.has(base)) throw new ServingError('INVALID_ARGUMENT', `${where}: weight ${JSON.stringify(spec.name)} appears twice in the weightsManifest`);
      used.add(base);
      const count = Math.max(1, Math.ceil(size / MAX_SHARD_BYTES));
      const paths: string[] = [];
      for (let i = 0; i < count; i++) {
        const path = count === 1 ? `${base}.bin` : `${base}-part${i + 1}of${count}.bin`;
        paths.push(path);
        outFiles.push({ path, bytes: bytes.slice(i * MAX_SHARD_BYTES, Math.min(size, (i + 1) * MAX_SHARD_BYTES)) });
      }
      groups.push({ paths, weights: [spec] });
    }
    if (offset !== data.byteLength) {
      throw new ServingError('DATA_LOSS', `${where}: weightsManifest[${g}] describes ${offset} bytes, but its shards hold ${data.byteLength}`);
    }
  }

  const rewritten: GraphModelJson = { ...json, weightsManifest: groups };
  const others = files.filter((f) => f.path !== MODEL_JSON && !shardPaths.has(f.path));
  for (const f of others) {
    if (outFiles.some((o) => o.path === f.path)) throw new ServingError('INVALID_ARGUMENT', `${where}: ${f.path} would be overwritten by a weight shard of that name`);
  }
  return [{ path: MODEL_JSON, bytes: new TextEncoder().encode(JSON.stringify(rewritten)) }, ...outFiles, ...others];
}

/** `<slug>.<id>`: the weight's name made file-safe, plus 8 hex digits of its SHA-256 (unique per name). */
export function shardBaseName(weightName: string): string {
  const slug = weightName.replace(/[^A-Za-z0-9_-]/g, '_').slice(-60) || 'weight';
  return `${slug}.${sha256HexFallback(new TextEncoder().encode(weightName)).slice(0, 8)}`;
}

/** Bytes one weight takes in its group's data at `offset` (string weights: walked, each value a uint32 length and its bytes). */
function weightByteLength(spec: tf.io.WeightsManifestEntry, data: Uint8Array, offset: number, where: string): number {
  const elements = spec.shape.reduce((a, b) => a * b, 1);
  if (spec.dtype === 'string') {
    const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    let at = offset;
    for (let i = 0; i < elements; i++) {
      if (at + 4 > data.byteLength) throw new ServingError('DATA_LOSS', `${where}: string weight ${spec.name} runs past the end of its shards`);
      at += 4 + view.getUint32(at, true);
    }
    if (at > data.byteLength) throw new ServingError('DATA_LOSS', `${where}: string weight ${spec.name} runs past the end of its shards`);
    return at - offset;
  }
  const dtype = spec.quantization?.dtype ?? spec.dtype;
  const per = BYTES_PER_ELEMENT[dtype];
  if (per === undefined) throw new ServingError('INVALID_ARGUMENT', `${where}: weight ${spec.name} has dtype ${dtype}, which cannot be re-sharded`);
  const size = per * elements;
  if (offset + size > data.byteLength) throw new ServingError('DATA_LOSS', `${where}: weight ${spec.name} (${size} bytes) runs past the end of its shards`);
  return size;
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  if (parts.length === 1 && parts[0]) return parts[0];
  const out = new Uint8Array(parts.reduce((s, p) => s + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}
