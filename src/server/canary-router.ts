// Canary routing: the version a request that names neither a version nor a label goes to, when its
// model has a canary split (from its config, else from its manifest).
import type { CanarySplit } from '../core/canary.js';
import { routesToCanary } from '../core/canary.js';
import type { VersionLabels } from '../core/version-labels.js';

/** Where a request without a version or label was sent: to the canary, to the stable version, or (no split in force) to the latest. */
export type CanaryRoute = 'canary' | 'stable' | 'latest';

export interface CanaryDecision {
  /** The version to serve, or undefined for TF Serving's default (the latest AVAILABLE). */
  readonly version: number | undefined;
  readonly route: CanaryRoute;
}

/**
 * Picks the version for one request. The stable version is the `stable` label's when it is AVAILABLE,
 * else the newest AVAILABLE version other than the canary. Until the canary is AVAILABLE everyone gets
 * the stable version; with no other version AVAILABLE, the canary serves everyone. Reads only what is
 * AVAILABLE now, so a config change (promote, roll back) moves every user at once.
 */
export function routeRequest(
  model: string,
  split: CanarySplit | undefined,
  labels: VersionLabels,
  available: readonly number[],
  userId: string | undefined,
  random?: () => number,
): CanaryDecision {
  if (!split) return { version: undefined, route: 'latest' };
  const labelled = Object.prototype.hasOwnProperty.call(labels, 'stable') ? labels.stable : undefined;
  const others = available.filter((v) => v !== split.version);
  const stable = labelled !== undefined && others.includes(labelled) ? labelled : others.length > 0 ? Math.max(...others) : undefined;
  const canaryAvailable = available.includes(split.version);
  if (stable === undefined) return canaryAvailable ? { version: split.version, route: 'canary' } : { version: undefined, route: 'latest' };
  if (!canaryAvailable) return { version: stable, route: 'stable' };
  return routesToCanary(split, model, userId, random) ? { version: split.version, route: 'canary' } : { version: stable, route: 'stable' };
}
