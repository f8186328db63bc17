import type { ManagerState } from '../core/servable-state.js';
import type { Status } from '../core/status.js';

/**
 * Fired by a ModelServer each time a version changes state, as `statechange` and as the state's own
 * lower-case name (`start`, `loading`, `available`, `unloading`, `end`), like Workbox's lifecycle events.
 */
export class VersionStateEvent extends Event {
  constructor(
    type: string,
    readonly model: string,
    readonly version: number,
    readonly state: ManagerState,
    readonly status: Status,
    /** The state the version was in before, if any. */
    readonly previousState: ManagerState | undefined,
    /** True when another version of the model was already AVAILABLE (the version is an update). */
    readonly isUpdate: boolean,
  ) {
    super(type);
  }
}

/** Download progress of one version, in bytes (`progress` events). */
export class DownloadProgressEvent extends Event {
  constructor(
    readonly model: string,
    readonly version: number,
    readonly loadedBytes: number,
    readonly totalBytes: number,
  ) {
    super('progress');
  }
}

/** A poll of a model's repository failed (`sourceerror` events); serving goes on with what it has. */
export class SourceErrorEvent extends Event {
  constructor(
    readonly model: string,
    readonly code: string,
    readonly message: string,
  ) {
    super('sourceerror');
  }
}
