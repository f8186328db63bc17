// The browser's canary user id: a random id made once per origin and kept in IndexedDB, so that a
// user keeps their canary or stable version across reloads, tabs and the worker.

/** IndexedDB database, object store and key of the id (one per origin, shared by pages and workers). */
export const DEVICE_USER_ID_DB = 'tfjs-serving-user';
export const DEVICE_USER_ID_STORE = 'ids';
export const DEVICE_USER_ID_KEY = 'userId';

/**
 * The origin's stored user id, made (a random UUID) and stored on first use; undefined where
 * there is no IndexedDB (Node) or it refuses (storage blocked): requests are then assigned at random.
 * Two realms racing on first use agree: the read and the add share one readwrite transaction, and such
 * transactions on the store run one at a time, so the second realm reads the id the first one added.
 */
export async function deviceUserId(idb: IDBFactory | undefined = globalThis.indexedDB): Promise<string | undefined> {
  if (!idb) return undefined;
  try {
    const open = idb.open(DEVICE_USER_ID_DB, 1);
    open.onupgradeneeded = () => open.result.createObjectStore(DEVICE_USER_ID_STORE);
    const db = await request(open);
    try {
      const tx = db.transaction(DEVICE_USER_ID_STORE, 'readwrite');
      const store = tx.objectStore(DEVICE_USER_ID_STORE);
      const existing: unknown = await request(store.get(DEVICE_USER_ID_KEY));
      if (typeof existing === 'string' && existing !== '') return existing;
      const id = randomUserId();
      await request(store.add(id, DEVICE_USER_ID_KEY));
      await new Promise<void>((resolve, reject) => {
        tx.oncomplete = () => resolve();
        tx.onerror = () => reject(tx.error);
        tx.onabort = () => reject(tx.error);
      });
      return id;
    } finally {
      db.close();
    }
  } catch {
    return undefined;
  }
}

/** A random v4 UUID; `crypto.randomUUID` exists only in secure contexts (`secure`), `getRandomValues` everywhere. */
export function randomUserId(secure: boolean = globalThis.isSecureContext !== false): string {
  if (secure && typeof crypto.randomUUID === 'function') return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = ((b[6] ?? 0) & 0x0f) | 0x40;
  b[8] = ((b[8] ?? 0) & 0x3f) | 0x80;
  const hex = [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

function request<T>(req: IDBRequest<T>): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}
