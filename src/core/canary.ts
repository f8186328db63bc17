// Canary traffic (KServe's canaryTrafficPercent over TF Serving's versions): which share of users a
// model's canary version answers, and which user falls in that share. Pure: no I/O, no randomness.
import { isValidVersion } from './servable-id.js';
import { ServingError } from './status.js';

/**
 * A canary rollout of one model: `percent` of users (0–100) get `version`, the others the stable
 * version, each user always the same one. Requests that name a version or a label are not split.
 */
export interface CanarySplit {
  /** The version that gets the canary share. */
  readonly version: number;
  /** Share of users routed to the canary, 0–100 (fractions allowed). 0 sends everyone to the stable version. */
  readonly percent: number;
}

/** Checks a canary from a config or a manifest; INVALID_ARGUMENT names `where` and the field. */
export function validateCanary(value: unknown, where: string): CanarySplit {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ServingError('INVALID_ARGUMENT', `${where}: canary must be an object {version, percent}, got ${JSON.stringify(value)}`);
  }
  const { version, percent, ...extra } = value as Record<string, unknown>; // checked field by field below
  const unknown = Object.keys(extra);
  if (unknown.length > 0) throw new ServingError('INVALID_ARGUMENT', `${where}: canary has unknown field(s) ${unknown.join(', ')}; expected only version and percent`);
  if (!isValidVersion(version)) throw new ServingError('INVALID_ARGUMENT', `${where}: canary.version must be a non-negative integer, got ${JSON.stringify(version)}`);
  if (typeof percent !== 'number' || !Number.isFinite(percent) || percent < 0 || percent > 100) {
    throw new ServingError('INVALID_ARGUMENT', `${where}: canary.percent must be a number from 0 to 100, got ${JSON.stringify(percent)}`);
  }
  return { version, percent };
}

/** Checks a user id given with a request; INVALID_ARGUMENT when it is not a non-empty string of at most 256 characters. */
export function validateUserId(userId: unknown, where: string): string | undefined {
  if (userId === undefined) return undefined;
  if (typeof userId !== 'string' || userId === '' || userId.length > 256) {
    throw new ServingError('INVALID_ARGUMENT', `${where}: userId must be a non-empty string of at most 256 characters, got ${typeof userId === 'string' ? `${userId.length} characters` : JSON.stringify(userId)}`);
  }
  return userId;
}

/**
 * The user's bucket for a model, in [0, 100): FNV-1a (32-bit) over the UTF-16 code units of
 * `model`, a separator and `userId`, then murmur3's finalizer so that every output bit depends on
 * every input bit, scaled to [0, 100). Deterministic and uniform: the same user and model always land
 * in the same bucket, and users spread evenly (test/core/canary.test.ts checks both).
 */
export function canaryBucket(userId: string, model: string): number {
  let h = 0x811c9dc5;
  const key = `${model}\u0000${userId}`;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return ((h >>> 0) / 0x1_0000_0000) * 100;
}

/**
 * True when the user's requests go to the canary. A user in the canary at p% stays in it at any
 * higher percent (buckets are fixed per user), so raising the percent only adds users.
 * Without a user id, each request draws its own bucket (no stickiness; the share still holds).
 */
export function routesToCanary(split: CanarySplit, model: string, userId: string | undefined, random: () => number = Math.random): boolean {
  const bucket = userId === undefined ? random() * 100 : canaryBucket(userId, model);
  return bucket < split.percent;
}
