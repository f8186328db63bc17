// An answer that may be a little old rather than late: what metrics scrapes get while the worker computes.

/**
 * Keeps the last value a slow source gave. `get` asks the source (one question in flight at a time)
 * and returns its answer if it comes within `waitMs`, else the last value it gave; with no value yet
 * it waits for the answer.
 */
export class LatestAnswer<T> {
  private last: { value: T } | undefined;
  private inFlight: Promise<T> | undefined;

  constructor(
    private readonly ask: () => Promise<T>,
    private readonly waitMs: number,
  ) {}

  /** Asks the source now (unless a question is in flight), so that the next `get` has a recent value to fall back on. */
  refresh(): void {
    this.question().catch(() => undefined);
  }

  get(): Promise<T> {
    const fresh = this.question();
    const last = this.last;
    if (!last) return fresh;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const stale = new Promise<T>((resolve) => (timer = setTimeout(() => resolve(last.value), this.waitMs)));
    // A failed question falls back to the last value too.
    return Promise.race([fresh.catch(() => last.value), stale]).finally(() => clearTimeout(timer));
  }

  private question(): Promise<T> {
    return (this.inFlight ??= this.ask().then(
      (value) => {
        this.last = { value };
        this.inFlight = undefined;
        return value;
      },
      (e: unknown) => {
        this.inFlight = undefined;
        throw e;
      },
    ));
  }
}
