import { mkdir, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { ServingError } from '../core/status.js';
import type { ModelStore, StoredVersion, VersionFile, VersionWriter } from './model-store.js';
import { assertSafeRelativePath } from './model-store.js';

/** The errno code (`ENOENT`, …) of what a Node fs call rejected with. */
function errnoOf(e: unknown): unknown {
  return typeof e === 'object' && e !== null && 'code' in e ? e.code : undefined;
}

const RECORD = '.tfjs-serving-version.json';
const STAGING = '.staging';
const TRASH = '.trash';

/**
 * A model store in a cache directory (Node). Layout: `<root>/<model>/<version>/<files…>` plus a commit
 * record `.tfjs-serving-version.json`. A version is written under `<root>/<model>/.staging/` and made
 * visible by one directory rename, so a reader never sees half of it; deleting renames it into
 * `.trash/` first.
 */
export class FileSystemModelStore implements ModelStore {
  readonly kind = 'filesystem';

  /**
   * @param root the cache directory (created on first write)
   * @param stagingTtlMs staged downloads older than this are garbage; younger ones may belong to
   *   another process sharing the directory; 0 collects every staged download. Default 1 hour.
   */
  constructor(
    readonly root: string,
    readonly stagingTtlMs = 3_600_000,
  ) {}

  async listVersions(model: string): Promise<number[]> {
    let names: string[];
    try {
      names = await readdir(this.modelDir(model));
    } catch (e) {
      if (errnoOf(e) === 'ENOENT') return [];
      throw e;
    }
    const versions: number[] = [];
    for (const name of names) {
      if (!/^\d+$/.test(name)) continue;
      if (await this.readRecord(model, Number(name))) versions.push(Number(name));
    }
    return versions.sort((a, b) => a - b);
  }

  async getVersion(model: string, version: number): Promise<StoredVersion | undefined> {
    return this.readRecord(model, version);
  }

  async readFile(model: string, version: number, path: string): Promise<Uint8Array> {
    assertSafeRelativePath(path);
    try {
      return new Uint8Array(await readFile(join(this.versionDir(model, version), ...path.split('/'))));
    } catch (e) {
      if (errnoOf(e) === 'ENOENT') {
        throw new ServingError('NOT_FOUND', `file ${path} of ${model} version ${version} is not in the store at ${this.root}`);
      }
      throw ServingError.from(e, 'INTERNAL', `reading ${path} of ${model} version ${version}: `);
    }
  }

  async beginVersion(model: string, version: number): Promise<VersionWriter> {
    const staging = join(this.modelDir(model), STAGING, `${version}-${randomUUID()}`);
    await mkdir(staging, { recursive: true });
    const written = new Set<string>();
    return {
      writeFile: async (path, bytes) => {
        assertSafeRelativePath(path);
        const file = join(staging, ...path.split('/'));
        await mkdir(dirname(file), { recursive: true });
        await writeFile(file, bytes);
        written.add(path);
      },
      commit: async (files: readonly VersionFile[]) => {
        for (const f of files) {
          if (!written.has(f.path)) throw new ServingError('FAILED_PRECONDITION', `cannot commit ${model} version ${version}: ${f.path} was not written`);
        }
        const record: StoredVersion = { model, version, files: [...files], committedAt: new Date().toISOString() };
        await writeFile(join(staging, RECORD), JSON.stringify(record));
        const target = this.versionDir(model, version);
        await this.moveToTrash(target);
        await rename(staging, target);
        await rm(join(this.modelDir(model), TRASH), { recursive: true, force: true });
        return record;
      },
      abort: async () => {
        await rm(staging, { recursive: true, force: true });
      },
    };
  }

  async deleteVersion(model: string, version: number): Promise<void> {
    await this.moveToTrash(this.versionDir(model, version));
    await rm(join(this.modelDir(model), TRASH), { recursive: true, force: true });
  }

  async collectGarbage(): Promise<void> {
    let models: string[];
    try {
      models = await readdir(this.root);
    } catch {
      return;
    }
    const cutoff = Date.now() - this.stagingTtlMs;
    for (const m of models) {
      const staging = join(this.root, m, STAGING);
      for (const entry of await readdir(staging).catch((): string[] => [])) {
        const s = await stat(join(staging, entry)).catch(() => undefined);
        if (s && (this.stagingTtlMs <= 0 || s.mtimeMs < cutoff)) await rm(join(staging, entry), { recursive: true, force: true });
      }
      await rm(join(this.root, m, TRASH), { recursive: true, force: true });
    }
  }

  private async moveToTrash(dir: string): Promise<void> {
    const trash = join(dirname(dir), TRASH);
    await mkdir(trash, { recursive: true });
    try {
      await rename(dir, join(trash, randomUUID()));
    } catch (e) {
      if (errnoOf(e) !== 'ENOENT') throw e;
    }
  }

  private async readRecord(model: string, version: number): Promise<StoredVersion | undefined> {
    try {
      // The record file is written only by commit(), from a checked StoredVersion.
    const record = JSON.parse(await readFile(join(this.versionDir(model, version), RECORD), 'utf8')) as StoredVersion;
      return record.model === model && record.version === version ? record : undefined;
    } catch {
      return undefined;
    }
  }

  private modelDir(model: string): string {
    return join(this.root, encodeURIComponent(model));
  }

  private versionDir(model: string, version: number): string {
    return join(this.modelDir(model), String(version));
  }
}
