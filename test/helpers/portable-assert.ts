/**
 * Assertions that run unchanged in Node and in a browser bundle (node:assert does not bundle for the
 * browser). Failures throw `AssertionError` with both values in the message.
 */
export class AssertionError extends Error {
  override readonly name = 'AssertionError';
}

export function ok(value: unknown, message = 'expected a truthy value'): asserts value {
  if (!value) throw new AssertionError(message);
}

export function equal<T>(actual: T, expected: T, message = ''): void {
  if (!Object.is(actual, expected)) {
    throw new AssertionError(`${message ? message + ': ' : ''}expected ${show(expected)}, got ${show(actual)}`);
  }
}

/** Deep equality over JSON-like values (plain objects, arrays, primitives). */
export function deepEqual(actual: unknown, expected: unknown, message = ''): void {
  const a = JSON.stringify(actual);
  const e = JSON.stringify(expected);
  if (a !== e) throw new AssertionError(`${message ? message + ': ' : ''}expected ${e}, got ${a}`);
}

export function bytesEqual(actual: Uint8Array, expected: Uint8Array, message = 'bytes differ'): void {
  if (!(actual instanceof Uint8Array)) throw new AssertionError(`${message}: got ${show(actual)}, not a Uint8Array`);
  if (actual.byteLength !== expected.byteLength) {
    throw new AssertionError(`${message}: expected ${expected.byteLength} bytes, got ${actual.byteLength}`);
  }
  for (let i = 0; i < expected.byteLength; i++) {
    if (actual[i] !== expected[i]) throw new AssertionError(`${message}: first difference at byte ${i} (${actual[i]} != ${expected[i]})`);
  }
}

/** Awaits `promise` and checks that it rejects with an error whose `code` is `code`; returns the error. */
export async function rejectsWithCode(promise: Promise<unknown> | (() => Promise<unknown>), code: string, message = ''): Promise<Error & { code?: string }> {
  let result: unknown;
  try {
    result = await (typeof promise === 'function' ? promise() : promise);
  } catch (e) {
    const err = e as Error & { code?: string };
    if (err?.code !== code) {
      throw new AssertionError(`${message ? message + ': ' : ''}expected a ${code} error, got ${err?.code ?? ''} ${err?.name}: ${err?.message}`);
    }
    return err;
  }
  throw new AssertionError(`${message ? message + ': ' : ''}expected a ${code} error, but it resolved with ${show(result)}`);
}

function show(value: unknown): string {
  if (value instanceof Uint8Array) return `Uint8Array(${value.byteLength})`;
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
