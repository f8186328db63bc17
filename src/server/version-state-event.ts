import type { ManagerState } from '../core/servable-state.js';
import type { Status, StatusCode } from '../core/status.js';

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

/** What a version's progress is about: fetching its files, checking their digests, reading them into TF.js, replaying warmup. */
export type ProgressPhase = 'download' | 'verify' | 'load' | 'warmup';

/** What a DownloadProgressEvent says. */
export interface DownloadProgressEventInit {
  readonly model: string;
  readonly version: number;
  /** Default `download`. */
  readonly phase?: ProgressPhase;
  /** The file being fetched, verified or read, when the phase works file by file. */
  readonly file?: string;
  /** Bytes of the version's files done in this phase (in `warmup`: all of them). */
  readonly loadedBytes: number;
  readonly totalBytes: number;
  /** 0–100 through this phase (in `warmup`: warmup requests replayed). Default: from the bytes. */
  readonly percent?: number;
}

/**
 * Progress of one version (`progress` events), like Transformers.js's progress callback: `phase`
 * (`download` → `verify` per file → `load` → `warmup`), the `file`, bytes and `percent` of the phase.
 */
export class DownloadProgressEvent extends Event implements DownloadProgressEventInit {
  readonly model: string;
  readonly version: number;
  readonly phase: ProgressPhase;
  readonly file: string | undefined;
  readonly loadedBytes: number;
  readonly totalBytes: number;
  readonly percent: number;

  constructor(init: DownloadProgressEventInit) {
    super('progress');
    this.model = init.model;
    this.version = init.version;
    this.phase = init.phase ?? 'download';
    this.file = init.file;
    this.loadedBytes = init.loadedBytes;
    this.totalBytes = init.totalBytes;
    this.percent = init.percent ?? percentOf(init.loadedBytes, init.totalBytes);
  }

  toInit(): DownloadProgressEventInit {
    return { model: this.model, version: this.version, phase: this.phase, file: this.file, loadedBytes: this.loadedBytes, totalBytes: this.totalBytes, percent: this.percent };
  }
}

/** What a TotalProgressEvent says. */
export interface TotalProgressEventInit {
  /** The versions being brought in now (`model@version`), in the order they started. */
  readonly versions: readonly string[];
  /** How many of them are done (AVAILABLE, or failed). */
  readonly done: number;
  /** Bytes of their files downloaded (or imported) so far, and in all. */
  readonly loadedBytes: number;
  readonly totalBytes: number;
  /** 0–100 over every phase of every version (download counts by bytes; verify, load and warmup finish it). */
  readonly percent: number;
}

/**
 * Progress across every version being started at once (`totalprogress` events, fired after each
 * `progress` and when a version is done): one number for a loading bar, like Transformers.js's total
 * progress. A new round starts when the previous one is all done.
 */
export class TotalProgressEvent extends Event implements TotalProgressEventInit {
  readonly versions: readonly string[];
  readonly done: number;
  readonly loadedBytes: number;
  readonly totalBytes: number;
  readonly percent: number;

  constructor(init: TotalProgressEventInit) {
    super('totalprogress');
    this.versions = [...init.versions];
    this.done = init.done;
    this.loadedBytes = init.loadedBytes;
    this.totalBytes = init.totalBytes;
    this.percent = init.percent;
  }

  toInit(): TotalProgressEventInit {
    return { versions: this.versions, done: this.done, loadedBytes: this.loadedBytes, totalBytes: this.totalBytes, percent: this.percent };
  }
}

/** `loaded` of `total` in percent, 0–100 (100 when there is nothing to do). */
export function percentOf(loaded: number, total: number): number {
  if (!(total > 0)) return 100;
  return Math.min(100, Math.max(0, (100 * loaded) / total));
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

/** Fired when a worker died and a new one took over (`workerrestart`; worker mode only). */
export class WorkerRestartEvent extends Event {
  constructor(readonly reason: string) {
    super('workerrestart');
  }
}

/** What a LoadFailureEvent says: one failed attempt to load one version. */
export interface LoadFailureEventInit {
  readonly model: string;
  readonly version: number;
  /** Which attempt failed: 1 for the first load, 2 for the first retry, … */
  readonly attempt: number;
  /** Retries left after this one (`maxNumLoadRetries` in all); 0: the version goes to END with this error. */
  readonly retriesLeft: number;
  /** When retries are left: the wait before the next attempt (`loadRetryIntervalMs`). */
  readonly retryInMs: number;
  readonly code: StatusCode;
  readonly message: string;
}

/**
 * Fired (`loadfailure`) each time loading a version fails, retried or not (TF Serving logs each retry):
 * the version stays LOADING while retries are left, so this is how a retrying version is seen.
 */
export class LoadFailureEvent extends Event implements LoadFailureEventInit {
  readonly model: string;
  readonly version: number;
  readonly attempt: number;
  readonly retriesLeft: number;
  readonly retryInMs: number;
  readonly code: StatusCode;
  readonly message: string;

  constructor(init: LoadFailureEventInit) {
    super('loadfailure');
    this.model = init.model;
    this.version = init.version;
    this.attempt = init.attempt;
    this.retriesLeft = init.retriesLeft;
    this.retryInMs = init.retryInMs;
    this.code = init.code;
    this.message = init.message;
  }

  /** The event's data, plain (what crosses a worker boundary). */
  toInit(): LoadFailureEventInit {
    return { model: this.model, version: this.version, attempt: this.attempt, retriesLeft: this.retriesLeft, retryInMs: this.retryInMs, code: this.code, message: this.message };
  }
}

/** Every event a ModelServer fires, by type: what `addEventListener` and the `listeners` option hand each listener. */
export interface ModelServerEventMap {
  statechange: VersionStateEvent;
  start: VersionStateEvent;
  loading: VersionStateEvent;
  available: VersionStateEvent;
  unloading: VersionStateEvent;
  end: VersionStateEvent;
  progress: DownloadProgressEvent;
  totalprogress: TotalProgressEvent;
  sourceerror: SourceErrorEvent;
  loadfailure: LoadFailureEvent;
  workerrestart: WorkerRestartEvent;
}

/** The event types a ModelServer fires. */
export type ServerEventType = keyof ModelServerEventMap;

/** Listeners by event type, each typed by the event map. */
export type ServerEventListeners = { [K in ServerEventType]?: (event: ModelServerEventMap[K]) => void };

/** Adds the `listeners` option's listeners to a server. */
export function addServerListeners(target: EventTarget, listeners: ServerEventListeners | undefined): void {
  for (const [type, listener] of Object.entries(listeners ?? {})) {
    // The map types each listener by the event its type fires; EventTarget's signature takes any Event.
    if (listener) target.addEventListener(type, listener as EventListener);
  }
}

/** A listener of one event type, typed by the event map. */
export type ServerEventListener<K extends ServerEventType> = (event: ModelServerEventMap[K]) => unknown;

/** EventTarget with `addEventListener`/`removeEventListener` typed by ModelServerEventMap (the servers extend it). */
export class ServerEventTarget extends EventTarget {
  override addEventListener<K extends ServerEventType>(type: K, listener: ServerEventListener<K>, options?: boolean | AddEventListenerOptions): void;
  override addEventListener(type: string, listener: EventListenerOrEventListenerObject | null, options?: boolean | AddEventListenerOptions): void;
  override addEventListener(type: string, listener: EventListenerOrEventListenerObject | ServerEventListener<ServerEventType> | null, options?: boolean | AddEventListenerOptions): void {
    // A typed listener gets the event its type fires: the map's type for that name.
    super.addEventListener(type, listener as EventListenerOrEventListenerObject | null, options);
  }

  override removeEventListener<K extends ServerEventType>(type: K, listener: ServerEventListener<K>, options?: boolean | EventListenerOptions): void;
  override removeEventListener(type: string, listener: EventListenerOrEventListenerObject | null, options?: boolean | EventListenerOptions): void;
  override removeEventListener(type: string, listener: EventListenerOrEventListenerObject | ServerEventListener<ServerEventType> | null, options?: boolean | EventListenerOptions): void {
    // As in addEventListener: the same function object is what EventTarget removes.
    super.removeEventListener(type, listener as EventListenerOrEventListenerObject | null, options);
  }
}
