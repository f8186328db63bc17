import { ServingError } from '../core/status.js';
import type { ModelStore, StoredVersion, VersionFile, VersionWriter } from './model-store.js';
import { assertSafeRelativePath } from './model-store.js';

interface Entry {
  record: StoredVersion;
  files: Map<string, Uint8Array>;
}

/** A store that keeps versions in memory only: for tests and for Node processes that need no cache. */
export class MemoryModelStore implements ModelStore {
  readonly kind = 'memory';
  private readonly versions = new Map<string, Entry>();

  async listVersions(model: string): Promise<number[]> {
    return [...this.versions.values()]
      .filter((e) => e.record.model === model)
      .map((e) => e.record.version)
      .sort((a, b) => a - b);
  }

  async getVersion(model: string, version: number): Promise<StoredVersion | undefined> {
    return this.versions.get(key(model, version))?.record;
  }

  async readFile(model: string, version: number, path: string): Promise<Uint8Array> {
    const bytes = this.versions.get(key(model, version))?.files.get(path);
    if (!bytes) throw new ServingError('NOT_FOUND', `file ${path} of ${model} version ${version} is not in the store`);
    return bytes.slice(); // callers own what they read, as with the other stores
  }

  async beginVersion(model: string, version: number): Promise<VersionWriter> {
    const staged = new Map<string, Uint8Array>();
    return {
      writeFile: async (path, bytes) => {
        assertSafeRelativePath(path);
        staged.set(path, bytes.slice());
      },
      commit: async (files: readonly VersionFile[]) => {
        for (const f of files) {
          if (!staged.has(f.path)) throw new ServingError('FAILED_PRECONDITION', `cannot commit ${model} version ${version}: ${f.path} was not written`);
        }
        const record: StoredVersion = { model, version, files: [...files], committedAt: new Date().toISOString() };
        this.versions.set(key(model, version), { record, files: new Map(staged) });
        return record;
      },
      abort: async () => staged.clear(),
    };
  }

  async deleteVersion(model: string, version: number): Promise<void> {
    this.versions.delete(key(model, version));
  }
}

function key(model: string, version: number): string {
  return `${model}\u0000${version}`;
}
