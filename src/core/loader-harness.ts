import type { Loader } from './loader.js';
import type { ServableHandle } from './servable-handle.js';
import type { ServableId } from './servable-id.js';
import { servableIdToString } from './servable-id.js';
import { ServingError } from './status.js';

/**
 * The manager's internal state of one version (TF Serving's LoaderHarness::State, simplified):
 * new → loading → ready → quiescing → unloading → disabled, or new/loading → error.
 */
export type HarnessState = 'new' | 'loading' | 'ready' | 'quiescing' | 'unloading' | 'disabled' | 'error';

/**
 * Holds one version's Loader, its servable once loaded, and the count of requests using it, and owns
 * its state machine: each transition method refuses a move from the wrong state with INTERNAL (a
 * manager bug), as TF Serving's LoaderHarness does.
 */
export class LoaderHarness<T> {
  private current: HarnessState = 'new';
  /** Whether the source still wants this version (set by the manager each round). */
  isAspired = true;
  private loaded: T | undefined;
  private failure: ServingError | undefined;
  /** Load attempts that failed so far. */
  failedAttempts = 0;
  private refCount = 0;
  private drained: (() => void) | undefined;

  constructor(
    readonly id: ServableId,
    readonly loader: Loader<T>,
  ) {}

  get state(): HarnessState {
    return this.current;
  }

  /** The servable while ready (or draining), else undefined. */
  get servable(): T | undefined {
    return this.loaded;
  }

  /** Why the version failed, once in `error`. */
  get error(): ServingError | undefined {
    return this.failure;
  }

  get activeRequests(): number {
    return this.refCount;
  }

  /** new → loading. */
  loadRequested(): void {
    this.move(['new'], 'loading');
  }

  /** loading → ready, holding the loaded servable. */
  loadSucceeded(servable: T): void {
    this.move(['loading'], 'ready');
    this.loaded = servable;
  }

  /** new / loading → error (out of retries, cancelled, or refused by the resource tracker). */
  errored(error: ServingError): void {
    this.move(['new', 'loading'], 'error');
    this.failure = error;
  }

  /** ready → quiescing: no new handles; the unload waits for the ones held. */
  startQuiescing(): void {
    this.move(['ready'], 'quiescing');
  }

  /** quiescing → unloading, once drained. */
  doneQuiescing(): void {
    this.move(['quiescing'], 'unloading');
  }

  /** unloading → disabled: the loader unloaded; the servable is gone. */
  unloaded(): void {
    this.move(['unloading'], 'disabled');
    this.loaded = undefined;
  }

  /** A handle that keeps this version loaded until released. Only valid while `ready`. */
  acquire(): ServableHandle<T> {
    if (this.current !== 'ready' || this.loaded === undefined) {
      throw new ServingError('NOT_FOUND', `Servable not found for request: Specific(${this.id.name}, ${this.id.version})`);
    }
    this.refCount++;
    let released = false;
    return {
      id: this.id,
      servable: this.loaded,
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

  private move(from: readonly HarnessState[], to: HarnessState): void {
    if (!from.includes(this.current)) {
      throw new ServingError('INTERNAL', `${servableIdToString(this.id)}: illegal transition ${this.current} → ${to} (expected from ${from.join(' or ')})`);
    }
    this.current = to;
  }
}
