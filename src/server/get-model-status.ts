// TF Serving's GetModelStatusImpl: a model's versions and their states, from the state monitor.
import type { ServableStateMonitor } from '../core/servable-state-monitor.js';
import { ServingError } from '../core/status.js';
import type { GetModelStatusResponse } from './api-types.js';

/** Every version of `model` the monitor has seen (newest first), or only `version`; NOT_FOUND as TF Serving says it. */
export function getModelStatus(monitor: ServableStateMonitor, model: string, version?: number): GetModelStatusResponse {
  const states = monitor.getVersionStates(model);
  if (states.size === 0) throw new ServingError('NOT_FOUND', `Could not find any versions of model ${model}`);
  const entries = [...states].sort((a, b) => b[0] - a[0]);
  const picked = version === undefined ? entries : entries.filter(([v]) => v === version);
  if (picked.length === 0) throw new ServingError('NOT_FOUND', `Could not find version ${version} of model ${model}`);
  return {
    model_version_status: picked.map(([v, { state }]) => ({
      version: String(v),
      state: state.managerState,
      status: { error_code: state.health.error_code, error_message: state.health.error_message },
    })),
  };
}
