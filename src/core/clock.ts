/** Time and timers, injectable so tests can run retry waits and batch timeouts on a fake clock. */
export interface Clock {
  /** Milliseconds, monotonic (performance.now() by default). */
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const realClock: Clock = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>), // the handle came from setTimeout above
};
