import type { StatusCode } from '../core/status.js';
import { ServingError, messageOf } from '../core/status.js';
import { expectedWeightBytes, parseGraphModelJson } from '../runtime/graph-model-artifacts.js';
import type { VersionFile } from '../storage/model-store.js';
import type { StoreImportingSourceOptions } from './store-importing-source.js';
import { StoreImportingSource } from './store-importing-source.js';

export interface FileSystemSourceOptions<T> extends StoreImportingSourceOptions<T> {
  /** A local directory (or file: URL) laid out like TF Serving's base_path: one numeric directory per version. */
  basePath: string;
  /** Poll interval (`--file_system_poll_wait_seconds`); 0 or less polls once. Default 1000. */
  pollIntervalMs?: number;
}

/** True where `basePath` names a local directory this realm can read: a path or file: URL, in Node. */
export function isLocalDirectoryBasePath(basePath: string): boolean {
  const isNode = typeof process !== 'undefined' && !!(process as { versions?: { node?: string } }).versions?.node && typeof window === 'undefined';
  if (!isNode) return false;
  if (/^file:/i.test(basePath)) return true;
  if (/^[a-zA-Z]:[\\/]/.test(basePath)) return true; // C:\models\m
  return !/^[a-zA-Z][a-zA-Z\d+.-]*:/.test(basePath);
}

// Node modules are imported when the source starts, so bundlers for browsers never follow them.
type Fs = typeof import('node:fs/promises');
type Path = typeof import('node:path');
type Crypto = typeof import('node:crypto');
type Os = typeof import('node:os');
type Url = typeof import('node:url');
const nodeImport = <M>(specifier: string): Promise<M> => import(/* @vite-ignore */ specifier) as Promise<M>;
const CONVERTER = '../../converter/index.js';

interface Node {
  fs: Fs;
  path: Path;
  crypto: Crypto;
  os: Os;
  url: Url;
}

interface FileEntry {
  path: string;
  size: number;
  mtimeMs: number;
}

/**
 * TF Serving's FileSystemStoragePathSource for a ModelServer: polls a local directory whose numeric
 * children are versions (`00000123` is 123) holding a TF.js graph model (model.json) or a SavedModel
 * (saved_model.pb, converted on the fly), imports each version the policy wants into the store with
 * the store's atomic commit, and only then aspires it. Unlike TF Serving, a half-written or broken
 * version directory is never aspired: it is imported only when it converts/validates and did not
 * change while being read, and its error shows in status (START with the code) until it is fixed.
 */
export class FileSystemSource<T> extends StoreImportingSource<T, FileSystemSourceOptions<T>> {
  private node: Node | undefined;
  private dir = '';
  /** The version directories of the last listing, by version. */
  private dirs = new Map<number, string>();
  private onDisk: number[] | undefined;
  /** Fingerprint of a version directory whose import failed: not retried until it changes. */
  private failed = new Map<number, { fingerprint: string; error: ServingError }>();

  constructor(options: FileSystemSourceOptions<T>) {
    super(options, { pollIntervalMs: options.pollIntervalMs ?? 1000 });
  }

  protected override publishedVersions(): number[] | undefined {
    return this.onDisk ? [...this.onDisk] : undefined;
  }

  /** The poll interval while polling goes on (the file system is never backed off). */
  protected override nextPollDelayMs(): number | undefined {
    return this.stopped || this.pollIntervalMs <= 0 ? undefined : this.pollIntervalMs;
  }

  protected override async onStart(): Promise<void> {
    const [fs, path, crypto, os, url] = await Promise.all([
      nodeImport<Fs>('node:fs/promises'),
      nodeImport<Path>('node:path'),
      nodeImport<Crypto>('node:crypto'),
      nodeImport<Os>('node:os'),
      nodeImport<Url>('node:url'),
    ]);
    this.node = { fs, path, crypto, os, url };
    this.dir = /^file:/i.test(this.options.basePath) ? url.fileURLToPath(this.options.basePath) : path.resolve(this.options.basePath);
  }

  /** Polls at once (and re-arms the timer); does nothing before the source started. Concurrent calls share one poll. */
  override pollNow(): Promise<void> {
    return this.node ? super.pollNow() : Promise.resolve();
  }

  protected override async listPublished(): Promise<number[]> {
    this.dirs = await this.listVersionDirs();
    return [...this.dirs.keys()].sort((a, b) => a - b);
  }

  protected override async beginRound(published: readonly number[]): Promise<undefined> {
    this.onDisk = [...published];
    return undefined;
  }

  protected override async importVersion(version: number): Promise<void> {
    await this.importDir(version, this.dirs.get(version)!);
  }

  /** Numeric children of the base path (TF Serving's ParseVersionNumber: "00000123" is 123). */
  private async listVersionDirs(): Promise<Map<number, string>> {
    const { fs, path } = this.node!;
    let entries: import('node:fs').Dirent[];
    try {
      entries = await fs.readdir(this.dir, { withFileTypes: true });
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') {
        throw new ServingError('NOT_FOUND', `Could not find base path ${this.dir} for servable ${this.name}`);
      }
      throw new ServingError('UNAVAILABLE', `reading base path ${this.dir} for servable ${this.name}: ${messageOf(e)}`, { cause: e });
    }
    const found = new Map<number, string>();
    for (const e of entries.sort((a, b) => (a.name < b.name ? -1 : 1))) {
      if (!/^\d+$/.test(e.name)) continue;
      const v = Number(e.name);
      if (!Number.isSafeInteger(v) || found.has(v)) continue;
      if (!e.isDirectory() && !(e.isSymbolicLink() && (await fs.stat(path.join(this.dir, e.name)).catch(() => undefined))?.isDirectory())) continue;
      found.set(v, path.join(this.dir, e.name));
    }
    return found;
  }

  private async listFiles(dir: string): Promise<FileEntry[]> {
    const { fs, path } = this.node!;
    const out: FileEntry[] = [];
    const walk = async (rel: string) => {
      for (const e of await fs.readdir(path.join(dir, rel), { withFileTypes: true })) {
        const r = rel ? `${rel}/${e.name}` : e.name;
        if (e.isDirectory()) await walk(r);
        else {
          const s = await fs.stat(path.join(dir, r));
          if (s.isFile()) out.push({ path: r, size: s.size, mtimeMs: s.mtimeMs });
        }
      }
    };
    await walk('');
    return out.sort((a, b) => (a.path < b.path ? -1 : 1));
  }

  private async importDir(version: number, dir: string): Promise<void> {
    const fingerprint = JSON.stringify(await this.listFiles(dir));
    const previous = this.failed.get(version);
    if (previous && previous.fingerprint === fingerprint) throw previous.error; // unchanged since it failed
    try {
      const files = await this.readVersion(version, dir);
      if (JSON.stringify(await this.listFiles(dir)) !== fingerprint) {
        throw new ServingError('UNAVAILABLE', `${dir} changed while it was being imported; it is retried on the next poll`);
      }
      const totalBytes = files.reduce((s, f) => s + f.bytes.length, 0);
      this.options.onProgress?.({ model: this.name, version, loadedBytes: 0, totalBytes });
      const writer = await this.options.store.beginVersion(this.name, version);
      const records: VersionFile[] = [];
      try {
        for (const f of files) {
          await writer.writeFile(f.path, f.bytes);
          records.push({ path: f.path, size: f.bytes.length, sha256: this.node!.crypto.createHash('sha256').update(f.bytes).digest('hex') });
        }
        await writer.commit(records);
      } catch (e) {
        await writer.abort().catch(() => undefined);
        throw e;
      }
      this.options.onProgress?.({ model: this.name, version, loadedBytes: totalBytes, totalBytes });
      this.failed.delete(version);
      this.addStored(version);
      this.options.onCommit?.(version);
    } catch (e) {
      const err = ServingError.from(e, codeOf(e), `importing version ${version} of ${this.name} from ${dir}: `);
      // Not retried while the directory stays as it is (a half-written one changes, and is retried).
      if (err.code !== 'UNAVAILABLE') this.failed.set(version, { fingerprint, error: err });
      this.publishImportError(version, err);
      throw err;
    }
  }

  /** The files of one version as the store keeps them: a TF.js graph model (converted from a SavedModel when needed). */
  private async readVersion(version: number, dir: string): Promise<Array<{ path: string; bytes: Uint8Array }>> {
    const { fs, path } = this.node!;
    const exists = (p: string) => fs.stat(path.join(dir, p)).then((s) => s.isFile(), () => false);
    if (await exists('model.json')) return this.readGraphModel(dir, `${this.name} version ${version}`);
    if (await exists('saved_model.pb')) return this.convertSavedModel(dir, `${this.name} version ${version}`);
    const names = (await fs.readdir(dir)).slice(0, 8);
    throw new ServingError('NOT_FOUND', `${dir} holds neither a TF.js graph model (model.json) nor a SavedModel (saved_model.pb); found: ${names.join(', ') || 'nothing'}`);
  }

  private async readGraphModel(dir: string, where: string): Promise<Array<{ path: string; bytes: Uint8Array }>> {
    const { fs, path } = this.node!;
    const read = async (rel: string) => new Uint8Array(await fs.readFile(path.join(dir, ...rel.split('/'))));
    const modelJson = await read('model.json');
    const json = parseGraphModelJson(modelJson, where);
    const out = [{ path: 'model.json', bytes: modelJson }];
    let weightBytes = 0;
    for (const p of (json.weightsManifest ?? []).flatMap((g) => g.paths)) {
      const rel = p.replace(/^\.\//, '');
      if (rel.split('/').includes('..') || rel.startsWith('/')) throw new ServingError('INVALID_ARGUMENT', `${where}: weight path ${JSON.stringify(p)} leaves the version directory`);
      const bytes = await read(rel).catch((e: unknown) => {
        throw new ServingError('NOT_FOUND', `${where}: model.json lists weight file ${p}, which cannot be read: ${messageOf(e)}`);
      });
      weightBytes += bytes.length;
      out.push({ path: rel, bytes });
    }
    const expected = expectedWeightBytes((json.weightsManifest ?? []).flatMap((g) => g.weights));
    if (expected !== undefined && expected !== weightBytes) {
      throw new ServingError('DATA_LOSS', `${where}: the weight files hold ${weightBytes} bytes, but model.json's weightsManifest describes ${expected} (a half-written copy?)`);
    }
    const warmup = await read('warmup.json').catch(() => undefined);
    if (warmup) out.push({ path: 'warmup.json', bytes: warmup });
    return out;
  }

  private async convertSavedModel(dir: string, where: string): Promise<Array<{ path: string; bytes: Uint8Array }>> {
    const { fs, path, os } = this.node!;
    const converter = (await import(/* @vite-ignore */ CONVERTER)) as {
      convertSavedModel: (dir: string, options: { signatureName?: string }) => Promise<unknown>;
      writeGraphModel: (result: unknown, outputDir: string, options?: object) => string[];
    };
    let result: unknown;
    try {
      result = await converter.convertSavedModel(dir, { signatureName: 'all' });
    } catch (e) {
      throw ServingError.from(e, codeOf(e), `${where}: converting the SavedModel: `);
    }
    const tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'tfjs-serving-convert-'));
    try {
      converter.writeGraphModel(result, tmp);
      return await this.readGraphModel(tmp, where);
    } finally {
      await fs.rm(tmp, { recursive: true, force: true });
    }
  }
}

const CODES = new Set<string>([
  'CANCELLED', 'UNKNOWN', 'INVALID_ARGUMENT', 'DEADLINE_EXCEEDED', 'NOT_FOUND', 'ALREADY_EXISTS', 'PERMISSION_DENIED',
  'RESOURCE_EXHAUSTED', 'FAILED_PRECONDITION', 'ABORTED', 'OUT_OF_RANGE', 'UNIMPLEMENTED', 'INTERNAL', 'UNAVAILABLE', 'DATA_LOSS', 'UNAUTHENTICATED',
]);

/** The status code of a ConverterError (or any error with a canonical `code`), else UNKNOWN. */
function codeOf(e: unknown): StatusCode {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' && CODES.has(code) ? (code as StatusCode) : 'UNKNOWN';
}
