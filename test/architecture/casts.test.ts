// Non-null assertions and `as` casts only where a comment says why. Files that had them before the
// rule are listed in unexplained-casts-baseline.json with their count: a count may only go down, and
// every other file has none. (Lower a file's number when you explain or remove its casts.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sourceFiles } from './import-graph.js';
import { unexplainedCasts } from './unexplained-casts.js';

const root = join(fileURLToPath(import.meta.url), '..', '..', '..');
const baseline = JSON.parse(readFileSync(join(fileURLToPath(import.meta.url), '..', 'unexplained-casts-baseline.json'), 'utf8')) as Record<string, number>; // our own JSON file

test('no new unexplained non-null assertion or cast in src/ and worker/', () => {
  const over: string[] = [];
  for (const file of sourceFiles(root, ['src', 'worker'])) {
    const found = unexplainedCasts(readFileSync(join(root, file), 'utf8'));
    const allowed = baseline[file] ?? 0;
    if (found.length > allowed) over.push(`${file}: ${found.length} unexplained (allowed ${allowed}):\n${found.map((f) => `  ${f.line}: ${f.text}`).join('\n')}`);
  }
  assert.deepEqual(over, []);
});

test('the detector sees casts and assertions, and accepts explained ones (self-check)', () => {
  const src = [
    "const a = map.get(k)!;",
    "const b = x as Foo;",
    "const c = y as const;",
    "const d = z as Bar; // the parser checked it",
    "// the index is in range",
    "const e = list[i]!;",
    "if (a !== b) f('hi!');",
    "import { x as y } from './m.js';",
  ].join('\n');
  assert.deepEqual(unexplainedCasts(src).map((u) => u.line), [1, 2]);
});
