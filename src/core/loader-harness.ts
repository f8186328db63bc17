import type { Loader } from './loader.js';
import type { ServableHandle } from './servable-handle.js';
import type { ServableId } from './servable-id.js';
import { ServingError } from './status.js';

/**
 * The manager's internal state of one version (TF Serving's LoaderHarness::State, simplified):
 * new → loading → ready → quiescing → unloading → disabled, or → error from new/loading.
 */
export type HarnessState = 'new' | 'loading' | 'ready' | 'quiescing' | 'unloading' | 'disabled' | 'error';

/** Holds one version's Loader, its servable once loaded, and the count of requests using it. */
export class LoaderHarness<T> {
  state: HarnessState = 'new';
  isAspired = true;
  servable: T | undefined;
  error: ServingError | undefined;
  /** Load attempts that failed so far. */
  failedAttempts = 0;
  private refCount = 0;
  private drained: (() => void) | undefined;

  constructor(
    readonly id: ServableId,
    readonly loader: Loader<T>,
  ) {}

  get activeRequests(): number {
    return this.refCount;
  }

  /** A handle that keeps this version loaded until released. Only valid while `ready`. */
  acquire(): ServableHandle<T> {
    if (this.state !== 'ready' || this.servable === undefined) {
      throw new ServingError('NOT_FOUND', `Servable not found for request: Specific(${this.id.name}, ${this.id.version})`);
    }
    this.refCount++;
    let released = false;
    return {
      id: this.id,
      servable: this.servable,
      release: () => {
        if (released) return;
        released = true;
        this.refCount--;
        if (this.refCount === 0) this.drained?.();
      },
    };
  }

  /** Resolves once no request holds this version any more. */
  waitUntilDrained(): Promise<void> {
    if (this.refCount === 0) return Promise.resolve();
    return new Promise((resolve) => {
      this.drained = () => {
        this.drained = undefined;
        resolve();
      };
    });
  }
}
