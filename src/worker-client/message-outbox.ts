// One side of a page ↔ worker channel: the messages of one turn leave as one (a bundle), in order.

/**
 * Collects what is sent during one turn and posts it at the end of the turn (a microtask): one message
 * when there is one, else `bundle(messages)`, with every transfer listed once. The other side then
 * handles them in one task: a batch's answers resume their callers together on the page, and requests
 * a page makes together reach the worker together. If the bundle cannot be posted (a value that cannot
 * be cloned), each message is posted alone and one that still cannot be posted goes to its `unsent`:
 * one bad message never loses the others.
 */
export class MessageOutbox<M, B> {
  private waiting: Array<{ message: M; transfer: Transferable[]; unsent?: (error: unknown) => void }> = [];

  constructor(
    private readonly post: (message: M | B, transfer: Transferable[]) => void,
    private readonly bundle: (messages: M[]) => B,
  ) {}

  send(message: M, transfer: Transferable[] = [], unsent?: (error: unknown) => void): void {
    this.waiting.push({ message, transfer, unsent });
    if (this.waiting.length === 1) queueMicrotask(() => this.flush());
  }

  /** Posts what is waiting now (before a fatal message, say). */
  flush(): void {
    const waiting = this.waiting;
    this.waiting = [];
    if (waiting.length === 0) return;
    if (waiting.length > 1) {
      try {
        // A buffer listed twice would make the whole post fail: list each once.
        this.post(this.bundle(waiting.map((w) => w.message)), [...new Set(waiting.flatMap((w) => w.transfer))]);
        return;
      } catch {
        // Some value cannot be posted: find which, below.
      }
    }
    for (const { message, transfer, unsent } of waiting) {
      try {
        this.post(message, transfer);
      } catch (e) {
        unsent?.(e);
      }
    }
  }
}
