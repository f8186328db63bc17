// Shared set-up for end-to-end serving tests: a repository on a real HTTP server, the real CLI
// publisher, and a ModelServer on the wasm backend with a file-system store.
import { LocalModelServer } from '../../src/index.js';
import type { ModelServer, ModelServerOptions, PredictResponse, VersionStateEvent } from '../../src/index.js';
import { FileSystemModelStore } from '../../src/storage/file-system-model-store.js';
import { publishGraphModel } from '../../src/repository/publish.js';
import { RepositoryServer } from './repository-server.js';
import { denseModel, removeTempDirs, tempDir } from './models.js';
import { join } from 'node:path';

export interface Harness {
  repo: RepositoryServer;
  repoDir: string;
  storeDir: string;
  /** Publishes a dense model computing y = version * x as `version` of `model`. */
  publishDense(model: string, version: number, kernel?: number): Promise<void>;
  start(options: Partial<ModelServerOptions> & { models?: string[] }): Promise<LocalModelServer>;
  close(): Promise<void>;
}

export async function harness(): Promise<Harness> {
  const repoDir = await tempDir('repo');
  const storeDir = await tempDir('store');
  const repo = await RepositoryServer.start(repoDir);
  const servers: LocalModelServer[] = [];
  return {
    repo,
    repoDir,
    storeDir,
    async publishDense(model, version, kernel = version) {
      await publishGraphModel(await denseModel(kernel, 0), join(repoDir, model), { version });
    },
    async start(options) {
      const { models = ['m'], ...rest } = options;
      const server = await LocalModelServer.start({
        modelConfigList: models.map((name) => ({ name, basePath: repo.modelUrl(name) })),
        store: new FileSystemModelStore(storeDir),
        pollIntervalMs: 0,
        backends: ['wasm'],
        loadRetryIntervalMs: 10,
        maxNumLoadRetries: 1,
        ...rest,
      });
      servers.push(server);
      return server;
    },
    async close() {
      await Promise.all(servers.map((s) => s.close()));
      await repo.close();
      await removeTempDirs();
    },
  };
}

/** Runs a dense-model prediction of x. */
export function predictDense(server: ModelServer, x: number, extra: { version?: number; label?: string; model?: string } = {}): Promise<PredictResponse> {
  return server.predict({ model: extra.model ?? 'm', version: extra.version, label: extra.label, inputs: { 'dense_dense1_input:0': [[x]] } });
}

export function valueOf(r: PredictResponse): number {
  return (r.outputs['Identity:0']!.data as Float32Array)[0]!;
}

/** Records `statechange` events as "version:STATE" strings (with the error code when not OK). */
export function recordTransitions(server: ModelServer): string[] {
  const log: string[] = [];
  server.addEventListener('statechange', (e) => {
    const ev = e as VersionStateEvent;
    log.push(`${ev.model}/${ev.version}:${ev.state}${ev.status.error_code === 'OK' ? '' : `:${ev.status.error_code}`}`);
  });
  return log;
}

/**
 * The one weight file of version `to` whose bytes version `from` does not have (publish shards by weight:
 * a dense model whose kernel changed and bias did not has exactly one), read from the repository manifest.
 */
export async function changedWeightFile(repoDir: string, model: string, from: number, to: number): Promise<string> {
  const { readFile } = await import('node:fs/promises');
  const manifest = JSON.parse(await readFile(join(repoDir, model, 'manifest.json'), 'utf8')) as { versions: Array<{ version: number; files: Array<{ path: string; sha256: string }> }> };
  const old = new Set(manifest.versions.find((v) => v.version === from)?.files.map((f) => f.sha256));
  const changed = manifest.versions.find((v) => v.version === to)?.files.filter((f) => f.path.endsWith('.bin') && !old.has(f.sha256)) ?? [];
  if (changed.length !== 1) throw new Error(`expected one changed weight file from version ${from} to ${to}, got ${JSON.stringify(changed)}`);
  return changed[0]!.path;
}
