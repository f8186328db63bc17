// Real TF.js graph models for tests: the Dense(1) model from TF.js's own e2e suite (and versions of it
// with other weights, so each version computes a known, different line), and real models shipped in npm.
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
export const FIXTURES = join(here, '..', 'fixtures', 'graph-models');
export const DENSE_MODEL_DIR = join(FIXTURES, 'dense');
export const MATMUL_MODEL_DIR = join(FIXTURES, 'matmul');
/** The original dense fixture: y = KERNEL * x + BIAS (float32). */
export const DENSE_KERNEL = 1.9513733386993408;
export const DENSE_BIAS = -0.8492417335510254;

/** `@vladmandic/human`'s model files (MIT/Apache-2.0 weights; see its README). */
export function humanModel(name: string): string {
  return join(here, '..', '..', 'node_modules', '@vladmandic', 'human', 'models', `${name}.json`);
}

const made: string[] = [];

/** A fresh temporary directory, removed by `removeTempDirs()`. */
export async function tempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `tfjs-serving-${prefix}-`));
  made.push(dir);
  return dir;
}

export async function removeTempDirs(): Promise<void> {
  for (const dir of made.splice(0)) await rm(dir, { recursive: true, force: true });
}

/** A copy of the dense model whose weights compute y = kernel * x + bias. */
export async function denseModel(kernel: number, bias: number): Promise<string> {
  const dir = await tempDir('dense');
  await cp(DENSE_MODEL_DIR, dir, { recursive: true });
  await writeFile(join(dir, 'group1-shard1of1.bin'), new Uint8Array(new Float32Array([kernel, bias]).buffer));
  return dir;
}

/** What a dense version with this kernel and bias returns for x, in float32. */
export function denseExpected(kernel: number, bias: number, x: number): number {
  return Math.fround(Math.fround(Math.fround(kernel) * Math.fround(x)) + Math.fround(bias));
}
