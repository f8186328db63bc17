import type { ServableId } from './servable-id.js';
import type { HarnessState } from './loader-harness.js';

/** What the policy sees of one version of a stream. */
export interface AspiredServableStateSnapshot {
  readonly id: ServableId;
  readonly state: HarnessState;
  readonly isAspired: boolean;
}

export interface ServableAction {
  readonly action: 'load' | 'unload';
  readonly id: ServableId;
}

/**
 * Decides the next load or unload of one servable stream, given the state of all its versions
 * (TF Serving's AspiredVersionPolicy). Called again after every transition.
 */
export interface AspiredVersionPolicy {
  readonly name: string;
  getNextAction(versions: readonly AspiredServableStateSnapshot[]): ServableAction | undefined;
}

export function highestAspiredNew(versions: readonly AspiredServableStateSnapshot[]): ServableId | undefined {
  let best: ServableId | undefined;
  for (const v of versions) {
    if (v.isAspired && v.state === 'new' && (!best || v.id.version > best.version)) best = v.id;
  }
  return best;
}
