/**
 * Which ops TF.js can execute, read at run time from the installed
 * `@tensorflow/tfjs-converter` (its `dist/operations/op_list/*.js`), so the
 * check follows the TF.js version the project actually ships.
 *
 * Unlike the Python converter, `ragged` and `tfdf` ops are not accepted by
 * default: the TF.js OperationMapper does not load those lists, so such a
 * model would convert and then fail at its first execution.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { ConverterError } from '../errors.js';
import type { NodeDef } from '../proto/messages.js';
import type { FlatFunction } from './graph.js';

/** Op lists the TF.js runtime mapper does not register (see operation_mapper.ts). */
const NOT_LOADED_AT_RUNTIME = new Set(['ragged', 'tfdf']);

export interface SupportedOps {
  ops: ReadonlySet<string>;
  /** category file → op names */
  byCategory: ReadonlyMap<string, string[]>;
  source: string;
}

let cached: SupportedOps | undefined;

export function loadSupportedOps(): SupportedOps {
  if (cached) return cached;
  const require = createRequire(import.meta.url);
  let pkg: string;
  try {
    pkg = require.resolve('@tensorflow/tfjs-converter/package.json');
  } catch {
    throw new ConverterError('FAILED_PRECONDITION', '@tensorflow/tfjs-converter is not installed; it provides the list of ops TF.js supports');
  }
  const dir = join(dirname(pkg), 'dist', 'operations', 'op_list');
  if (!existsSync(dir)) throw new ConverterError('FAILED_PRECONDITION', `no op lists in ${dir}`);
  const ops = new Set<string>();
  const byCategory = new Map<string, string[]>();
  for (const f of readdirSync(dir).filter((f) => f.endsWith('.js')).sort()) {
    const category = f.replace(/\.js$/, '');
    const text = readFileSync(join(dir, f), 'utf8');
    const names = [...text.matchAll(/['"]tfOpName['"]\s*:\s*['"]([^'"]+)['"]/g)].map((m) => m[1]!);
    byCategory.set(category, names);
    if (!NOT_LOADED_AT_RUNTIME.has(category)) for (const n of names) ops.add(n);
  }
  if (ops.size === 0) throw new ConverterError('FAILED_PRECONDITION', `could not read any op names from ${dir}`);
  cached = { ops, byCategory, source: dir };
  return cached;
}

/** Throws UNIMPLEMENTED naming every unsupported op (and one node using each). */
export function checkOpsSupported(nodes: readonly NodeDef[], functions: Iterable<FlatFunction>, where: string): void {
  const { ops } = loadSupportedOps();
  const bad = new Map<string, string>();
  const visit = (ns: readonly NodeDef[], prefix: string) => {
    for (const n of ns) if (!ops.has(n.op) && !bad.has(n.op)) bad.set(n.op, prefix + n.name);
  };
  visit(nodes, '');
  for (const f of functions) visit(f.nodes, `${f.name}/`);
  if (bad.size === 0) return;
  const list = [...bad.keys()].sort();
  const detail = [...bad.entries()]
    .sort()
    .map(([op, node]) => `${op} (e.g. node "${node}")`)
    .join(', ');
  throw new ConverterError('UNIMPLEMENTED', `${where} uses ops TF.js does not support: ${detail}`, { unsupportedOps: list });
}
