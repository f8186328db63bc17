// swapMode 'fresh-worker', on the page: one coherent stream of version states while serving moves from
// one worker to a fresh one. Pure bookkeeping: no workers, no events fired here.
import type { ManagerState } from '../core/servable-state.js';

/** One version of one model. */
export interface VersionKey {
  readonly model: string;
  readonly version: number;
}

/** A version whose last state the page was told, and that state. */
export interface VersionTold extends VersionKey {
  readonly state: ManagerState;
}

const keyOf = (model: string, version: number) => `${version}\u0000${model}`;
const versionOf = (key: string): VersionKey => {
  const at = key.indexOf('\u0000');
  return { model: key.slice(at + 1), version: Number(key.slice(0, at)) };
};

/**
 * What the page was told about each version (from the serving worker), and what a fresh worker reports
 * while it warms up. The fresh worker loads every model again; the page hears only about the versions it
 * does not already have AVAILABLE (a version moving between workers is not reported twice). At the move,
 * the versions the fresh worker does not serve leave (UNLOADING, END); if the fresh worker is refused,
 * the new versions it told the page about end.
 */
export class SwapLedger {
  /** The last state the page was told, by version. */
  private readonly told = new Map<string, ManagerState>();
  /** The fresh worker's states, by version. */
  private fresh = new Map<string, ManagerState>();
  /** Versions the page heard of from the fresh worker. */
  private toldFromFresh = new Set<string>();

  /** A state from the serving worker: the page hears it. */
  fromServing(model: string, version: number, state: ManagerState): void {
    this.told.set(keyOf(model, version), state);
  }

  /** A state from the fresh worker while it warms up: true when the page should hear it. */
  fromFresh(model: string, version: number, state: ManagerState): boolean {
    const key = keyOf(model, version);
    this.fresh.set(key, state);
    if (this.told.get(key) === 'AVAILABLE' && !this.toldFromFresh.has(key)) return false;
    this.told.set(key, state);
    this.toldFromFresh.add(key);
    return true;
  }

  /** Whether the page should hear the fresh worker's progress on a version (not on one it has AVAILABLE). */
  progressFromFresh(model: string, version: number): boolean {
    const key = keyOf(model, version);
    return this.told.get(key) !== 'AVAILABLE' || this.toldFromFresh.has(key);
  }

  /** Models the page has a version AVAILABLE of and the fresh worker has none of (the move must wait or be refused). */
  uncovered(): string[] {
    const available = (states: Map<string, ManagerState>) =>
      new Set([...states].filter(([, s]) => s === 'AVAILABLE').map(([k]) => versionOf(k).model));
    const fresh = available(this.fresh);
    return [...available(this.told)].filter((m) => !fresh.has(m)).sort();
  }

  /**
   * The move: the versions the page has AVAILABLE (from the old worker) that the fresh worker does not
   * serve. From now on the fresh worker's states are what the page was told.
   */
  move(): VersionKey[] {
    const leaving = [...this.told].filter(([k, s]) => s === 'AVAILABLE' && this.fresh.get(k) !== 'AVAILABLE').map(([k]) => versionOf(k));
    this.told.clear();
    for (const [k, s] of this.fresh) this.told.set(k, s);
    this.forgetFresh();
    return leaving;
  }

  /**
   * The fresh worker is refused: the versions it told the page about that have not ended, with their last
   * state, and the held-back versions `wanted` of the page never heard of (START: it failed before telling);
   * they all end now.
   */
  refuse(wanted?: { readonly model: string; readonly versions: readonly number[] }): VersionTold[] {
    const unheard = wanted ? wanted.versions.map((v) => keyOf(wanted.model, v)).filter((k) => !this.told.has(k)) : [];
    const open = [...new Set([...this.toldFromFresh, ...unheard])]
      .map((k) => ({ ...versionOf(k), state: this.told.get(k) ?? 'START' }))
      .filter((v) => v.state !== 'END');
    for (const v of open) this.told.set(keyOf(v.model, v.version), 'END');
    this.forgetFresh();
    return open;
  }

  private forgetFresh(): void {
    this.fresh = new Map();
    this.toldFromFresh = new Set();
  }
}
