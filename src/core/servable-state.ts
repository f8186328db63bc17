import type { ServableId } from './servable-id.js';
import type { Status } from './status.js';

/**
 * The public life of a servable version, as TF Serving publishes it. States only move forward;
 * an error is not a state: it rides along in `health` (END with a non-OK status is a failed version).
 */
export type ManagerState = 'START' | 'LOADING' | 'AVAILABLE' | 'UNLOADING' | 'END';

/** One published state of one servable version. */
export interface ServableState {
  readonly id: ServableId;
  readonly managerState: ManagerState;
  readonly health: Status;
}
