import { ServingError } from './status.js';
import { isValidVersion } from './servable-id.js';

/**
 * Which versions of a model to serve, shaped like TF Serving's `model_version_policy`:
 * `{latest: {numVersions}}` (default, numVersions 1), `{all: {}}`, or `{specific: {versions}}`.
 */
export type ServableVersionPolicy =
  | { readonly latest: { readonly numVersions?: number } }
  | { readonly all: Record<string, never> }
  | { readonly specific: { readonly versions: readonly number[] } }
  | CanaryVersionPolicy;

/**
 * What the server hands a source for a model with a canary (configs say `canary`, never this): `base`
 * picks among the versions other than the canary, and the canary is served on top, so that
 * `latest: {numVersions: 1}` keeps the stable version loaded beside a newer canary.
 */
export interface CanaryVersionPolicy {
  readonly withCanary: { readonly base: ServableVersionPolicy; readonly version: number };
}

/** `policy` widened to keep `canaryVersion` loaded beside what it picks among the other versions; `policy` itself without a canary. */
export function withCanary(policy: ServableVersionPolicy, canaryVersion: number | undefined): ServableVersionPolicy {
  return canaryVersion === undefined ? policy : { withCanary: { base: policy, version: canaryVersion } };
}

export const DEFAULT_VERSION_POLICY: ServableVersionPolicy = { latest: { numVersions: 1 } };

/** Checks a policy from user config; throws INVALID_ARGUMENT naming the model and what is wrong. */
export function validateVersionPolicy(policy: unknown, model: string): ServableVersionPolicy {
  if (policy === undefined || policy === null) return DEFAULT_VERSION_POLICY;
  const where = `modelVersionPolicy of model ${JSON.stringify(model)}`;
  if (typeof policy !== 'object') throw new ServingError('INVALID_ARGUMENT', `${where} must be an object, got ${typeof policy}`);
  const keys = Object.keys(policy);
  if (keys.length !== 1 || !['latest', 'all', 'specific'].includes(keys[0]!)) {
    throw new ServingError('INVALID_ARGUMENT', `${where} must have exactly one of latest, all, specific; got ${JSON.stringify(keys)}`);
  }
  const p = policy as Record<string, unknown>;
  if ('latest' in p) {
    const n = (p.latest as { numVersions?: unknown } | undefined)?.numVersions ?? 1;
    // TF Serving's proto cannot say a negative count (uint32) and reads 0 as unset; here an explicit
    // count that serves nothing is a mistake, said as such instead of silently becoming 1.
    if (!Number.isSafeInteger(n) || (n as number) < 1) {
      throw new ServingError('INVALID_ARGUMENT', `${where}: latest.numVersions must be an integer >= 1 (omit it for the default 1), got ${JSON.stringify(n)}`);
    }
    return { latest: { numVersions: n as number } }; // a safe integer >= 1: checked just above
  }
  if ('all' in p) return { all: {} };
  const versions = (p.specific as { versions?: unknown } | undefined)?.versions;
  if (!Array.isArray(versions) || versions.length === 0 || !versions.every(isValidVersion)) {
    throw new ServingError('INVALID_ARGUMENT', `${where}: specific.versions must be a non-empty list of non-negative integers, got ${JSON.stringify(versions)}`);
  }
  return { specific: { versions: [...new Set(versions)].sort((a, b) => a - b) } };
}

/** The versions a policy aspires among those that exist, ascending. */
export function selectVersions(policy: ServableVersionPolicy, existing: readonly number[]): number[] {
  const sorted = [...new Set(existing)].sort((a, b) => a - b);
  if ('withCanary' in policy) {
    const { base, version } = policy.withCanary;
    const picked = selectVersions(base, sorted.filter((v) => v !== version));
    return sorted.includes(version) ? [...picked, version].sort((a, b) => a - b) : picked;
  }
  if ('all' in policy) return sorted;
  if ('specific' in policy) {
    const wanted = new Set(policy.specific.versions);
    return sorted.filter((v) => wanted.has(v));
  }
  const n = Math.max(1, policy.latest.numVersions ?? 1);
  return sorted.slice(Math.max(0, sorted.length - n));
}
