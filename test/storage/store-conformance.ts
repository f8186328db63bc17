import { test } from 'node:test';
import { SkipCase, conformanceCases } from './store-conformance-cases.js';
import type { StoreFactory } from './store-conformance-cases.js';

export type { StoreFactory, StoreHarness } from './store-conformance-cases.js';

/**
 * Registers the ModelStore conformance cases as node:test tests named `<label>: <case>`. `factory` is
 * called once per case and must return a fresh, empty store.
 */
export function storeConformance(label: string, factory: StoreFactory): void {
  for (const c of conformanceCases) {
    test(`${label}: ${c.name}`, async (t) => {
      const h = await factory();
      try {
        await c.run(h);
      } catch (e) {
        if (e instanceof SkipCase) {
          t.skip(e.message);
          return;
        }
        throw e;
      } finally {
        await h.store.close?.();
        await h.dispose?.();
      }
    });
  }
}
