// Starts the real `tfjs-serving serve` CLI as a child process on a free port (cpu backend, 127.0.0.1).
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const BIN = join(ROOT, 'src', 'cli', 'bin.ts');

export interface ServeProcess {
  readonly child: ChildProcess;
  readonly port: number;
  readonly log: () => string;
  readonly exited: Promise<number | null>;
}

/** Resolves once serve prints its REST address; rejects with its output if it exits or takes longer than `startTimeoutMs`. */
export function startServe(args: string[], startTimeoutMs = 30_000): Promise<ServeProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', BIN, 'serve', '--rest_api_port', '0', '--rest_api_host', '127.0.0.1', '--backend', 'cpu', ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve did not start:\n${out}`)), startTimeoutMs);
    const onData = (d: Buffer) => {
      out += d.toString();
      const m = /Exporting HTTP\/REST API at:[^:]+:(\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ child, port: Number(m[1]), log: () => out, exited });
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`serve exited with ${code}:\n${out}`));
    });
  });
}
