/**
 * Node-side harness for tests in real headless Chromium (Debian's /usr/bin/chromium, driven by
 * playwright-core). See /work/shared/docs/browser-testing.md for why the flags are what they are.
 *
 *   const chromium = await ensureChromium();                      // installs with apt-get when missing
 *   const bundle = await buildBrowserBundle('test/browser/entries/x.entry.ts');
 *   await withPage({ bundle }, async (p) => { await p.run('some test'); });
 *
 * The page side is test/browser/page-runtime.ts: an entry calls `registerPageTests({name: fn})`.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, rmSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rename, rm, stat, utimes } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BrowserContext, CDPSession, Page } from 'playwright-core';
import type { PageOutcome } from './page-runtime.js';

/** Debian's Chromium; TFJS_SERVING_CHROMIUM overrides it (e.g. to try the skip path). */
export const CHROMIUM_PATH = process.env.TFJS_SERVING_CHROMIUM ?? '/usr/bin/chromium';
export const REPO_ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));

const log = (msg: string) => process.stderr.write(`[browser-harness] ${msg}\n`);

// ---------------------------------------------------------------------------------------------------------
// Chromium

let chromiumReady: Promise<string> | undefined;

/**
 * Resolves to the Chromium binary, installing Debian's `chromium` package first when it is missing (as
 * root; waits for an apt/dpkg run already in progress). Rejects with a message saying why it could not.
 */
export function ensureChromium(): Promise<string> {
  chromiumReady ??= installChromium();
  return chromiumReady;
}

async function installChromium(): Promise<string> {
  if (existsSync(CHROMIUM_PATH)) return CHROMIUM_PATH;
  if (process.platform !== 'linux' || typeof process.getuid !== 'function' || process.getuid() !== 0) {
    throw new Error(`${CHROMIUM_PATH} is missing and this process is not root on Linux, so it cannot run apt-get; install it: apt-get install -y chromium`);
  }
  // Somebody else (another test process, a setup script) may be installing it right now.
  for (let waited = 0; aptBusy() && waited < 600; waited += 2) {
    if (waited % 20 === 0) log(`${CHROMIUM_PATH} missing; waiting for the apt/dpkg run in progress to finish (${waited}s)`);
    await new Promise((r) => setTimeout(r, 2000));
  }
  if (existsSync(CHROMIUM_PATH)) return CHROMIUM_PATH;
  const script = 'apt-get -o DPkg::Lock::Timeout=300 update && DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y --no-install-recommends chromium';
  log(`${CHROMIUM_PATH} missing; running: ${script}`);
  const tail: string[] = [];
  const code = await new Promise<number>((resolveCode) => {
    const child = spawn('sh', ['-c', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    const onData = (chunk: Buffer) => {
      process.stderr.write(chunk);
      tail.push(chunk.toString());
      if (tail.length > 40) tail.shift();
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('error', (e) => {
      tail.push(String(e));
      resolveCode(127);
    });
    child.on('close', (c) => resolveCode(c ?? 1));
  });
  if (code !== 0 || !existsSync(CHROMIUM_PATH)) {
    throw new Error(`installing chromium failed (exit ${code}); ${CHROMIUM_PATH} is still missing. Last output:\n${tail.join('').slice(-2000)}`);
  }
  log(`installed ${spawnSync(CHROMIUM_PATH, ['--version'], { encoding: 'utf8' }).stdout.trim()}`);
  return CHROMIUM_PATH;
}

function aptBusy(): boolean {
  const r = spawnSync('pgrep', ['-x', 'apt-get|apt|dpkg|unattended-upgr'], { encoding: 'utf8' });
  return r.status === 0 && r.stdout.trim().length > 0;
}

/**
 * For a test file's top level: `undefined` when Chromium is ready, otherwise the reason to skip. With
 * TFJS_SERVING_REQUIRE_BROWSER=1 a missing browser is an error instead of a skip.
 */
export async function browserSkipReason(): Promise<string | undefined> {
  try {
    await ensureChromium();
    return undefined;
  } catch (e) {
    if (process.env.TFJS_SERVING_REQUIRE_BROWSER === '1') throw e;
    const reason = `Chromium unavailable, browser tests skipped: ${(e as Error).message}`;
    log(reason);
    return reason;
  }
}

export interface LaunchOptions {
  /** Enable WebGPU through SwiftShader (CPU emulation). Without it `navigator.gpu.requestAdapter()` is null. */
  webgpu?: boolean;
  /** Extra Chromium flags. */
  args?: string[];
  /** Default true. */
  headless?: boolean;
}

export interface LaunchedBrowser {
  /** A persistent context on a fresh profile: real IndexedDB, Cache Storage, service workers, setOffline. */
  readonly context: BrowserContext;
  readonly userDataDir: string;
  /** Closes the browser and deletes the profile. Safe to call twice. */
  close(): Promise<void>;
}

const BASE_ARGS = ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-dev-shm-usage'];
const WEBGPU_ARGS = ['--enable-unsafe-webgpu', '--enable-features=Vulkan', '--use-vulkan=swiftshader', '--use-webgpu-adapter=swiftshader', '--enable-unsafe-swiftshader'];

export async function launchBrowser(options: LaunchOptions = {}): Promise<LaunchedBrowser> {
  const executablePath = await ensureChromium();
  const { chromium } = await import('playwright-core');
  const userDataDir = await mkdtemp(join(tmpdir(), 'tfjs-serving-chromium-'));
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath,
      headless: options.headless ?? true,
      args: [...BASE_ARGS, ...(options.webgpu ? WEBGPU_ARGS : []), ...(options.args ?? [])],
      timeout: 30_000,
    });
  } catch (e) {
    await rm(userDataDir, { recursive: true, force: true });
    throw e;
  }
  let closed = false;
  return {
    context,
    userDataDir,
    async close() {
      if (closed) return;
      closed = true;
      try {
        await context.close();
      } finally {
        await rm(userDataDir, { recursive: true, force: true }).catch(() => undefined);
      }
    },
  };
}

// ---------------------------------------------------------------------------------------------------------
// Static server

/** Returns true when it handled the request (wrote a response). */
export type RequestHook = (req: IncomingMessage, res: ServerResponse) => boolean | Promise<boolean>;
export type Route = RequestHook | { body: string | Uint8Array; type?: string; status?: number; headers?: Record<string, string> };

export interface StaticServerOptions {
  /** Directories served at `/`, searched in order. */
  roots?: string[];
  /** URL prefix (`/bundle/`) → directory. */
  mounts?: Record<string, string>;
  /** Exact paths (`/index.html`) → response. Checked before files. */
  routes?: Record<string, Route>;
  /** Send COOP/COEP so pages are cross-origin isolated (SharedArrayBuffer, threaded wasm). */
  crossOriginIsolated?: boolean;
}

export interface StaticServer {
  /** `http://127.0.0.1:PORT` (no trailing slash). */
  readonly origin: string;
  readonly port: number;
  /** Every request, method + path, in arrival order. */
  readonly requests: string[];
  route(path: string, route: Route): void;
  /** Runs before routes and files; for fault injection. Returns a function that removes the hook. */
  hook(fn: RequestHook): () => void;
  close(): Promise<void>;
}

export const MIME_TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.wasm': 'application/wasm',
  '.json': 'application/json; charset=utf-8',
  '.html': 'text/html; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.png': 'image/png',
  '.bin': 'application/octet-stream',
};

export async function startStaticServer(options: StaticServerOptions = {}): Promise<StaticServer> {
  const routes = new Map<string, Route>(Object.entries(options.routes ?? {}));
  const hooks: RequestHook[] = [];
  const mounts: [string, string][] = [
    ...Object.entries(options.mounts ?? {}).map(([prefix, dir]) => [prefix.endsWith('/') ? prefix : prefix + '/', resolve(dir)] as [string, string]),
    ...(options.roots ?? []).map((dir) => ['/', resolve(dir)] as [string, string]),
  ].sort((a, b) => b[0].length - a[0].length); // longest prefix first
  const requests: string[] = [];

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    res.setHeader('Connection', 'close');
    res.setHeader('Cache-Control', 'no-store');
    if (options.crossOriginIsolated) {
      res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
      res.setHeader('Cross-Origin-Embedder-Policy', 'require-corp');
      res.setHeader('Cross-Origin-Resource-Policy', 'same-origin');
    }
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    requests.push(`${req.method} ${url.pathname}`);
    for (const h of [...hooks]) if (await h(req, res)) return;
    const route = routes.get(url.pathname);
    if (route) {
      if (typeof route === 'function') {
        if (await route(req, res)) return;
      } else {
        res.writeHead(route.status ?? 200, { 'Content-Type': route.type ?? contentType(url.pathname), ...route.headers });
        res.end(req.method === 'HEAD' ? undefined : route.body);
        return;
      }
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, `${req.method} not allowed`);
    let path: string;
    try {
      path = decodeURIComponent(url.pathname);
    } catch {
      return send(res, 400, 'bad path');
    }
    for (const [prefix, dir] of mounts) {
      if (!path.startsWith(prefix)) continue;
      const file = normalize(join(dir, path.slice(prefix.length)));
      if (file !== dir && !file.startsWith(dir + sep)) return send(res, 403, 'outside the served directory');
      let bytes: Buffer;
      try {
        if (!(await stat(file)).isFile()) continue;
        bytes = await readFile(file);
      } catch {
        continue;
      }
      res.writeHead(200, { 'Content-Type': contentType(file), 'Content-Length': bytes.byteLength });
      res.end(req.method === 'HEAD' ? undefined : bytes);
      return;
    }
    send(res, 404, `${path} not found`);
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      if (!res.headersSent) send(res, 500, String(e));
      else res.destroy();
    });
  });
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => ok());
  });
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    port,
    requests,
    route: (path, route) => void routes.set(path, route),
    hook(fn) {
      hooks.push(fn);
      return () => {
        const i = hooks.indexOf(fn);
        if (i >= 0) hooks.splice(i, 1);
      };
    },
    close: () =>
      new Promise<void>((ok) => {
        server.close(() => ok());
        server.closeAllConnections();
      }),
  };
}

function contentType(path: string): string {
  return MIME_TYPES[extname(path).toLowerCase()] ?? 'application/octet-stream';
}

function send(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8' });
  res.end(text);
}

// ---------------------------------------------------------------------------------------------------------
// Bundling

export interface BrowserBundle {
  /** Directory holding the bundle (entry files, shared chunks, source maps). */
  readonly dir: string;
  /** Entry name (file name without `.ts`) → file name in `dir`, e.g. `{'store.entry': 'store.entry.js'}`. */
  readonly files: Record<string, string>;
}

const bundles = new Map<string, Promise<BrowserBundle>>();

/**
 * Bundles TypeScript test entries (which may import from `src/…` and `@tensorflow/*`) into browser ESM with
 * vite: no minification, target es2022, one `<name>.js` per entry plus shared chunks. Several entries built
 * together share chunks, e.g. a page entry and the module worker it starts.
 *
 * Without `outDir` the result is cached on disk under the OS temp dir, keyed by the entries and the
 * modification times of src/, test/ and package-lock.json, so every test process of a run reuses one build.
 */
export function buildBrowserBundle(entry: string | string[], outDir?: string): Promise<BrowserBundle> {
  const entries = (Array.isArray(entry) ? entry : [entry]).map((e) => resolve(REPO_ROOT, e));
  const cacheKey = `${entries.join('|')}|${outDir ?? ''}`;
  let p = bundles.get(cacheKey);
  if (!p) {
    p = outDir ? viteBuild(entries, resolve(outDir)) : cachedBuild(entries);
    bundles.set(cacheKey, p);
    p.catch(() => bundles.delete(cacheKey));
  }
  return p;
}

async function cachedBuild(entries: string[]): Promise<BrowserBundle> {
  const hash = createHash('sha256');
  hash.update(entries.join('\n'));
  for (const dir of ['src', 'test', 'worker', 'converter']) await hashTree(join(REPO_ROOT, dir), hash);
  for (const f of ['package-lock.json', 'package.json']) hashStat(join(REPO_ROOT, f), hash);
  const dir = join(tmpdir(), 'tfjs-serving-bundles', hash.digest('hex').slice(0, 16));
  const names = entryNames(entries);
  if (Object.values(names).every((f) => existsSync(join(dir, f)))) {
    const now = new Date();
    await utimes(dir, now, now).catch(() => undefined); // mark as recently used for pruning
    return { dir, files: names };
  }
  const staging = `${dir}.tmp-${process.pid}-${Date.now()}`;
  const started = Date.now();
  await viteBuild(entries, staging);
  log(`built ${Object.values(names).join(', ')} in ${Date.now() - started} ms → ${dir}`);
  await pruneBundleCache(join(dir, '..'), dir);
  await mkdir(join(dir, '..'), { recursive: true });
  try {
    await rename(staging, dir);
  } catch {
    // Another process finished the same build first; use theirs.
    await rm(staging, { recursive: true, force: true });
  }
  return { dir, files: names };
}

/** Drops cached bundles unused for an hour (each source edit makes a new one). */
async function pruneBundleCache(root: string, keep: string): Promise<void> {
  const cutoff = Date.now() - 60 * 60 * 1000;
  for (const name of await readdir(root).catch(() => [] as string[])) {
    const path = join(root, name);
    if (path === keep) continue;
    const s = await stat(path).catch(() => undefined);
    if (s && s.mtimeMs < cutoff) await rm(path, { recursive: true, force: true }).catch(() => undefined);
  }
}

async function hashTree(dir: string, hash: ReturnType<typeof createHash>): Promise<void> {
  let entries;
  try {
    entries = await readdir(dir, { recursive: true, withFileTypes: true });
  } catch {
    return;
  }
  const files = entries
    .filter((e) => e.isFile() && /\.(ts|js|mjs|json)$/.test(e.name))
    .map((e) => join(e.parentPath ?? (e as { path?: string }).path ?? dir, e.name))
    .sort();
  for (const f of files) hashStat(f, hash);
}

function hashStat(file: string, hash: ReturnType<typeof createHash>): void {
  try {
    const s = statSync(file);
    hash.update(`${file}:${s.size}:${s.mtimeMs}\n`);
  } catch {
    hash.update(`${file}:absent\n`);
  }
}

function entryNames(entries: string[]): Record<string, string> {
  const names: Record<string, string> = {};
  for (const e of entries) {
    const name = basename(e).replace(/\.[cm]?[jt]s$/, '');
    if (names[name]) throw new Error(`two bundle entries are both named ${name}`);
    names[name] = `${name}.js`;
  }
  return names;
}

async function viteBuild(entries: string[], outDir: string): Promise<BrowserBundle> {
  const { build } = await import('vite');
  const files = entryNames(entries);
  await build({
    configFile: false,
    root: REPO_ROOT,
    logLevel: 'warn',
    publicDir: false,
    mode: 'production',
    // Library mode does not replace process.env.NODE_ENV; TF.js and friends read it.
    define: { 'process.env.NODE_ENV': JSON.stringify('production') },
    build: {
      outDir,
      emptyOutDir: true,
      copyPublicDir: false,
      minify: false,
      target: 'es2022',
      sourcemap: true,
      reportCompressedSize: false,
      lib: {
        entry: Object.fromEntries(entries.map((e) => [basename(e).replace(/\.[cm]?[jt]s$/, ''), e])),
        formats: ['es'],
        fileName: (_format, name) => `${name}.js`,
      },
      rolldownOptions: {
        // TF.js packages mention Node built-ins (fs, worker_threads, …) behind runtime checks; their
        // package.json `browser` fields map most to false. Anything left is silenced here rather than
        // bundled: the browser never takes those paths.
        onwarn(warning, warn) {
          if (/externalized for browser compatibility|Module level directives/.test(warning.message)) return;
          warn(warning);
        },
      },
    },
  });
  return { dir: outDir, files };
}

// ---------------------------------------------------------------------------------------------------------
// Pages

export interface TestPageOptions extends LaunchOptions {
  /** The bundle whose entry the page loads (as `<script type="module">`). */
  bundle: BrowserBundle;
  /** Which entry of the bundle to load; default the first. */
  entry?: string;
  /** Reuse a running browser (it is then not closed by `close()`). */
  browser?: LaunchedBrowser;
  /** Reuse a running server (not closed by `close()`); the bundle is then expected under `/bundle/`. */
  server?: StaticServer;
  /** Extra mounts for a new server, e.g. `{'/wasm/': 'node_modules/@tensorflow/tfjs-backend-wasm/dist'}`. */
  mounts?: Record<string, string>;
  crossOriginIsolated?: boolean;
  /** How long to wait for the entry to call registerPageTests. Default 15 s. */
  readyTimeoutMs?: number;
}

export interface TestPage {
  readonly page: Page;
  readonly context: BrowserContext;
  readonly browser: LaunchedBrowser;
  readonly server: StaticServer;
  /** The page's URL (`http://127.0.0.1:PORT/index.html`); its origin is `server.origin`. */
  readonly url: string;
  /** Console messages and page errors, in order. */
  readonly logs: string[];
  /**
   * Runs page test `name` (registered by the entry) and returns its value. A failure in the page throws
   * PageTestError (name, code and stack from the page); a PageSkip/SkipCase throws SkippedInPage.
   */
  run<T = unknown>(name: string, arg?: unknown, timeoutMs?: number): Promise<T>;
  /** Names of the tests the entry registered. */
  names(): Promise<string[]>;
  /** Reloads the page and waits for the entry to register again. */
  reload(): Promise<void>;
  cdp(): Promise<CDPSession>;
  close(): Promise<void>;
}

export class PageTestError extends Error {
  readonly code: string | undefined;
  constructor(testName: string, error: { name: string; message: string; code?: string; stack?: string }) {
    super(`page test ${JSON.stringify(testName)} failed: ${error.name}${error.code ? ` [${error.code}]` : ''}: ${error.message}`);
    this.name = 'PageTestError';
    this.code = error.code;
    if (error.stack) this.stack = `${this.message}\n--- in the page ---\n${error.stack}`;
  }
}

export class SkippedInPage extends Error {
  override readonly name = 'SkippedInPage';
}

/** Opens the bundle's entry in a plain HTML page on a local static server. Call `close()` when done. */
export async function openTestPage(options: TestPageOptions): Promise<TestPage> {
  const cleanup: (() => Promise<unknown>)[] = [];
  const closeAll = async () => {
    for (const fn of cleanup.reverse()) await fn().catch((e: unknown) => log(`cleanup failed: ${String(e)}`));
    cleanup.length = 0;
  };
  try {
    const entryName = options.entry ?? Object.keys(options.bundle.files)[0]!;
    const entryFile = options.bundle.files[entryName];
    if (!entryFile) throw new Error(`bundle has no entry ${entryName}; has ${Object.keys(options.bundle.files).join(', ')}`);
    const html = `<!doctype html>\n<meta charset="utf-8">\n<title>tfjs-serving browser test</title>\n<script type="module" src="/bundle/${entryFile}"></script>\n`;

    let server = options.server;
    if (!server) {
      server = await startStaticServer({
        mounts: { '/bundle/': options.bundle.dir, ...options.mounts },
        crossOriginIsolated: options.crossOriginIsolated ?? false,
      });
      cleanup.push(() => server!.close());
    }
    server.route('/index.html', { body: html, type: MIME_TYPES['.html']! });
    server.route('/favicon.ico', { body: '', status: 204 });

    let browser = options.browser;
    if (!browser) {
      browser = await launchBrowser(options);
      cleanup.push(() => browser!.close());
    }
    const context = browser.context;
    const page = await context.newPage();
    cleanup.push(() => page.close());

    const logs: string[] = [];
    page.on('console', (m) => {
      const line = `[${m.type()}] ${m.text()}`;
      logs.push(line);
      if (m.type() === 'error' || process.env.TFJS_SERVING_BROWSER_LOG === '1') log(`page ${line}`);
    });
    page.on('pageerror', (e) => {
      logs.push(`[pageerror] ${e.stack ?? e.message}`);
      log(`page error: ${e.stack ?? e.message}`);
    });

    const url = `${server.origin}/index.html`;
    const readyTimeout = options.readyTimeoutMs ?? 15_000;
    const waitReady = async () => {
      try {
        await page.waitForFunction(() => globalThis.__testsReady === true, undefined, { timeout: readyTimeout });
      } catch (e) {
        throw new Error(`the test entry did not call registerPageTests within ${readyTimeout} ms; page log:\n${logs.join('\n')}`, { cause: e });
      }
    };
    await page.goto(url);
    await waitReady();

    let cdp: CDPSession | undefined;
    const testPage: TestPage = {
      page,
      context,
      browser,
      server,
      url,
      logs,
      async run<T>(name: string, arg?: unknown, timeoutMs = 30_000): Promise<T> {
        let timer: NodeJS.Timeout | undefined;
        const timeout = new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`page test ${JSON.stringify(name)} took longer than ${timeoutMs} ms`)), timeoutMs);
        });
        try {
          const outcome = await Promise.race([
            page.evaluate(([n, a]) => globalThis.__tests!.run(n as string, a), [name, arg ?? null] as const) as Promise<PageOutcome>,
            timeout,
          ]);
          if (outcome.status === 'pass') return outcome.value as T;
          if (outcome.status === 'skip') throw new SkippedInPage(outcome.reason);
          throw new PageTestError(name, outcome.error);
        } finally {
          clearTimeout(timer);
        }
      },
      names: () => page.evaluate(() => globalThis.__tests!.names()),
      async reload() {
        await page.reload();
        await waitReady();
      },
      async cdp() {
        cdp ??= await context.newCDPSession(page);
        return cdp;
      },
      close: closeAll,
    };
    return testPage;
  } catch (e) {
    await closeAll();
    throw e;
  }
}

/** Opens a test page, hands it to `fn`, and closes page, browser and server (those it started) afterwards. */
export async function withPage<T>(options: TestPageOptions, fn: (page: TestPage) => Promise<T>): Promise<T> {
  const page = await openTestPage(options);
  try {
    return await fn(page);
  } finally {
    await page.close();
  }
}

/** Removes the on-disk bundle cache (tests do not need to; for a clean slate). */
export function clearBundleCache(): void {
  rmSync(join(tmpdir(), 'tfjs-serving-bundles'), { recursive: true, force: true });
}
