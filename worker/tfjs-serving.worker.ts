// The module Web Worker entry: hosts the serving core for a page's WorkerModelServer client.
import { messageOf } from '../src/core/status.js';
import { WorkerHost } from './worker-host.js';
import type { HostScope } from './worker-host.js';

// This file is a module Web Worker's entry: `self` is a DedicatedWorkerGlobalScope.
const scope = self as unknown as HostScope & {
  addEventListener(type: 'error' | 'unhandledrejection', l: (e: { message?: string; reason?: unknown }) => void): void;
};
const host = new WorkerHost(scope);
scope.addEventListener('error', (e) => host.fatal(`uncaught error in the worker: ${e.message ?? 'unknown'}`));
scope.addEventListener('unhandledrejection', (e) => host.fatal(`unhandled rejection in the worker: ${messageOf(e.reason)}`));
