import type { ServableId } from './servable-id.js';

/**
 * A reference to one loaded version, held for the length of one request: the version is not unloaded
 * while any handle to it is held. Call `release()` exactly once (a second call does nothing).
 */
export interface ServableHandle<T> {
  readonly id: ServableId;
  readonly servable: T;
  release(): void;
}
