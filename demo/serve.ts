// npm start: publishes real TF.js graph models shipped in npm (@vladmandic/human, MIT/Apache-2.0) into a
// static model repository, serves it over HTTP on 127.0.0.1, and serves the models from it with a
// ModelServer in Node — status, metadata and predictions printed as they happen.
import { createServer } from 'node:http';
import { readFile, rm, stat } from 'node:fs/promises';
import { dirname, extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ModelServer, FileSystemModelStore, publishGraphModel } from '../src/node.js';
import type { VersionStateEvent, DownloadProgressEvent } from '../src/index.js';

const root = dirname(fileURLToPath(import.meta.url));
const repoDir = join(root, '.repository');
const humanModels = join(root, '..', 'node_modules', '@vladmandic', 'human', 'models');
const port = Number(process.env.PORT ?? 8080);

/** Models of the demo, with their licences (see node_modules/@vladmandic/human/README.md). */
const MODELS = [
  { name: 'emotion', file: 'emotion.json', license: 'MIT (oarriaga/face_classification)' },
  { name: 'facemesh', file: 'facemesh.json', license: 'Apache-2.0 (MediaPipe)' },
];

await rm(repoDir, { recursive: true, force: true });
for (const m of MODELS) await publishGraphModel(join(humanModels, m.file), join(repoDir, m.name));

const http = createServer(async (req, res) => {
  const path = normalize(decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname));
  const file = join(repoDir, path);
  try {
    if (!file.startsWith(repoDir) || !(await stat(file)).isFile()) throw new Error('not a file');
    const type = extname(file) === '.json' ? 'application/json' : 'application/octet-stream';
    res.writeHead(200, { 'Content-Type': type, 'Access-Control-Allow-Origin': '*', Connection: 'close' }).end(await readFile(file));
  } catch {
    res.writeHead(404, { Connection: 'close' }).end('not found');
  }
});
await new Promise<void>((r) => http.listen(port, '127.0.0.1', r));
const repoUrl = `http://127.0.0.1:${port}`;
console.log(`model repository: ${repoUrl}/<model>/manifest.json`);

const server = await ModelServer.start({
  modelConfigList: MODELS.map((m) => ({ name: m.name, basePath: `${repoUrl}/${m.name}` })),
  store: new FileSystemModelStore(join(root, '..', '.cache', 'demo-store')),
  pollIntervalMs: 5000,
});
server.addEventListener('statechange', (e) => {
  const ev = e as VersionStateEvent;
  console.log(`  ${ev.model} v${ev.version}: ${ev.state}${ev.status.error_code === 'OK' ? '' : ` (${ev.status.error_code}: ${ev.status.error_message})`}`);
});
server.addEventListener('progress', (e) => {
  const p = e as DownloadProgressEvent;
  if (p.loadedBytes === p.totalBytes) console.log(`  ${p.model} v${p.version}: downloaded ${p.totalBytes} bytes`);
});
console.log(`backend: ${server.backend}`);
for (const m of MODELS) {
  console.log(`${m.name} (${m.license}):`, JSON.stringify(await server.getModelStatus(m.name)));
  const meta = (await server.getModelMetadata(m.name)).metadata.signature_def.signature_def as Record<string, { inputs: Record<string, { tensor_shape: { dim: Array<{ size: string }> } }> }>;
  const [key, info] = Object.entries(meta.serving_default!.inputs)[0]!;
  const shape = info.tensor_shape.dim.map((d) => (Number(d.size) < 0 ? 1 : Number(d.size)));
  const data = new Float32Array(shape.reduce((a, b) => a * b, 1)).map(() => Math.random());
  const t0 = performance.now();
  const r = await server.predict({ model: m.name, inputs: { [key]: { shape, data } } });
  const ms = (performance.now() - t0).toFixed(1);
  for (const [k, out] of Object.entries(r.outputs)) {
    console.log(`  predict v${r.model.version} in ${ms} ms → ${k} [${out.shape}] ${[...out.data].slice(0, 4).map((x) => Number(x).toFixed(3)).join(', ')}…`);
  }
}
console.log(`\nServing. Publish a new version and watch it swap in, e.g.:\n  node bin/tfjs-serving.js publish ${join(humanModels, 'emotion.json')} ${join(repoDir, 'emotion')}\nCtrl-C to stop.`);
const stop = async () => {
  await server.close();
  http.close();
  process.exit(0);
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
