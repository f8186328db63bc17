import type { AspiredServableStateSnapshot, AspiredVersionPolicy, ServableAction } from './aspired-version-policy.js';
import { highestAspiredNew } from './aspired-version-policy.js';

/**
 * Unload first, then load: never holds two versions at once, at the price of a gap with no serving
 * version during a swap (TF Serving's ResourcePreservingPolicy).
 */
export const resourcePreservingPolicy: AspiredVersionPolicy = {
  name: 'resource-preserving',
  getNextAction(versions: readonly AspiredServableStateSnapshot[]): ServableAction | undefined {
    for (const v of versions) {
      if (!v.isAspired && v.state === 'ready') return { action: 'unload', id: v.id };
    }
    for (const v of versions) {
      if (!v.isAspired && v.state !== 'disabled' && v.state !== 'error' && v.state !== 'new') return undefined;
    }
    const load = highestAspiredNew(versions);
    return load ? { action: 'load', id: load } : undefined;
  },
};
