import type { ManagerState } from '../core/servable-state.js';
import type { Status } from '../core/status.js';

/** What a VersionStateEvent says: one version's new state. */
export interface VersionStateEventInit {
  readonly model: string;
  readonly version: number;
  readonly state: ManagerState;
  readonly status: Status;
  /** The state the version was in before, if any. */
  readonly previousState: ManagerState | undefined;
  /** True when another version of the model was already AVAILABLE (the version is an update). */
  readonly isUpdate: boolean;
}

/**
 * Fired by a ModelServer each time a version changes state, as `statechange` and as the state's own
 * lower-case name (`start`, `loading`, `available`, `unloading`, `end`), like Workbox's lifecycle events.
 */
export class VersionStateEvent extends Event implements VersionStateEventInit {
  readonly model: string;
  readonly version: number;
  readonly state: ManagerState;
  readonly status: Status;
  readonly previousState: ManagerState | undefined;
  readonly isUpdate: boolean;

  constructor(type: string, init: VersionStateEventInit) {
    super(type);
    this.model = init.model;
    this.version = init.version;
    this.state = init.state;
    this.status = init.status;
    this.previousState = init.previousState;
    this.isUpdate = init.isUpdate;
  }

  /** The event's data, plain (what crosses a worker boundary). */
  toInit(): VersionStateEventInit {
    return { model: this.model, version: this.version, state: this.state, status: this.status, previousState: this.previousState, isUpdate: this.isUpdate };
  }
}

/** What a DownloadProgressEvent says. */
export interface DownloadProgressEventInit {
  readonly model: string;
  readonly version: number;
  readonly loadedBytes: number;
  readonly totalBytes: number;
}

/** Download progress of one version, in bytes (`progress` events). */
export class DownloadProgressEvent extends Event implements DownloadProgressEventInit {
  readonly model: string;
  readonly version: number;
  readonly loadedBytes: number;
  readonly totalBytes: number;

  constructor(init: DownloadProgressEventInit) {
    super('progress');
    this.model = init.model;
    this.version = init.version;
    this.loadedBytes = init.loadedBytes;
    this.totalBytes = init.totalBytes;
  }

  toInit(): DownloadProgressEventInit {
    return { model: this.model, version: this.version, loadedBytes: this.loadedBytes, totalBytes: this.totalBytes };
  }
}

/** What a SourceErrorEvent says. */
export interface SourceErrorEventInit {
  readonly model: string;
  readonly code: string;
  readonly message: string;
}

/** A poll of a model's repository failed (`sourceerror` events); serving goes on with what it has. */
export class SourceErrorEvent extends Event implements SourceErrorEventInit {
  readonly model: string;
  readonly code: string;
  readonly message: string;

  constructor(init: SourceErrorEventInit) {
    super('sourceerror');
    this.model = init.model;
    this.code = init.code;
    this.message = init.message;
  }

  toInit(): SourceErrorEventInit {
    return { model: this.model, code: this.code, message: this.message };
  }
}
