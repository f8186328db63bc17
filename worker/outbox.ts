// The worker's side of the channel: the messages of one turn leave as one (a bundle), in order.
import { MessageOutbox } from '../src/worker-client/message-outbox.js';
import type { BundleMessage, UnbundledWorkerMessage, WorkerMessage } from '../src/worker-client/protocol.js';

/** Posts a message to the page (the worker scope's postMessage). */
export type PostToPage = (message: WorkerMessage, transfer: Transferable[]) => void;

/**
 * What the worker sends during one turn, posted at the end of the turn as one message (MessageOutbox):
 * a batch's answers are delivered in one go, so the page resumes their callers in one task. A call whose
 * answer cannot be posted (a value that cannot be cloned) is answered with its error; an event that
 * cannot be posted is dropped.
 */
export class Outbox {
  private readonly box: MessageOutbox<UnbundledWorkerMessage, BundleMessage>;

  constructor(private readonly post: PostToPage) {
    this.box = new MessageOutbox<UnbundledWorkerMessage, BundleMessage>(post, (messages) => ({ kind: 'bundle', messages }));
  }

  send(message: UnbundledWorkerMessage, transfer: Transferable[] = []): void {
    if (!('id' in message)) return this.box.send(message, transfer);
    this.box.send(message, transfer, (e) =>
      this.post({ kind: 'error', id: message.id, code: 'INTERNAL', message: `the answer cannot be sent to the page: ${e instanceof Error ? e.message : String(e)}` }, []),
    );
  }

  /** Posts what is waiting now (before a fatal message, say). */
  flush(): void {
    this.box.flush();
  }
}
