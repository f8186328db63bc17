/** IndexedDbModelStore harnesses for the conformance cases inside a browser (page or worker). */
import { IndexedDbModelStore } from '../../../src/storage/indexed-db-model-store.js';
import type { ModelStore } from '../../../src/storage/model-store.js';
import { SkipCase, conformanceCases } from '../../storage/store-conformance-cases.js';
import type { StoreHarness } from '../../storage/store-conformance-cases.js';
import { runOutcome } from '../page-runtime.js';
import type { PageOutcome } from '../page-runtime.js';

let counter = 0;

/** A fresh database per call; `dispose` closes every store it handed out and deletes the database. */
export function idbHarness(prefix: string): StoreHarness {
  const dbName = `${prefix}-${Date.now()}-${++counter}`;
  const opened: ModelStore[] = [];
  const open = (stagingTtlMs?: number) => {
    const s = new IndexedDbModelStore({ dbName, persist: false, ...(stagingTtlMs === undefined ? {} : { stagingTtlMs }) });
    opened.push(s);
    return s;
  };
  return {
    store: open(),
    reopen: async () => open(0),
    storedFileCount: async () => (await rawKeys(dbName)).filter((k) => k[0] === 'blob' || k[0] === 'file').length,
    dispose: async () => {
      for (const s of opened) await s.close?.();
      await deleteDatabase(dbName);
    },
  };
}

/** All keys of a store's database, read over a short-lived connection of its own. */
export async function rawKeys(dbName: string, storeName = 'models'): Promise<unknown[][]> {
  const db = await request(indexedDB.open(dbName));
  try {
    if (!db.objectStoreNames.contains(storeName)) return [];
    return (await request(db.transaction(storeName, 'readonly').objectStore(storeName).getAllKeys())) as unknown[][];
  } finally {
    db.close();
  }
}

export function deleteDatabase(dbName: string): Promise<void> {
  return new Promise((resolve) => {
    const req = indexedDB.deleteDatabase(dbName);
    req.onsuccess = req.onerror = req.onblocked = () => resolve();
  });
}

function request<T>(req: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

export async function runConformanceCase(name: string, prefix: string): Promise<void> {
  const c = conformanceCases.find((x) => x.name === name);
  if (!c) throw new Error(`no conformance case ${JSON.stringify(name)}`);
  const h = idbHarness(prefix);
  try {
    await c.run(h);
  } finally {
    await h.dispose?.();
  }
}

export async function runAllConformanceCases(prefix: string): Promise<{ name: string; outcome: PageOutcome }[]> {
  const results = [];
  for (const c of conformanceCases) results.push({ name: c.name, outcome: await runOutcome(() => runConformanceCase(c.name, prefix)) });
  return results;
}

export { SkipCase };
