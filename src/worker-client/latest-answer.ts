// An answer that may be a little old rather than late: what metrics scrapes get while the worker computes.

/**
 * Keeps the last value a slow source gave. `get` asks the source (one question in flight at a time)
 * and returns its answer if it comes within `waitMs`, else the last value it gave; with no value yet
 * it waits for the answer.
 */
export class LatestAnswer<T> {
  private last: { value: T; at: number } | undefined;
  private inFlight: Promise<T> | undefined;
  private trailing: ReturnType<typeof setTimeout> | undefined;

  /**
   * `minRefreshMs`: `refresh` asks at most once per this interval (a refresh that comes sooner asks once
   * the interval has passed), so that a busy stream of refreshes (one per prediction) costs the source one
   * question per interval, not one per call, and the value is never older than the interval after one.
   */
  constructor(
    private readonly ask: () => Promise<T>,
    private readonly waitMs: number,
    private readonly minRefreshMs = 0,
  ) {}

  /**
   * Asks the source now (unless a question is in flight, or the last value is younger than `minRefreshMs`),
   * so that the next `get` has a recent value to fall back on.
   */
  refresh(): void {
    const wait = this.last ? this.last.at + this.minRefreshMs - Date.now() : 0;
    if (wait <= 0) {
      this.question().catch(() => undefined);
      return;
    }
    if (this.trailing !== undefined) return;
    this.trailing = setTimeout(() => {
      this.trailing = undefined;
      this.question().catch(() => undefined);
    }, wait);
    // Never keeps a process alive (Node's timers have unref; browsers' are numbers).
    (this.trailing as { unref?: () => void }).unref?.();
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
        this.last = { value, at: Date.now() };
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
