/**
 * The in-page half of the browser harness. A test entry calls `registerPageTests({...})`; the Node side
 * (harness.ts `TestPage.run`) then calls `globalThis.__tests.run(name, arg)` through `page.evaluate`.
 * Works in a page and in a worker (it only touches `globalThis`).
 */

export type PageTest = (arg: unknown) => unknown | Promise<unknown>;

/** What crosses back to Node: structured-clone/JSON friendly. */
export type PageOutcome =
  | { status: 'pass'; value: unknown }
  | { status: 'skip'; reason: string }
  | { status: 'fail'; error: { name: string; message: string; code?: string; stack?: string } };

/** Throw this from a page test to have the Node side report the test as skipped. */
export class PageSkip extends Error {
  override readonly name = 'PageSkip';
}

export interface PageTestRegistry {
  names(): string[];
  run(name: string, arg?: unknown): Promise<PageOutcome>;
}

declare global {
  // eslint-disable-next-line no-var
  var __tests: PageTestRegistry | undefined;
  // eslint-disable-next-line no-var
  var __testsReady: boolean | undefined;
}

export function registerPageTests(tests: Record<string, PageTest>): void {
  const all: Record<string, PageTest> = { ...tests };
  const previous = globalThis.__tests;
  globalThis.__tests = {
    names: () => [...(previous?.names() ?? []), ...Object.keys(all)],
    run: async (name, arg) => {
      const fn = all[name];
      if (!fn) {
        if (previous) return previous.run(name, arg);
        return { status: 'fail', error: { name: 'Error', message: `no page test named ${JSON.stringify(name)}; have: ${Object.keys(all).join(', ')}` } };
      }
      return runOutcome(() => fn(arg));
    },
  };
  globalThis.__testsReady = true;
}

/** Runs `fn` and folds its result or error into a PageOutcome. */
export async function runOutcome(fn: () => unknown): Promise<PageOutcome> {
  try {
    return { status: 'pass', value: toPlain(await fn()) };
  } catch (e) {
    if (e instanceof Error && (e.name === 'PageSkip' || e.name === 'SkipCase')) return { status: 'skip', reason: e.message };
    const err = e as { name?: unknown; message?: unknown; code?: unknown; stack?: unknown };
    return {
      status: 'fail',
      error: {
        name: String(err?.name ?? 'Error'),
        message: String(err?.message ?? e),
        ...(typeof err?.code === 'string' ? { code: err.code } : {}),
        ...(typeof err?.stack === 'string' ? { stack: err.stack } : {}),
      },
    };
  }
}

function toPlain(value: unknown): unknown {
  if (value === undefined) return null;
  try {
    return JSON.parse(JSON.stringify(value));
  } catch {
    return String(value);
  }
}
