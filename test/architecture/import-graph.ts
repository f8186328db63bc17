// The project's import graph, read from the sources: every `import … from`, `export … from`,
// `import type`, side-effect `import '…'` and literal dynamic `import('…')` between project files.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

export interface ImportEdge {
  /** Importing file, relative to the root (`src/rest/handler.ts`). */
  readonly from: string;
  /** Imported project file, relative to the root. */
  readonly to: string;
  /** True when every import of this edge is type-only (`import type`, `export type`). */
  readonly typeOnly: boolean;
  readonly line: number;
}

const STATEMENT = /(?:^|\n)\s*(import|export)\s+(type\s+)?(?:[^'";]*?\s+from\s+)?['"]([^'"]+)['"]/g;
const DYNAMIC = /import\(\s*(?:\/\*[^*]*\*\/\s*)?['"]([^'"]+)['"]\s*\)/g;

/** Every `.ts` file under the given directories, relative to `root`. */
export function sourceFiles(root: string, dirs: readonly string[]): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const full = join(dir, name);
      if (statSync(full).isDirectory()) walk(full);
      else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.push(relative(root, full));
    }
  };
  for (const d of dirs) walk(join(root, d));
  return out.sort();
}

/** The edges between project files (packages and `node:` builtins are left out). */
export function importEdges(root: string, files: readonly string[]): ImportEdge[] {
  const edges: ImportEdge[] = [];
  for (const file of files) {
    const text = readFileSync(join(root, file), 'utf8');
    const add = (specifier: string, typeOnly: boolean, index: number) => {
      if (!specifier.startsWith('.')) return;
      const target = relative(root, resolve(root, dirname(file), specifier)).replace(/\.js$/, '.ts');
      edges.push({ from: file, to: target, typeOnly, line: text.slice(0, index).split('\n').length });
    };
    for (const m of text.matchAll(STATEMENT)) add(m[3] ?? '', m[2] !== undefined, m.index ?? 0);
    for (const m of text.matchAll(DYNAMIC)) add(m[1] ?? '', false, m.index ?? 0);
  }
  return edges;
}

/** The import cycles among `files` (each as the list of files around it), found by depth-first search. */
export function importCycles(edges: readonly ImportEdge[]): string[][] {
  const next = new Map<string, Set<string>>();
  for (const e of edges) {
    let set = next.get(e.from);
    if (!set) next.set(e.from, (set = new Set()));
    set.add(e.to);
  }
  const cycles: string[][] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (f: string) => {
    state.set(f, 'open');
    stack.push(f);
    for (const g of next.get(f) ?? []) {
      if (state.get(g) === 'open') cycles.push([...stack.slice(stack.indexOf(g)), g]);
      else if (!state.has(g)) visit(g);
    }
    stack.pop();
    state.set(f, 'done');
  };
  for (const f of next.keys()) if (!state.has(f)) visit(f);
  return cycles;
}

/** The layer of a file: `src/core/x.ts` → `core`, `worker/x.ts` → `worker`, `converter/…` → `converter`. */
export function layerOf(file: string): string {
  const parts = file.split('/');
  if (parts[0] === 'src') return parts.length > 2 ? (parts[1] ?? '') : 'entry';
  return parts[0] ?? '';
}
