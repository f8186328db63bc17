// Turns the per-version progress reports of sources (download, verify) and loaders (load, warmup)
// into `progress` events, and keeps the aggregate of the versions being brought in for `totalprogress`.
import type { ManagerState } from '../core/servable-state.js';
import type { DownloadProgressEventInit, ProgressPhase } from './version-state-event.js';
import { DownloadProgressEvent, TotalProgressEvent, percentOf } from './version-state-event.js';

/** How far through a version each phase ends (download and verify go by bytes; load and warmup finish it). */
const PHASE_END: Record<ProgressPhase, number> = { download: 0.8, verify: 0.8, load: 0.95, warmup: 1 };
const PHASE_START: Record<ProgressPhase, number> = { download: 0, verify: 0, load: 0.8, warmup: 0.95 };

interface Tracked {
  phase: ProgressPhase;
  totalBytes: number;
  loadedBytes: number;
  /** 0–1 through the version's phases. */
  fraction: number;
  done: boolean;
}

export class ProgressTracker {
  private readonly round = new Map<string, Tracked>();

  constructor(private readonly events: EventTarget) {}

  /** A source or loader reported progress of one version: fires `progress`, then `totalprogress`. */
  report(init: DownloadProgressEventInit): void {
    const event = new DownloadProgressEvent(init);
    if ([...this.round.values()].every((t) => t.done)) this.round.clear(); // the previous round is over
    const key = `${init.model}@${init.version}`;
    const t = this.round.get(key) ?? { phase: event.phase, totalBytes: 0, loadedBytes: 0, fraction: 0, done: false };
    t.phase = event.phase;
    if (event.phase === 'download' || event.phase === 'verify') {
      t.totalBytes = event.totalBytes;
      t.loadedBytes = event.loadedBytes;
    } else {
      t.totalBytes = Math.max(t.totalBytes, event.totalBytes);
      t.loadedBytes = t.totalBytes; // nothing (more) to fetch once it loads
    }
    const within = event.phase === 'download' || event.phase === 'verify' ? percentOf(event.loadedBytes, event.totalBytes) : event.percent;
    const start = PHASE_START[event.phase];
    t.fraction = Math.max(t.fraction, start + ((PHASE_END[event.phase] - start) * within) / 100);
    t.done = false;
    this.round.set(key, t);
    this.events.dispatchEvent(event);
    this.fireTotal();
  }

  /** A version changed state: AVAILABLE or END closes it in the round. */
  stateChanged(model: string, version: number, state: ManagerState): void {
    const t = this.round.get(`${model}@${version}`);
    if (!t || t.done || (state !== 'AVAILABLE' && state !== 'END')) return;
    t.done = true;
    t.fraction = 1;
    t.loadedBytes = t.totalBytes;
    this.fireTotal();
  }

  /**
   * A poll of `model`'s source ended with an error: its versions still downloading there will not
   * reach the manager, so they count as done (failed) and the round can end.
   */
  sourceFailed(model: string): void {
    let changed = false;
    for (const [key, t] of this.round) {
      if (t.done || !key.startsWith(`${model}@`) || (t.phase !== 'download' && t.phase !== 'verify')) continue;
      t.done = true;
      changed = true;
    }
    if (changed) this.fireTotal();
  }

  private fireTotal(): void {
    const all = [...this.round.values()];
    const weight = (t: Tracked) => Math.max(1, t.totalBytes);
    const sumWeights = all.reduce((s, t) => s + weight(t), 0);
    this.events.dispatchEvent(
      new TotalProgressEvent({
        versions: [...this.round.keys()],
        done: all.filter((t) => t.done).length,
        loadedBytes: all.reduce((s, t) => s + t.loadedBytes, 0),
        totalBytes: all.reduce((s, t) => s + t.totalBytes, 0),
        percent: sumWeights > 0 ? (100 * all.reduce((s, t) => s + t.fraction * weight(t), 0)) / sumWeights : 100,
      }),
    );
  }
}
