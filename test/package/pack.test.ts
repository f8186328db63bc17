// The package as a user installs it: `npm pack` → `npm install <tarball>` into a fresh project
// (--prefer-offline: from the local npm cache, the registry only for what it lacks) → import tfjs-serving, tfjs-serving/node and tfjs-serving/browser (the last in
// real Chromium) and run the bin. And from a git URL, where npm installs the devDependencies and runs
// `prepare` to build dist/. The tarball's size has an upper bound and ships no third-party source maps.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, lstatSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { browserSkipReason, launchBrowser, startStaticServer } from '../browser/harness.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const PKG = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { name: string; version: string; devDependencies: Record<string, string> };
/** Upper bounds, stated in README ("Install"): about 1.3 MB packed, 5.2 MB unpacked today. */
const MAX_PACKED_BYTES = 1_600_000;
const MAX_UNPACKED_BYTES = 6_000_000;
const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const temps: string[] = [];
after(() => Promise.all(temps.map((d) => rm(d, { recursive: true, force: true }))));

async function temp(prefix: string): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), `tfjs-serving-${prefix}-`));
  temps.push(d);
  return d;
}

function run(cmd: string, args: string[], cwd: string, timeoutMs = 240_000): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    // The user's npm cache, --prefer-offline (the registry only for what is not cached). No audit or fund calls.
    const env = { ...process.env, npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false' };
    execFile(cmd, args, { cwd, env, timeout: timeoutMs, maxBuffer: 64 << 20 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${cmd} ${args.join(' ')} failed in ${cwd}: ${error.message}\n${stdout}\n${stderr}`));
      else resolve({ stdout, stderr });
    });
  });
}

async function freshProject(name: string): Promise<string> {
  const dir = await temp(name);
  await writeFile(join(dir, 'package.json'), JSON.stringify({ name: `${name}-app`, version: '1.0.0', private: true, type: 'module' }, null, 2));
  return dir;
}

/** Imports the package the way an app does, from a script inside the app. */
async function checkImports(app: string): Promise<void> {
  const script = join(app, 'check.mjs');
  await writeFile(
    script,
    `import * as root from 'tfjs-serving';
import * as node from 'tfjs-serving/node';
const browser = import.meta.resolve('tfjs-serving/browser');
console.log(JSON.stringify({
  root: Object.keys(root).sort(),
  node: Object.keys(node).sort(),
  browser,
  converter: import.meta.resolve('tfjs-serving/converter'),
}));
`,
  );
  const { stdout } = await run(process.execPath, [script], app);
  const r = JSON.parse(stdout) as { root: string[]; node: string[]; browser: string; converter: string };
  for (const name of ['ModelServer', 'ServingError', 'handleRestRequest', 'AspiredVersionsManager', 'HttpSource']) assert.ok(r.root.includes(name), `tfjs-serving exports ${name}: ${r.root.join(', ')}`);
  for (const name of ['ModelServer', 'FileSystemModelStore', 'publishGraphModel', 'startRestServer']) assert.ok(r.node.includes(name), `tfjs-serving/node exports ${name}`);
  const installed = join(app, 'node_modules', 'tfjs-serving');
  // realpath: a linked install (npm install ../tfjs-serving) resolves through the link.
  assert.equal(realpathSync(fileURLToPath(r.browser)), realpathSync(join(installed, 'dist', 'browser', 'tfjs-serving.js')));
  assert.ok(existsSync(fileURLToPath(r.converter)));

  // The types resolve for a TypeScript app too (package.json "types" / "exports" → dist/**/*.d.ts).
  await writeFile(
    join(app, 'app.ts'),
    `import { ModelServer } from 'tfjs-serving';
import { FileSystemModelStore } from 'tfjs-serving/node';
export async function start(): Promise<ModelServer> {
  return ModelServer.start({ modelConfigList: [{ name: 'm', basePath: 'https://example.com/m' }], store: new FileSystemModelStore('.cache') });
}
`,
  );
  await writeFile(join(app, 'tsconfig.json'), JSON.stringify({ compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true, skipLibCheck: true, types: [], lib: ['ES2022', 'DOM'] }, files: ['app.ts'] }));
  await run(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(app, 'tsconfig.json')], app);

  // The bin, through npx as a user runs it.
  const { stdout: version } = await run(NPM, ['exec', '--offline', '--no', '--', 'tfjs-serving', '--version'], app);
  assert.equal(version.trim(), PKG.version);
  const { stdout: help } = await run(NPM, ['exec', '--offline', '--no', '--', 'tfjs-serving', 'serve', '--help'], app);
  assert.match(help, /--model_base_path/);
}

/** Imports dist/browser/tfjs-serving.js as installed, in real Chromium, and starts nothing but the module graph. */
async function checkBrowserBundle(installed: string): Promise<void> {
  const skip = await browserSkipReason();
  if (skip) return;
  const server = await startStaticServer({
    mounts: { '/lib/': join(installed, 'dist', 'browser') },
    routes: { '/index.html': { body: `<!doctype html><script type="module">import * as lib from '/lib/tfjs-serving.js'; window.exportsOf = Object.keys(lib).sort();</script>`, type: 'text/html; charset=utf-8' } },
  });
  const browser = await launchBrowser();
  try {
    const page = await browser.context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${server.origin}/index.html`);
    const names = (await page.waitForFunction(() => (window as unknown as { exportsOf?: string[] }).exportsOf, null, { timeout: 30_000 }).then((h) => h.jsonValue())) as string[];
    for (const name of ['ModelServer', 'answerServiceWorkerRequests', 'registerRestServiceWorker']) assert.ok(names.includes(name), `bundle exports ${name}: ${names.join(', ')}`);
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
    await server.close();
  }
}

test('npm pack → install the tarball into a fresh project → imports, types, bin, bundle in Chromium; size bounded, no third-party maps', { timeout: 420_000 }, async () => {
  assert.ok(existsSync(join(ROOT, 'dist', 'src', 'index.js')) && existsSync(join(ROOT, 'dist', 'browser', 'tfjs-serving.js')), 'dist/ is missing: run `npm run build` (npm test does)');
  const packDir = await temp('pack');
  // --ignore-scripts: `npm test` built dist/ already; `prepare` (the build) is exercised by the git URL test.
  const { stdout } = await run(NPM, ['pack', '--json', '--ignore-scripts', '--pack-destination', packDir], ROOT);
  const [info] = JSON.parse(stdout) as Array<{ filename: string; size: number; unpackedSize: number; files: Array<{ path: string; size: number }> }>;
  assert.ok(info);
  const paths = info.files.map((f) => f.path);
  process.stderr.write(`[pack] ${info.filename}: ${(info.size / 1e6).toFixed(2)} MB packed, ${(info.unpackedSize / 1e6).toFixed(2)} MB unpacked, ${paths.length} files\n`);
  assert.ok(info.size <= MAX_PACKED_BYTES, `tarball ${info.size} bytes > ${MAX_PACKED_BYTES}`);
  assert.ok(info.unpackedSize <= MAX_UNPACKED_BYTES, `unpacked ${info.unpackedSize} bytes > ${MAX_UNPACKED_BYTES}`);
  // README states the size: it must stay true.
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const stated = /about ([\d.]+) MB packed, ([\d.]+) MB unpacked/.exec(readme);
  assert.ok(stated, 'README states the package size ("about X MB packed, Y MB unpacked")');
  for (const [said, actual, what] of [[Number(stated[1]), info.size, 'packed'], [Number(stated[2]), info.unpackedSize, 'unpacked']] as const) {
    assert.ok(Math.abs(said * 1e6 - actual) / actual < 0.2, `README says ${said} MB ${what}, the tarball is ${(actual / 1e6).toFixed(2)} MB: update README's Install section`);
  }
  assert.match(readme, new RegExp(`under\\s+${MAX_PACKED_BYTES / 1e6} / ${MAX_UNPACKED_BYTES / 1e6} MB`), "README states the test's bounds");
  for (const needed of ['bin/tfjs-serving.js', 'dist/src/index.js', 'dist/src/node.js', 'dist/src/index.d.ts', 'dist/src/cli/bin.js', 'dist/browser/tfjs-serving.js', 'dist/browser/tfjs-serving.worker.js', 'dist/browser/tfjs-serving.sw.js', 'dist/browser/tfjs-backend-wasm.wasm', 'README.md', 'LICENSE']) {
    assert.ok(paths.includes(needed), `the tarball lacks ${needed}`);
  }
  assert.deepEqual(paths.filter((p) => /^(src|test|demo|bench|worker|converter|node_modules)\//.test(p)), [], 'sources, tests and the demo stay out of the package');
  assert.deepEqual(paths.filter((p) => p.startsWith('dist/browser/') && p.endsWith('.map')), [], 'the bundle ships no source maps (its chunks are mostly TF.js)');
  // Maps that remain are tsc's, of the project's own code only.
  for (const p of paths.filter((x) => x.endsWith('.map'))) {
    const map = JSON.parse(readFileSync(join(ROOT, p), 'utf8')) as { sources: string[] };
    for (const source of map.sources) assert.doesNotMatch(source, /node_modules/, `${p} maps third-party code (${source})`);
  }

  const app = await freshProject('tarball');
  await run(NPM, ['install', '--prefer-offline', '--no-audit', '--no-fund', join(packDir, info.filename)], app);
  const installed = join(app, 'node_modules', 'tfjs-serving');
  assert.ok(statSync(installed).isDirectory());
  await checkImports(app);
  await checkBrowserBundle(installed);
});

test('npm install from a git URL builds dist/ through `prepare` (devDependencies installed for it)', { timeout: 600_000 }, async () => {
  // A git repository holding exactly this working tree (tracked and new files, not ignored ones): what a
  // user gets from `npm install github:owner/tfjs-serving` or `npm install git+https://…`, here as git+file.
  const repo = await temp('git');
  const { stdout: list } = await run('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], ROOT);
  const files = list.split('\0').filter((f) => f && existsSync(join(ROOT, f)) && !/^(test|bench|demo)\//.test(f));
  for (const f of files) {
    await mkdir(dirname(join(repo, f)), { recursive: true });
    await cp(join(ROOT, f), join(repo, f));
  }
  assert.ok(!existsSync(join(repo, 'dist')));
  await run('git', ['init', '-q'], repo);
  await run('git', ['add', '-A'], repo);
  await run('git', ['-c', 'user.email=t@example.com', '-c', 'user.name=t', 'commit', '-qm', 'snapshot'], repo);

  const app = await freshProject('giturl');
  await run(NPM, ['install', '--prefer-offline', '--no-audit', '--no-fund', `git+${pathToFileURL(repo).href}`], app, 540_000);
  const installed = join(app, 'node_modules', 'tfjs-serving');
  const built = await readdir(join(installed, 'dist'));
  assert.deepEqual(built.sort(), ['browser', 'converter', 'src', 'worker']);
  // Only what `files` lists is installed: no sources, no devDependencies.
  assert.ok(!existsSync(join(installed, 'src')) && !existsSync(join(installed, 'node_modules', 'vite')));
  await checkImports(app);
});

test('npm install ../tfjs-serving (a local clone, built by its own npm install) links it: imports, types and bin work', { timeout: 300_000 }, async () => {
  // `npm test` has built dist/ here, as `npm install` in the clone does through `prepare`.
  assert.ok(existsSync(join(ROOT, 'dist', 'src', 'index.js')), 'dist/ is built');
  const app = await freshProject('localdir');
  await run(NPM, ['install', '--prefer-offline', '--no-audit', '--no-fund', ROOT], app);
  const installed = join(app, 'node_modules', 'tfjs-serving');
  assert.ok(lstatSync(installed).isSymbolicLink(), 'a local directory is linked, not copied');
  await checkImports(app);
});
