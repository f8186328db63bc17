/**
 * A plain HTML page that imports the built bundle (dist/browser/tfjs-serving.js) with one
 * `<script type="module">`, served with a model repository over HTTP on 127.0.0.1 — the way a web
 * app uses the library.
 */
import { existsSync, statSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { REPO_ROOT, launchBrowser, startStaticServer } from './harness.js';
import type { LaunchedBrowser, StaticServer } from './harness.js';

export const BUNDLE_DIR = join(REPO_ROOT, 'dist', 'browser');

/** Builds dist/browser with vite when it is missing or older than the sources (npm test builds it first). */
export async function ensureLibraryBundle(): Promise<void> {
  const entry = join(BUNDLE_DIR, 'tfjs-serving.js');
  const newest = (dir: string): number =>
    Math.max(0, ...readdirSync(dir, { withFileTypes: true }).map((d) => (d.isDirectory() ? newest(join(dir, d.name)) : statSync(join(dir, d.name)).mtimeMs)));
  if (existsSync(entry) && statSync(entry).mtimeMs >= Math.max(newest(join(REPO_ROOT, 'src')), newest(join(REPO_ROOT, 'worker')))) return;
  const { build } = await import('vite');
  await build({ configFile: join(REPO_ROOT, 'vite.config.ts'), root: REPO_ROOT, logLevel: 'warn' });
}

const PAGE = `<!doctype html>
<meta charset="utf-8">
<title>tfjs-serving library page</title>
<script type="module">
  import * as lib from '/lib/tfjs-serving.js';
  window.lib = lib;
  window.libReady = true;
</script>
`;

export interface LibraryPage {
  readonly browser: LaunchedBrowser;
  readonly server: StaticServer;
  readonly page: Page;
  readonly logs: string[];
  /** Opens another tab of the same origin and profile (shares IndexedDB). */
  newTab(): Promise<Page>;
  close(): Promise<void>;
}

export interface LibraryPageOptions {
  webgpu?: boolean;
  cacheable?: boolean;
  /** Where the page is served (default `/index.html`; e.g. `/app/index.html` for an app under a subpath). */
  pagePath?: string;
  /** Where `repoDir` is served (default `/repo/`). */
  repoMount?: string;
  /** More directories to serve, by URL prefix. */
  mounts?: Record<string, string>;
  /** Serve with COOP/COEP: a cross-origin isolated page (SharedArrayBuffer), as apps that use threads are. */
  crossOriginIsolated?: boolean;
}

/** Serves the bundle at /lib/ and `repoDir` at /repo/, and opens the page in a fresh profile. */
export async function openLibraryPage(repoDir: string, options: LibraryPageOptions = {}): Promise<LibraryPage> {
  await ensureLibraryBundle();
  const pagePath = options.pagePath ?? '/index.html';
  const server = await startStaticServer({
    crossOriginIsolated: options.crossOriginIsolated,
    mounts: { '/lib/': BUNDLE_DIR, [options.repoMount ?? '/repo/']: repoDir, ...options.mounts },
    routes: { [pagePath]: { body: PAGE, type: 'text/html; charset=utf-8' } },
  });
  // The bundle's Service Worker lives under /lib/ but may control the whole origin.
  server.hook((req, res) => {
    if (req.url?.startsWith('/lib/tfjs-serving.sw.js')) res.setHeader('Service-Worker-Allowed', '/');
    return false;
  });
  if (options.cacheable) {
    // The app's own files may come from the HTTP cache (so the page can reload offline); the repository may not.
    server.hook((req, res) => {
      if (!req.url?.startsWith('/repo/')) res.setHeader('Cache-Control', 'max-age=3600');
      return false;
    });
  }
  const browser = await launchBrowser({ webgpu: options.webgpu });
  const logs: string[] = [];
  const open = async () => {
    const page = await browser.context.newPage();
    page.on('console', (m) => logs.push(`[${m.type()}] ${m.text()}`));
    page.on('pageerror', (e) => logs.push(`[pageerror] ${e.message}`));
    await page.goto(`${server.origin}${pagePath}`);
    await page.waitForFunction(() => (window as unknown as { libReady?: boolean }).libReady === true);
    return page;
  };
  const page = await open();
  return {
    browser,
    server,
    page,
    logs,
    newTab: open,
    close: async () => {
      await browser.close();
      await server.close();
    },
  };
}
