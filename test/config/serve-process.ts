// `tfjs-serving serve` as a child process: waits for the REST (and gRPC) ports it prints.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
export const ROOT = join(here, '..', '..');
export const BIN = join(ROOT, 'src', 'cli', 'bin.ts');

export interface ServeProcess {
  child: ChildProcess;
  restPort: number;
  grpcPort?: number;
  log: () => string;
  exited: Promise<number | null>;
}

/** Runs `command` (default: node with tsx on the CLI source) until it prints its REST port (and gRPC port when `grpc`). */
export function startServeProcess(args: string[], options: { grpc?: boolean; env?: NodeJS.ProcessEnv; command?: string[]; cwd?: string } = {}): Promise<ServeProcess> {
  const command = options.command ?? [process.execPath, '--import', 'tsx', BIN];
  const child = spawn(command[0]!, [...command.slice(1), ...args], { cwd: options.cwd ?? ROOT, env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve did not start:\n${out}`)), 60_000);
    const onData = (d: Buffer) => {
      out += d.toString();
      const rest = /Exporting HTTP\/REST API at:[^:]+:(\d+)/.exec(out);
      const grpc = /Running gRPC ModelServer at [^:]+:(\d+)/.exec(out);
      if (rest && (grpc || !options.grpc)) {
        clearTimeout(timer);
        resolve({ child, restPort: Number(rest[1]), ...(grpc ? { grpcPort: Number(grpc[1]) } : {}), log: () => out, exited });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`serve exited with ${code}:\n${out}`));
    });
  });
}

export async function waitFor<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
