// The worker's side of the channel: the messages of one turn leave as one (a bundle), in order.
import type { UnbundledWorkerMessage, WorkerMessage } from '../src/worker-client/protocol.js';

/** Posts a message to the page (the worker scope's postMessage). */
export type PostToPage = (message: WorkerMessage, transfer: Transferable[]) => void;

/**
 * Collects what the worker sends during one turn and posts it at the end of the turn (a microtask): one
 * message when there is one, else a `bundle`. A batch's answers are delivered in one go, so they leave
 * together and the page resumes their callers in one task. If the bundle cannot be posted (a value that
 * cannot be cloned), each message is posted alone, and a call whose answer cannot be posted is answered
 * with its error: one bad answer never loses its batch-mates'.
 */
export class Outbox {
  private messages: Array<{ message: UnbundledWorkerMessage; transfer: Transferable[] }> = [];

  constructor(private readonly post: PostToPage) {}

  send(message: UnbundledWorkerMessage, transfer: Transferable[] = []): void {
    this.messages.push({ message, transfer });
    if (this.messages.length === 1) queueMicrotask(() => this.flush());
  }

  /** Posts what is waiting now (before a fatal message, say). */
  flush(): void {
    const waiting = this.messages;
    this.messages = [];
    if (waiting.length === 0) return;
    if (waiting.length > 1) {
      try {
        // A buffer listed twice would make the whole post fail: list each once.
        this.post({ kind: 'bundle', messages: waiting.map((w) => w.message) }, [...new Set(waiting.flatMap((w) => w.transfer))]);
        return;
      } catch {
        // Some value cannot be posted: find which, below.
      }
    }
    for (const { message, transfer } of waiting) {
      try {
        this.post(message, transfer);
      } catch (e) {
        if (!('id' in message)) continue; // an event that cannot be posted is dropped, as before
        this.post({ kind: 'error', id: message.id, code: 'INTERNAL', message: `the answer cannot be sent to the page: ${e instanceof Error ? e.message : String(e)}` }, []);
      }
    }
  }
}
