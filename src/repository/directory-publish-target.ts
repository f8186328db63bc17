// Publishing into a local repository directory: the version through a temporary directory and one
// rename, the manifest through a temporary file and one rename.
import { randomUUID } from 'node:crypto';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import type { ModelManifest } from './manifest.js';
import { MANIFEST_FILE, parseManifest } from './manifest.js';
import type { PublishTarget } from './publish-target.js';
import type { VersionFileData } from './version-directory.js';

export class DirectoryPublishTarget implements PublishTarget {
  readonly model: string;
  readonly manifestLocation: string;
  private readonly dir: string;

  constructor(modelDir: string) {
    this.dir = resolve(modelDir);
    this.model = basename(this.dir);
    this.manifestLocation = join(this.dir, MANIFEST_FILE);
  }

  async readManifest(): Promise<ModelManifest | undefined> {
    await mkdir(this.dir, { recursive: true });
    const exists = await stat(this.manifestLocation).then(
      () => true,
      () => false,
    );
    return exists ? parseManifest(await readFile(this.manifestLocation, 'utf8'), this.manifestLocation) : undefined;
  }

  async writeVersion(version: number, files: readonly VersionFileData[], log: (line: string) => void): Promise<void> {
    const staging = join(this.dir, `.publish-${version}-${randomUUID()}`);
    try {
      for (const file of files) {
        const dest = join(staging, ...file.path.split('/'));
        await mkdir(dirname(dest), { recursive: true });
        await writeFile(dest, file.bytes);
        log(`  ${file.path} ${file.bytes.length} bytes`);
      }
      const versionDir = join(this.dir, String(version));
      await rm(versionDir, { recursive: true, force: true }); // a leftover of a publish that crashed before its manifest
      await rename(staging, versionDir);
    } catch (e) {
      await rm(staging, { recursive: true, force: true });
      throw e;
    }
  }

  async writeManifest(manifest: ModelManifest): Promise<void> {
    const tmp = `${this.manifestLocation}.tmp-${randomUUID()}`;
    await writeFile(tmp, JSON.stringify(manifest, null, 2) + '\n');
    await rename(tmp, this.manifestLocation);
  }

  close(): void {}
}
