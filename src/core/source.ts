import type { AspiredVersion } from './aspired-versions-manager.js';

/** Called by a Source with the complete list of versions it wants loaded for one servable stream. */
export type AspiredVersionsCallback<T> = (name: string, versions: AspiredVersion<T>[]) => void;

/**
 * Finds servable versions and tells the manager which to load (TF Serving's Source). Each call of the
 * callback replaces the previous list for that stream; an empty list unloads the stream.
 */
export interface Source<T> {
  setAspiredVersionsCallback(callback: AspiredVersionsCallback<T>): void;
  /** Emits what is available locally, then starts polling. Resolves after the first poll attempt. */
  start(): Promise<void>;
  /** Stops polling and aborts downloads in flight. */
  stop(): Promise<void>;
}
