// README's code compiles: every TypeScript / JavaScript block (and each `<script type="module">` of an HTML
// block) is extracted to a temp file and type-checked with `tsc --strict`, importing the package from its
// sources through path mapping (`tfjs-serving` → src/index.ts, `/lib/tfjs-serving.js` → src/browser.ts, …).
// JSON blocks must parse. A block that is not meant to compile has `<!-- readme-test: skip -->` on the line
// before its fence. Shell blocks may only name files of this repository that exist.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const README = readFileSync(join(ROOT, 'README.md'), 'utf8');
export const SKIP_MARKER = '<!-- readme-test: skip -->';
let tmp = '';
after(() => (tmp ? rm(tmp, { recursive: true, force: true }) : undefined));

interface Block {
  readonly lang: string;
  readonly line: number; // 1-based line of the first code line
  readonly code: string;
  readonly skipped: boolean;
}

/** The fenced blocks of a Markdown text (fences may be indented, as in list items). */
export function codeBlocks(markdown: string): Block[] {
  const lines = markdown.split('\n');
  const blocks: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)```(\w*)\s*$/.exec(lines[i] ?? '');
    if (!open) continue;
    const indent = open[1]?.length ?? 0;
    const lang = open[2] ?? '';
    let prev = i - 1;
    while (prev >= 0 && (lines[prev] ?? '').trim() === '') prev--;
    const skipped = (lines[prev] ?? '').trim() === SKIP_MARKER;
    const body: string[] = [];
    let j = i + 1;
    for (; j < lines.length && !/^\s*```\s*$/.test(lines[j] ?? ''); j++) body.push((lines[j] ?? '').slice(indent));
    blocks.push({ lang, line: i + 2, code: body.join('\n'), skipped });
    i = j;
  }
  return blocks;
}

function run(cmd: string, args: string[], cwd: string): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { cwd, maxBuffer: 16 << 20 }, (error, stdout, stderr) => resolve({ code: error ? 1 : 0, out: stdout + stderr }));
  });
}

test('the block extractor finds fences, indented ones and the skip marker (self-check)', () => {
  const md = ['text', '```ts', 'const a = 1;', '```', '', '- item', '', '  ```js', '  const b = 2;', '  ```', SKIP_MARKER, '```ts', 'not code', '```'].join('\n');
  assert.deepEqual(
    codeBlocks(md).map((b) => [b.lang, b.line, b.code, b.skipped]),
    [['ts', 3, 'const a = 1;', false], ['js', 9, 'const b = 2;', false], ['ts', 13, 'not code', true]],
  );
});

test("README's TypeScript and JavaScript blocks type-check under tsc --strict against the package's sources", { timeout: 180_000 }, async () => {
  tmp = await mkdtemp(join(tmpdir(), 'tfjs-serving-readme-'));
  const files: Array<{ file: string; line: number }> = [];
  for (const [n, b] of codeBlocks(README).entries()) {
    if (b.skipped) continue;
    let code: string | undefined;
    let ext = 'ts';
    if (b.lang === 'ts' || b.lang === 'typescript') code = b.code;
    else if (b.lang === 'js' || b.lang === 'javascript') (code = b.code), (ext = 'js');
    else if (b.lang === 'html') {
      const scripts = [...b.code.matchAll(/<script type="module">([\s\S]*?)<\/script>/g)].map((m) => m[1] ?? '');
      if (scripts.length) (code = scripts.join('\n;\n')), (ext = 'js');
    }
    if (code === undefined) continue;
    const file = `block-${String(n).padStart(2, '0')}-line-${b.line}.${ext}`;
    // Each block is a module of its own (top-level await, no clashes between blocks).
    await writeFile(join(tmp, file), `${code}\nexport {};\n`);
    files.push({ file, line: b.line });
  }
  assert.ok(files.length >= 4, `README has ${files.length} TypeScript/JavaScript blocks to check`);
  const src = (p: string) => [join(ROOT, p)];
  await writeFile(
    join(tmp, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        strict: true,
        noEmit: true,
        target: 'ES2022',
        module: 'ESNext',
        moduleResolution: 'Bundler',
        lib: ['ES2022', 'DOM', 'DOM.Iterable', 'WebWorker.ImportScripts'],
        types: ['node'],
        typeRoots: [join(ROOT, 'node_modules', '@types')],
        allowJs: true,
        checkJs: true,
        skipLibCheck: true,
        resolveJsonModule: true,
        esModuleInterop: true,
        paths: {
          'tfjs-serving': src('src/index.ts'),
          'tfjs-serving/node': src('src/node.ts'),
          'tfjs-serving/browser': src('src/browser.ts'),
          'tfjs-serving/converter': src('converter/index.ts'),
          '/lib/tfjs-serving.js': src('src/browser.ts'),
          '/lib/tfjs-serving.sw-route.js': src('src/rest/service-worker-route.ts'),
          '*': [join(ROOT, 'node_modules', '*'), join(ROOT, 'node_modules', '@types', '*')],
        },
      },
      files: files.map((f) => f.file),
    }),
  );
  const { code, out } = await run(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(tmp, 'tsconfig.json')], tmp);
  // Diagnostics point at README lines: block-NN-line-L.ts(R,C) is README line L + R - 1.
  const readable = out.replace(/block-\d+-line-(\d+)\.(?:ts|js)\((\d+),(\d+)\)/g, (_m, l: string, r: string, c: string) => `README.md:${Number(l) + Number(r) - 1}:${c}`);
  assert.equal(code, 0, `README code does not compile:\n${readable}`);
});

test("README's JSON blocks parse and its shell blocks name only files that exist", () => {
  for (const b of codeBlocks(README)) {
    if (b.skipped) continue;
    if (b.lang === 'json') assert.doesNotThrow(() => JSON.parse(b.code), `README.md:${b.line}: JSON block does not parse`);
    if (b.lang !== 'sh') continue;
    for (const m of b.code.matchAll(/(?:--model_base_path[ =]|\bpublish |\bconvert |--dir[ =])(\S+)/g)) {
      const path = m[1] ?? '';
      if (/^(path\/to|repo\/|https?:|\.\/models|<)/.test(path) || path.includes('example.com')) continue; // placeholders
      assert.ok(existsSync(join(ROOT, path)), `README.md:${b.line}: ${path} does not exist`);
    }
  }
});
