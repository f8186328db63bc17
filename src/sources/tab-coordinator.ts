/**
 * Lets the pages and workers of one origin share a model store: one of them downloads a version (a
 * Web Lock per version), and the others hear of its commit (a BroadcastChannel) and load it from the
 * store instead of downloading it again.
 */
export interface StoreCoordinator {
  /** Runs `fn` while holding the lock named `name` across every tab of the origin. */
  withLock<T>(name: string, fn: () => Promise<T>): Promise<T>;
  /** Tells the other tabs that `version` of `model` was committed to the store. */
  announceCommit(model: string, version: number): void;
  /** Calls `listener` when another tab committed a version; returns the unsubscribe function. */
  onCommit(listener: (model: string, version: number) => void): () => void;
  close(): void;
}

interface LockManagerLike {
  request<T>(name: string, callback: () => Promise<T>): Promise<T>;
}

interface CommitMessage {
  readonly type: 'commit';
  readonly model: string;
  readonly version: number;
}

/** The origin-wide coordinator, where Web Locks exist (browsers, workers); undefined elsewhere (Node). */
export function originStoreCoordinator(channelName = 'tfjs-serving'): StoreCoordinator | undefined {
  const locks = (globalThis as { navigator?: { locks?: LockManagerLike } }).navigator?.locks;
  if (!locks || typeof BroadcastChannel === 'undefined') return undefined;
  const channel = new BroadcastChannel(channelName);
  const listeners = new Set<(model: string, version: number) => void>();
  channel.onmessage = (e: MessageEvent<CommitMessage>) => {
    if (e.data?.type !== 'commit') return;
    for (const l of listeners) l(e.data.model, e.data.version);
  };
  return {
    withLock: (name, fn) => locks.request(`${channelName}:${name}`, fn),
    announceCommit: (model, version) => channel.postMessage({ type: 'commit', model, version } satisfies CommitMessage),
    onCommit: (listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    close: () => channel.close(),
  };
}
