// The CLI as a user meets it: the real bin (bin/tfjs-serving.js → dist/) in a child process. Every
// subcommand answers --help, the CLI answers --version, unknown flags and bad numbers fail naming the
// flag, TF Serving flags that are not implemented warn and go on, and README's half_plus_two example
// (a SavedModel shipped in test/fixtures, converted on load) answers like TF Serving.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, spawnSync } from 'node:child_process';
import { readFileSync, statSync, existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseServeArgs, serveOptions } from '../../src/cli/serve.js';
import { generateSigningKey } from '../../src/node.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BIN = join(ROOT, 'bin', 'tfjs-serving.js');
const HALF_PLUS_TWO = join(ROOT, 'test', 'fixtures', 'savedmodels', 'tfserving', 'saved_model_half_plus_two_cpu');
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
let tmp = '';

before(async () => {
  // The bin runs dist/: `npm test` builds it first; compile the Node part here when it is missing or stale.
  const built = join(ROOT, 'dist', 'src', 'cli', 'flags.js');
  const newest = Math.max(...['flags.ts', 'main.ts', 'serve.ts'].map((f) => statSync(join(ROOT, 'src', 'cli', f)).mtimeMs));
  if (!existsSync(built) || statSync(built).mtimeMs < newest) {
    const r = spawnSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(ROOT, 'tsconfig.build.json')], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stdout + r.stderr);
  }
  tmp = await mkdtemp(join(tmpdir(), 'tfjs-serving-flags-'));
});
after(() => rm(tmp, { recursive: true, force: true }));

function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { cwd: ROOT, timeout: 60_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

test('--version prints package.json version; serve --version too (as tensorflow_model_server --version)', async () => {
  for (const args of [['--version'], ['serve', '--version']]) {
    const r = await cli(...args);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^(tfjs-serving )?${VERSION.replace(/\./g, '\\.')}\\n$`));
  }
});

test('every subcommand answers --help with its usage on stdout and exit 0', async () => {
  const expected: Record<string, RegExp> = {
    publish: /tfjs-serving publish <tfjs_graph_model_dir[\s\S]*--version=N/,
    convert: /usage: convert <saved_model_dir> <output_dir>[\s\S]*--quantize_float16/,
    show: /usage: show --dir <saved_model_dir>/,
    run: /usage: run --dir <saved_model_dir>[\s\S]*--input_exprs/,
    serve: /tfjs-serving serve[\s\S]*--rest_api_timeout_in_ms=MS[\s\S]*--fail_if_no_model_versions_found[\s\S]*--grpc_socket_path/,
  };
  for (const [command, usage] of Object.entries(expected)) {
    for (const help of ['--help', '-h']) {
      const r = await cli(command, help);
      assert.equal(r.code, 0, `${command} ${help}: ${r.stderr}`);
      assert.match(r.stdout, usage, `${command} ${help}`);
      assert.equal(r.stderr, '', `${command} ${help}`);
    }
    const viaHelp = await cli('help', command);
    assert.equal(viaHelp.code, 0);
    assert.match(viaHelp.stdout, usage);
  }
  const top = await cli('--help');
  assert.equal(top.code, 0);
  for (const command of Object.keys(expected)) assert.match(top.stdout, new RegExp(`tfjs-serving ${command} `));
});

test('unknown flags fail with a message naming the flag, for every subcommand', async () => {
  const cases: string[][] = [
    ['publish', 'a', 'b', '--no_such_flag'],
    ['convert', 'a', 'b', '--no_such_flag'],
    ['show', '--dir', 'x', '--no_such_flag'],
    ['run', '--dir', 'x', '--signature_def', 's', '--no_such_flag=1'],
    ['serve', '--model_base_path', 'x', '--no_such_flag', '1'],
    ['serve', '--model_base_path', 'x', '--nono_such_flag'],
  ];
  for (const args of cases) {
    const r = await cli(...args);
    assert.notEqual(r.code, 0, args.join(' '));
    assert.match(r.stderr, /unknown flag --(no)?no_such_flag/, args.join(' '));
    assert.equal(r.stdout, '');
  }
});

test('numeric flags: negative or non-numbers fail naming the flag and what it expects', async () => {
  const cases: Array<[string[], RegExp]> = [
    [['--rest_api_timeout_in_ms', '-5'], /--rest_api_timeout_in_ms needs a non-negative integer \(MS\), got "-5"/],
    [['--rest_api_timeout_in_ms=1.5'], /--rest_api_timeout_in_ms needs a non-negative integer/],
    [['--rest_api_port', 'abc'], /--rest_api_port needs an integer from 0 to 65535 \(PORT\), got "abc"/],
    [['--rest_api_port', '70000'], /--rest_api_port needs an integer from 0 to 65535/],
    [['--file_system_poll_wait_seconds', 'x'], /--file_system_poll_wait_seconds needs a number \(S\), got "x"/],
    [['--max_num_load_retries', '-1'], /--max_num_load_retries needs a non-negative integer/],
    [['--num_load_threads', ''], /--num_load_threads needs a non-negative integer/],
    [['--enable_batching=yes'], /--enable_batching takes true or false, got "yes"/],
    [['--rest_api_port'], /--rest_api_port needs a value/],
  ];
  for (const [flags, message] of cases) {
    const r = await cli('serve', '--model_base_path', HALF_PLUS_TWO, ...flags);
    assert.notEqual(r.code, 0, flags.join(' '));
    assert.match(r.stderr, message, flags.join(' '));
    assert.doesNotMatch(r.stderr, /Exporting HTTP/);
  }
});

test('a bad --batching_parameters_file is named in its error', async () => {
  const garbage = join(tmp, 'garbage.txt');
  await writeFile(garbage, 'max_batch_size { value: 8 }\nthis is not a batching parameter file\n');
  const badJson = join(tmp, 'bad.json');
  await writeFile(badJson, '{"max_batch_size": 8,');
  const badValue = join(tmp, 'zero.txt');
  await writeFile(badValue, 'max_batch_size { value: 0 }\n');
  const unknownField = join(tmp, 'unknown.txt');
  await writeFile(unknownField, 'max_batch_sizes { value: 8 }\n');
  const cases: Array<[string, RegExp]> = [
    [garbage, /garbage\.txt:2:1: unknown field "this"/],
    [badJson, /is not valid JSON/],
    [badValue, /maxBatchSize must be an integer ≥ 1, got 0/],
    [unknownField, /unknown field "max_batch_sizes"/],
    [join(tmp, 'missing.txt'), /cannot be read/],
  ];
  for (const [file, why] of cases) {
    const r = await cli('serve', '--model_base_path', HALF_PLUS_TWO, '--enable_batching', '--batching_parameters_file', file);
    assert.notEqual(r.code, 0, file);
    assert.ok(r.stderr.includes(`--batching_parameters_file ${file}`), r.stderr);
    assert.match(r.stderr, why, file);
  }
});

test('TF Serving flags that are not implemented print a warning naming the flag and serve goes on (README half_plus_two example)', { timeout: 90_000 }, async () => {
  const ignored = ['--grpc_socket_path', '/tmp/tfjs-serving.sock', '--ssl_config_file=ssl.txt', '--platform_config_file', 'p.txt', '--tensorflow_session_parallelism', '4', '--flush_filesystem_caches', '--enable_profiler=false'];
  const child = spawn(
    process.execPath,
    [BIN, 'serve', '--rest_api_port', '0', '--rest_api_host', '127.0.0.1', '--backend', 'cpu', '--model_name', 'half_plus_two', '--model_base_path', HALF_PLUS_TWO, '--fail_if_no_model_versions_found', ...ignored],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  try {
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setInterval(() => {
        const m = /Exporting HTTP\/REST API at:[^:]+:(\d+)/.exec(out);
        if (m) resolve(Number(m[1]));
        else if (child.exitCode !== null) reject(new Error(`serve exited:\n${out}`));
      }, 100);
      void exited.finally(() => setTimeout(() => clearInterval(timer), 200));
      setTimeout(() => reject(new Error(`serve did not start:\n${out}`)), 60_000).unref();
    });
    for (const flag of ['grpc_socket_path', 'ssl_config_file', 'platform_config_file', 'tensorflow_session_parallelism', 'flush_filesystem_caches', 'enable_profiler']) {
      assert.match(out, new RegExp(`warning: --${flag} is a TF Serving flag that tfjs-serving does not implement \\(.+\\); ignored`), flag);
    }
    const r = await fetch(`http://127.0.0.1:${port}/v1/models/half_plus_two:predict`, { method: 'POST', body: JSON.stringify({ instances: [1.0, 2.0, 5.0] }) });
    assert.equal(r.status, 200);
    assert.deepEqual(await r.json(), { predictions: [2.5, 3.0, 4.5] });
  } finally {
    child.kill('SIGTERM');
  }
  assert.equal(await exited, 0, out);
});

test('--port (gRPC, implemented elsewhere) is parsed without a warning; --fail_if_no_model_versions_found reaches the server options', async () => {
  const parsed = parseServeArgs(['--port', '8500', '--model_base_path', HALF_PLUS_TWO, '--fail_if_no_model_versions_found']);
  assert.deepEqual(parsed.warnings, []);
  assert.equal(parsed.flags.port, '8500');
  const withFlag = (await serveOptions(parsed.flags)) as { failIfNoModelVersionsFound?: boolean };
  assert.equal(withFlag.failIfNoModelVersionsFound, true);
  const without = (await serveOptions(parseServeArgs(['--model_base_path', HALF_PLUS_TWO]).flags)) as { failIfNoModelVersionsFound?: boolean };
  assert.equal(without.failIfNoModelVersionsFound, undefined);
  const negated = (await serveOptions(parseServeArgs(['--model_base_path', HALF_PLUS_TWO, '--nofail_if_no_model_versions_found']).flags)) as { failIfNoModelVersionsFound?: boolean };
  assert.equal(negated.failIfNoModelVersionsFound, undefined);
});

test('publish --signing_key (repeatable) signs the manifest with each key; an unreadable key file is named', async () => {
  const [a, b] = [await generateSigningKey(), await generateSigningKey()];
  const keyA = join(tmp, 'a.pem');
  const keyB = join(tmp, 'b.pem');
  await writeFile(keyA, a.privateKeyPem);
  await writeFile(keyB, b.privateKeyPem);
  const repo = join(tmp, 'signed-repo', 'dense');
  const model = join(ROOT, 'test', 'fixtures', 'graph-models', 'dense');
  const r = await cli('publish', model, repo, '--signing_key', keyA, `--signing_key=${keyB}`);
  assert.equal(r.code, 0, r.stderr);
  const manifest = JSON.parse(await readFile(join(repo, 'manifest.json'), 'utf8')) as { signatures?: unknown[] };
  assert.equal(manifest.signatures?.length, 2);
  const missing = await cli('publish', model, repo, '--signing_key', join(tmp, 'nope.pem'));
  assert.notEqual(missing.code, 0);
  assert.match(missing.stderr, /--signing_key \S*nope\.pem cannot be read/);
});
