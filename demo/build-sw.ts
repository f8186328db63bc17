// The demo's build step for its Service Worker: lists the app shell (demo/public/**) and the library's
// files (dist/browser/**, served at /lib/) with a SHA-256 revision each — the precache manifest — and
// bundles demo/sw.js with workbox-precaching and that manifest into one file served at /sw.js. Nothing
// is fetched from a CDN; the library's route module stays a runtime import from /lib/.
import { createHash } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { build } from 'esbuild';

export interface PrecacheEntry {
  readonly url: string;
  readonly revision: string;
}

/** Files under `dir` (recursively) as precache entries under the URL prefix `prefix`. */
export async function precacheEntries(dir: string, prefix: string, skip: (rel: string) => boolean = () => false): Promise<PrecacheEntry[]> {
  const out: PrecacheEntry[] = [];
  const walk = async (d: string): Promise<void> => {
    for (const entry of (await readdir(d, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name))) {
      const path = join(d, entry.name);
      if (entry.isDirectory()) await walk(path);
      else if (entry.isFile()) {
        const rel = relative(dir, path).split(sep).join('/');
        if (skip(rel)) continue;
        out.push({ url: prefix + rel, revision: createHash('sha256').update(await readFile(path)).digest('hex').slice(0, 16) });
      }
    }
  };
  await walk(dir);
  return out;
}

export interface BuiltServiceWorker {
  readonly file: string;
  readonly manifest: readonly PrecacheEntry[];
  readonly precacheBytes: number;
}

/** Writes `<outDir>/sw.js`: demo/sw.js + workbox-precaching + the manifest of `publicDir` and `bundleDir`. */
export async function buildDemoServiceWorker(options: { demoDir: string; publicDir: string; bundleDir: string; outDir: string }): Promise<BuiltServiceWorker> {
  const manifest = [
    ...(await precacheEntries(options.publicDir, '/', (rel) => rel === 'sw.js')),
    // Source maps are not needed offline (and the bundle ships none).
    ...(await precacheEntries(options.bundleDir, '/lib/', (rel) => rel.endsWith('.map'))),
  ];
  let precacheBytes = 0;
  for (const e of manifest) {
    const file = e.url.startsWith('/lib/') ? join(options.bundleDir, e.url.slice(5)) : join(options.publicDir, e.url.slice(1));
    precacheBytes += (await stat(file)).size;
  }
  const file = join(options.outDir, 'sw.js');
  await build({
    entryPoints: [join(options.demoDir, 'sw.js')],
    outfile: file,
    bundle: true,
    format: 'esm',
    target: 'es2022',
    platform: 'browser',
    minify: false,
    logLevel: 'warning',
    external: ['/lib/*'],
    define: { 'self.__WB_MANIFEST': JSON.stringify(manifest), 'process.env.NODE_ENV': '"production"' },
  });
  return { file, manifest, precacheBytes };
}
