// swapMode 'fresh-worker', on the worker side: the worker's sources keep polling and downloading, but a
// new version that would replace a loaded one is held back (not loaded here) and announced to the page,
// which loads it in a fresh worker from the store.
import type { AspiredVersion } from '../src/core/aspired-versions-manager.js';
import type { AspiredVersionsCallback } from '../src/core/source.js';
import type { Servable } from '../src/runtime/servable.js';
import type { SourceFactory } from '../src/server/source-registry.js';
import { sourceFactoryFor } from '../src/server/source-registry.js';
import type { ModelSource, SourceState } from '../src/sources/model-source.js';
import type { CanarySplit } from '../src/core/canary.js';

/**
 * Between a worker's sources and its manager: while the server starts, every aspired-versions call
 * passes (the first versions load here); once closed, a call that aspires a loadable version its source
 * did not pass before, from a source that already passed versions, is a swap: it is held back and
 * `onHeld` is told. Calls that load nothing new (errors, retirements, fewer versions) pass, and so do a
 * new source's first versions (a model added by reloadConfig loads in place).
 */
export class SwapGate {
  private open = true;

  constructor(private readonly onHeld: (model: string, versions: readonly number[]) => void) {}

  /** The server has started: from now on swaps are held back. */
  close(): void {
    this.open = false;
  }

  /**
   * Passes `versions` on to the manager through `forward` and returns the loadable versions passed, or
   * holds them back as a swap and returns `passed` (what the source passed before) unchanged.
   */
  offer(model: string, versions: AspiredVersion<Servable>[], passed: ReadonlySet<number> | undefined, forward: AspiredVersionsCallback<Servable>): ReadonlySet<number> | undefined {
    const loadable = versions.filter((v) => v.loader !== undefined).map((v) => v.version);
    if (!this.open && passed !== undefined && passed.size > 0 && loadable.some((v) => !passed.has(v))) {
      this.onHeld(model, versions.map((v) => v.version));
      return passed;
    }
    forward(model, versions);
    return new Set(loadable);
  }
}

/** A model's source with its aspired versions passing through a SwapGate. */
class GatedSource implements ModelSource<Servable> {
  /** The loadable versions passed to the manager last. */
  private passed: ReadonlySet<number> | undefined;

  constructor(
    private readonly inner: ModelSource<Servable>,
    private readonly gate: SwapGate,
  ) {}

  get name(): string {
    return this.inner.name;
  }

  setAspiredVersionsCallback(callback: AspiredVersionsCallback<Servable>): void {
    this.inner.setAspiredVersionsCallback((model, versions) => {
      this.passed = this.gate.offer(model, versions, this.passed, callback);
    });
  }

  start(): Promise<void> {
    return this.inner.start();
  }

  stop(): Promise<void> {
    return this.inner.stop();
  }

  pollNow(): Promise<void> {
    return this.inner.pollNow();
  }

  state(): SourceState {
    return this.inner.state();
  }

  wantedVersions(): ReadonlySet<number> {
    return this.inner.wantedVersions();
  }

  canarySplit(): CanarySplit | undefined {
    return this.inner.canarySplit?.();
  }
}

/**
 * A source factory (registered first) that wraps the source every other factory would make in a
 * GatedSource. One worker hosts one server, so one gate serves all its sources.
 */
export function gatedSourceFactory(gate: SwapGate): SourceFactory {
  let resolving = false;
  return {
    name: 'fresh-worker-gate',
    // While it looks for the factory it wraps, it steps aside.
    handles: () => !resolving,
    create(options) {
      resolving = true;
      let inner: SourceFactory;
      try {
        inner = sourceFactoryFor(options.basePath);
      } finally {
        resolving = false;
      }
      return new GatedSource(inner.create(options), gate);
    },
  };
}
