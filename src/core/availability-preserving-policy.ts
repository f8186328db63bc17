import type { AspiredServableStateSnapshot, AspiredVersionPolicy, ServableAction } from './aspired-version-policy.js';
import { highestAspiredNew } from './aspired-version-policy.js';

/**
 * TF Serving's default: load the new version (and warm it) before unloading the old one, so a stream
 * that has a serving version always keeps one. Unloads the lowest non-aspired ready version only if
 * there is no aspired version, or an aspired version is ready, or more than one non-aspired version is
 * ready; otherwise loads the highest new aspired version. If the new version fails, the old one stays.
 */
export const availabilityPreservingPolicy: AspiredVersionPolicy = {
  name: 'availability-preserving',
  getNextAction(versions: readonly AspiredServableStateSnapshot[]): ServableAction | undefined {
    let aspiredExists = false;
    let aspiredServing = false;
    const unaspiredServing: AspiredServableStateSnapshot[] = [];
    for (const v of versions) {
      if (v.isAspired) {
        aspiredExists = true;
        if (v.state === 'ready') aspiredServing = true;
      } else if (v.state === 'ready') {
        unaspiredServing.push(v);
      }
    }
    if (!aspiredExists || aspiredServing || unaspiredServing.length > 1) {
      const lowest = unaspiredServing.sort((a, b) => a.id.version - b.id.version)[0];
      if (lowest) return { action: 'unload', id: lowest.id };
    }
    const load = highestAspiredNew(versions);
    return load ? { action: 'load', id: load } : undefined;
  },
};
