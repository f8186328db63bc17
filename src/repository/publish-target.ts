// Where `publish` writes a version: a local repository directory, or a bucket. Each target writes the
// version's files first and the manifest last, so a poller never sees half a version.
import type { ModelManifest } from './manifest.js';
import type { VersionFileData } from './version-directory.js';

export interface PublishTarget {
  /** The model's name: the last segment of the target path. */
  readonly model: string;
  /** The manifest's location, for messages and the result (a path, or `s3://…/manifest.json`). */
  readonly manifestLocation: string;
  /** The published manifest, or undefined when nothing is published there yet. */
  readManifest(): Promise<ModelManifest | undefined>;
  /** Writes every file of `version` (before the manifest lists it). */
  writeVersion(version: number, files: readonly VersionFileData[], log: (line: string) => void): Promise<void>;
  /** Replaces the manifest (last). */
  writeManifest(manifest: ModelManifest): Promise<void>;
  /** Releases connections. */
  close(): void;
}
