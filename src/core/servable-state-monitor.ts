import type { ServableState } from './servable-state.js';

/** The latest state of one version and when it was published (ms since epoch). */
export interface ServableStateAndTime {
  readonly state: ServableState;
  readonly timeMs: number;
}

export type ServableStateListener = (state: ServableState, previous: ServableState | undefined) => void;

/**
 * Keeps the latest published state of every version of every servable stream, like TF Serving's
 * ServableStateMonitor: END entries are kept (with their error), so status shows what failed.
 * The manager and the sources publish into it; status queries and events read from it.
 */
export class ServableStateMonitor {
  private readonly states = new Map<string, Map<number, ServableStateAndTime>>();
  private readonly listeners = new Set<ServableStateListener>();

  publish(state: ServableState): void {
    let versions = this.states.get(state.id.name);
    if (!versions) this.states.set(state.id.name, (versions = new Map()));
    const previous = versions.get(state.id.version)?.state;
    versions.set(state.id.version, { state, timeMs: Date.now() });
    for (const listener of [...this.listeners]) {
      try {
        listener(state, previous);
      } catch (e) {
        // A listener's bug must not break the manager; report it where developers look.
        console.error('tfjs-serving: a servable state listener threw', e);
      }
    }
  }

  /** The latest state of each version of `name`, ascending by version. */
  getVersionStates(name: string): Map<number, ServableStateAndTime> {
    return new Map([...(this.states.get(name) ?? new Map<number, ServableStateAndTime>())].sort((a, b) => a[0] - b[0]));
  }

  getState(name: string, version: number): ServableState | undefined {
    return this.states.get(name)?.get(version)?.state;
  }

  /** Names of every stream ever published. */
  streams(): string[] {
    return [...this.states.keys()];
  }

  /** Forgets a stream (after its model was removed from the config). */
  forget(name: string): void {
    this.states.delete(name);
  }

  subscribe(listener: ServableStateListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Resolves with the first published state that satisfies `predicate` (checking current states first). */
  waitFor(predicate: (state: ServableState) => boolean, signal?: AbortSignal): Promise<ServableState> {
    for (const versions of this.states.values()) {
      for (const { state } of versions.values()) if (predicate(state)) return Promise.resolve(state);
    }
    return new Promise((resolve, reject) => {
      const unsubscribe = this.subscribe((state) => {
        if (predicate(state)) {
          unsubscribe();
          resolve(state);
        }
      });
      signal?.addEventListener('abort', () => {
        unsubscribe();
        reject(signal.reason);
      });
    });
  }
}
