import { ServingError } from '../core/status.js';
import type { ModelStore, StagedFile, StoredVersion, VersionFile, VersionWriter } from './model-store.js';
import { assertCommittable, assertSafeRelativePath, assertSha256Hex } from './model-store.js';
import { sha256Hex } from './sha256.js';

/**
 * A store that keeps versions in memory only: for tests and for Node processes that need no cache.
 * File contents are kept once per SHA-256 and shared by every version that lists them; a blob goes
 * when no committed version and no open writer refers to it.
 */
export class MemoryModelStore implements ModelStore {
  readonly kind = 'memory';
  private readonly versions = new Map<string, StoredVersion>();
  private readonly blobs = new Map<string, Uint8Array>();
  /** Hashes each open writer has staged or reused: they are not collected. */
  private readonly writers = new Set<Map<string, StagedFile>>();

  async listVersions(model: string): Promise<number[]> {
    return [...this.versions.values()]
      .filter((r) => r.model === model)
      .map((r) => r.version)
      .sort((a, b) => a - b);
  }

  async getVersion(model: string, version: number): Promise<StoredVersion | undefined> {
    return this.versions.get(key(model, version));
  }

  async readFile(model: string, version: number, path: string): Promise<Uint8Array> {
    const file = this.versions.get(key(model, version))?.files.find((f) => f.path === path);
    const bytes = file && this.blobs.get(file.sha256);
    if (!bytes) throw new ServingError('NOT_FOUND', `file ${path} of ${model} version ${version} is not in the store`);
    return bytes.slice(); // callers own what they read, as with the other stores
  }

  async beginVersion(model: string, version: number): Promise<VersionWriter> {
    const staged = new Map<string, StagedFile>();
    this.writers.add(staged);
    const close = () => {
      this.writers.delete(staged);
      this.sweep();
    };
    return {
      writeFile: async (path, bytes) => {
        assertSafeRelativePath(path);
        const copy = bytes.slice();
        const sha256 = await sha256Hex(copy);
        if (!this.blobs.has(sha256)) this.blobs.set(sha256, copy);
        staged.set(path, { sha256, size: copy.byteLength });
      },
      reuseFile: async (file: VersionFile) => {
        assertSafeRelativePath(file.path);
        assertSha256Hex(file.sha256, `reusing ${file.path} for ${model} version ${version}`);
        if (this.blobs.get(file.sha256)?.byteLength !== file.size) return false;
        staged.set(file.path, { sha256: file.sha256, size: file.size });
        return true;
      },
      commit: async (files: readonly VersionFile[]) => {
        assertCommittable(model, version, files, staged);
        const record: StoredVersion = { model, version, files: files.map((f) => ({ path: f.path, size: f.size, sha256: f.sha256 })), committedAt: new Date().toISOString() };
        this.versions.set(key(model, version), record);
        close();
        return record;
      },
      abort: async () => close(),
    };
  }

  async deleteVersion(model: string, version: number): Promise<void> {
    this.versions.delete(key(model, version));
    this.sweep();
  }

  async collectGarbage(): Promise<void> {
    this.sweep();
  }

  /** Mark and sweep: drops the blobs that no commit record and no open writer lists. */
  private sweep(): void {
    const live = new Set<string>();
    for (const r of this.versions.values()) for (const f of r.files) live.add(f.sha256);
    for (const w of this.writers) for (const f of w.values()) live.add(f.sha256);
    for (const sha of this.blobs.keys()) if (!live.has(sha)) this.blobs.delete(sha);
  }
}

function key(model: string, version: number): string {
  return `${model}\u0000${version}`;
}
