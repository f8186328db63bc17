// When every aspired version has had its first try: what `start` waits for when it does not wait
// through load retries (`waitForLoadRetries: false`, as `serve` runs), so a version that retries for
// minutes does not hold the server back.
import type { ServableStateMonitor } from '../core/servable-state-monitor.js';

/** A model and the versions its source aspires now. */
export interface AspiredModel {
  readonly name: string;
  readonly aspiredVersions: readonly number[];
}

/** Remembers which versions have failed a load attempt, and wakes waiters on each state change or failure. */
export class FirstLoadAttempts {
  private readonly failed = new Set<string>();
  private readonly waiters = new Set<() => void>();

  constructor(private readonly monitor: ServableStateMonitor) {
    monitor.subscribe(() => this.wake());
  }

  /** A load attempt of `name` `version` failed (it may be retried). */
  failedOnce(name: string, version: number): void {
    this.failed.add(`${name}\n${version}`);
    this.wake();
  }

  /**
   * Resolves once each version `models()` aspires is AVAILABLE or END or has failed an attempt, or
   * once `idle` resolves (nothing left to load), whichever is first.
   */
  async ended(models: () => readonly AspiredModel[], idle: Promise<void>): Promise<void> {
    let isIdle = false;
    const idleDone = idle.then(() => void (isIdle = true));
    while (!isIdle && !this.allTried(models())) {
      await Promise.race([idleDone, new Promise<void>((resolve) => this.waiters.add(resolve))]);
    }
  }

  private allTried(models: readonly AspiredModel[]): boolean {
    return models.every(({ name, aspiredVersions }) =>
      aspiredVersions.every((v) => {
        const state = this.monitor.getState(name, v)?.managerState;
        return state === 'AVAILABLE' || state === 'END' || this.failed.has(`${name}\n${v}`);
      }),
    );
  }

  private wake(): void {
    const waiters = [...this.waiters];
    this.waiters.clear();
    for (const w of waiters) w();
  }
}
