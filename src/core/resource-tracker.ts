import type { ServableId } from './servable-id.js';
import { servableIdToString } from './servable-id.js';
import { ServingError } from './status.js';
import type { ResourceEstimate } from './loader.js';

/**
 * Reserves each version's estimated RAM against `total_model_memory_limit_bytes` before it loads
 * (TF Serving's ResourceTracker). No limit means unlimited.
 */
export class ResourceTracker {
  private readonly reserved = new Map<string, number>();

  constructor(readonly totalModelMemoryLimitBytes: number = Number.POSITIVE_INFINITY) {
    if (!(totalModelMemoryLimitBytes > 0)) {
      throw new ServingError('INVALID_ARGUMENT', `totalModelMemoryLimitBytes must be a positive number, got ${totalModelMemoryLimitBytes}`);
    }
  }

  get usedBytes(): number {
    let sum = 0;
    for (const v of this.reserved.values()) sum += v;
    return sum;
  }

  /** Reserves or throws RESOURCE_EXHAUSTED naming the version, its estimate and what is left. */
  reserve(id: ServableId, estimate: ResourceEstimate): void {
    const key = servableIdToString(id);
    const used = this.usedBytes - (this.reserved.get(key) ?? 0);
    if (used + estimate.ramBytes > this.totalModelMemoryLimitBytes) {
      throw new ServingError(
        'RESOURCE_EXHAUSTED',
        `Insufficient resources to load servable ${key}: it needs an estimated ${estimate.ramBytes} bytes ` +
          `(1.2 x its files), ${this.totalModelMemoryLimitBytes - used} of the ${this.totalModelMemoryLimitBytes}-byte ` +
          `total_model_memory_limit_bytes are free`,
      );
    }
    this.reserved.set(key, estimate.ramBytes);
  }

  release(id: ServableId): void {
    this.reserved.delete(servableIdToString(id));
  }
}
