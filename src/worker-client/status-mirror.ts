// The versions' states as the worker's events told them: TF Serving's GetModelStatus answered on the
// client's thread, so status never waits behind a model computing in the worker.
import { ServableStateMonitor } from '../core/servable-state-monitor.js';
import type { GetModelStatusResponse } from '../server/api-types.js';
import { getModelStatus } from '../server/get-model-status.js';
import type { VersionStateEventInit } from '../server/version-state-event.js';

/** A ServableStateMonitor fed by `statechange` events (every state the worker's monitor publishes is one). */
export class StatusMirror {
  private monitor = new ServableStateMonitor();

  /** Records one version's new state. */
  update(e: VersionStateEventInit): void {
    this.monitor.publish({ id: { name: e.model, version: e.version }, managerState: e.state, health: e.status });
  }

  /** Forgets every state (a new worker starts over and publishes its own). */
  clear(): void {
    this.monitor = new ServableStateMonitor();
  }

  /** GetModelStatus from the mirrored states: the same answer (and NOT_FOUND) the worker's server gives. */
  getModelStatus(model: string, version?: number): GetModelStatusResponse {
    return getModelStatus(this.monitor, model, version);
  }
}
