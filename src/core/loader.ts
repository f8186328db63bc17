/** Resources a version will hold while loaded (TF Serving's ResourceAllocation, RAM only). */
export interface ResourceEstimate {
  readonly ramBytes: number;
}

/**
 * Loads and unloads one servable version (TF Serving's Loader). The manager calls
 * `estimateResources` before `load`, and `unload` only after the last request holding the version
 * finished. A Loader is used for one load; a retry calls `load` again after a failure.
 */
export interface Loader<T> {
  /** An upper bound of what `load` will use; must not grow after load. */
  estimateResources(): Promise<ResourceEstimate>;
  /** Loads (and warms up) the servable. */
  load(): Promise<T>;
  /** Frees everything `load` took. */
  unload(): Promise<void>;
}
