// npm start: publishes real TF.js graph models shipped in npm (@vladmandic/human: emotion, MIT;
// facemesh, Apache-2.0) into a static model repository with the CLI's publisher, then serves
//  - http://127.0.0.1:8080/         the demo page: the built bundle, the Manager in a Web Worker,
//                                    versions in IndexedDB, photo + face mesh, live plots, swaps;
//  - http://127.0.0.1:8080/sw.js    its Service Worker, built here (demo/build-sw.ts): REST on the device
//                                    and the app + library precached, so one visit is enough offline;
//  - http://127.0.0.1:8080/repo/    the model repository (any static server would do);
//  - http://127.0.0.1:8501/v1/...   TF Serving's REST API from a ModelServer in Node (the edge).
import { createServer } from 'node:http';
import { readFile, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FileSystemModelStore, LocalModelServer, publishGraphModel, startRestServer } from '../src/node.js';
import type { VersionStateEvent } from '../src/index.js';
import { buildDemoServiceWorker } from './build-sw.js';

const root = dirname(fileURLToPath(import.meta.url));
const repoDir = join(root, '.repository');
const humanModels = join(root, '..', 'node_modules', '@vladmandic', 'human', 'models');
const bundleDir = join(root, '..', 'dist', 'browser');
const port = Number(process.env.PORT ?? 8080);
const restPort = Number(process.env.REST_PORT ?? 8501);

/** The demo's models and their licences (see node_modules/@vladmandic/human/README.md and LICENSE). */
const MODELS = [
  { name: 'emotion', file: 'emotion.json', license: 'MIT', origin: 'oarriaga/face_classification, via @vladmandic/human' },
  { name: 'facemesh', file: 'facemesh.json', license: 'Apache-2.0', origin: 'Google MediaPipe, via @vladmandic/human' },
];

await stat(join(bundleDir, 'tfjs-serving.js')).catch(() => {
  throw new Error('dist/browser is missing: run `npm run build` (npm start does)');
});
// The Service Worker, with its precache manifest (app shell + library) computed from the files as built.
const sw = await buildDemoServiceWorker({ demoDir: root, publicDir: join(root, 'public'), bundleDir, outDir: join(root, '..', '.cache', 'demo-sw') });
await rm(repoDir, { recursive: true, force: true });
for (const m of MODELS) await publishGraphModel(join(humanModels, m.file), join(repoDir, m.name));
await writeFile(
  join(repoDir, 'NOTICE.md'),
  `# Models in this repository\n\nPublished by \`npm start\` from the npm package @vladmandic/human (MIT).\n\n` +
    MODELS.map((m) => `- \`${m.name}\`: ${m.license} (${m.origin})`).join('\n') +
    '\n',
);

const MIME: Record<string, string> = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.css': 'text/css', '.json': 'application/json', '.wasm': 'application/wasm', '.md': 'text/plain; charset=utf-8', '.map': 'application/json', '.jpg': 'image/jpeg', '.png': 'image/png', '.txt': 'text/plain; charset=utf-8' };
const mounts: Array<[string, string]> = [['/lib/', bundleDir], ['/repo/', repoDir], ['/', join(root, 'public')]];

let publishing = Promise.resolve();
const http = createServer(async (req, res) => {
  const url = new URL(req.url ?? '/', 'http://x');
  res.setHeader('Connection', 'close');
  if (req.method === 'POST' && url.pathname === '/admin/publish') {
    // What a CI job would do: publish a new version into the repository (files first, manifest last).
    const model = MODELS.find((m) => m.name === url.searchParams.get('model'));
    if (!model) return void res.writeHead(404).end('unknown model');
    publishing = publishing.then(async () => {
      const r = await publishGraphModel(join(humanModels, model.file), join(repoDir, model.name));
      res.writeHead(200, { 'Content-Type': 'text/plain' }).end(`published ${r.model} version ${r.version}`);
    });
    return;
  }
  if (url.pathname === '/sw.js') {
    // At the root scope: it may control the whole demo without a Service-Worker-Allowed header.
    res.writeHead(200, { 'Content-Type': 'text/javascript', 'Cache-Control': 'no-cache' });
    return void res.end(await readFile(sw.file));
  }
  const path = url.pathname === '/' ? '/index.html' : decodeURIComponent(url.pathname);
  for (const [prefix, dir] of mounts) {
    if (!path.startsWith(prefix)) continue;
    const file = normalize(join(dir, path.slice(prefix.length)));
    if (!file.startsWith(dir + sep)) break;
    try {
      const body = await readFile(file);
      const headers: Record<string, string> = { 'Content-Type': MIME[extname(file)] ?? 'application/octet-stream', 'Cache-Control': prefix === '/repo/' ? 'no-cache' : 'max-age=60' };
      // The bundle's Service Worker lives under /lib/ and may control the whole page.
      if (file.endsWith('tfjs-serving.sw.js')) headers['Service-Worker-Allowed'] = '/';
      res.writeHead(200, headers);
      return void res.end(body);
    } catch {
      /* next mount */
    }
  }
  res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found');
});
await new Promise<void>((r) => http.listen(port, '127.0.0.1', r));

// The edge: the same core in Node, serving TF Serving's REST API from the same repository.
const edge = await LocalModelServer.start({
  modelConfigList: MODELS.map((m) => ({ name: m.name, basePath: `http://127.0.0.1:${port}/repo/${m.name}` })),
  store: new FileSystemModelStore(join(root, '..', '.cache', 'demo-store')),
  pollIntervalMs: 5000,
});
edge.addEventListener('statechange', (e) => {
  const ev = e as VersionStateEvent;
  console.log(`  [edge] ${ev.model} v${ev.version}: ${ev.state}${ev.status.error_code === 'OK' ? '' : ` (${ev.status.error_code}: ${ev.status.error_message})`}`);
});
const rest = await startRestServer(edge, { port: restPort, host: '127.0.0.1', cors: true });

console.log(`
tfjs-serving demo
  page:        http://127.0.0.1:${port}/            (open it in a browser; after one visit it opens offline:
               its Service Worker precaches ${sw.manifest.length} files, ${(sw.precacheBytes / 1e6).toFixed(1)} MB)
  repository:  http://127.0.0.1:${port}/repo/emotion/manifest.json
  REST (edge): http://127.0.0.1:${restPort}/v1/models/emotion       backend ${edge.backend}
               http://127.0.0.1:${restPort}/monitoring/prometheus/metrics
Publish a new version and watch both the page and the edge swap it in:
  node bin/tfjs-serving.js publish ${join(humanModels, 'emotion.json')} ${join(repoDir, 'emotion')}
Ctrl-C to stop.`);

const stop = async () => {
  await rest.close();
  await edge.close();
  http.close();
  process.exit(0);
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
