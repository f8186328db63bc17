import { ServingError } from './status.js';
import { isValidVersion } from './servable-id.js';

/** Names that point at versions, e.g. `{stable: 1, canary: 2}` (TF Serving's version_labels). */
export type VersionLabels = Readonly<Record<string, number>>;

const LABEL_PATTERN = /^[A-Za-z0-9_]+$/;

/** Checks label syntax and values; INVALID_ARGUMENT names the label. */
export function validateVersionLabels(labels: unknown, model: string): VersionLabels {
  if (labels === undefined || labels === null) return {};
  if (typeof labels !== 'object' || Array.isArray(labels)) {
    throw new ServingError('INVALID_ARGUMENT', `versionLabels of model ${JSON.stringify(model)} must be an object of label → version, got ${JSON.stringify(labels)}`);
  }
  const out: Record<string, number> = {};
  for (const [label, version] of Object.entries(labels)) {
    if (!LABEL_PATTERN.test(label)) {
      throw new ServingError('INVALID_ARGUMENT', `version label ${JSON.stringify(label)} of model ${JSON.stringify(model)} must match [a-zA-Z0-9_]+`);
    }
    if (!isValidVersion(version)) {
      throw new ServingError('INVALID_ARGUMENT', `version label ${JSON.stringify(label)} of model ${JSON.stringify(model)} must name a non-negative integer version, got ${JSON.stringify(version)}`);
    }
    out[label] = version;
  }
  return out;
}

/**
 * A label may point only at an AVAILABLE version (TF Serving refuses the config with
 * FAILED_PRECONDITION). With `allowUnavailable`, a *new* label may point anywhere; a label that
 * already exists may still only move to an AVAILABLE version.
 */
export function checkLabelsPointAtAvailable(
  model: string,
  labels: VersionLabels,
  previous: VersionLabels,
  available: readonly number[],
  allowUnavailable: boolean,
): void {
  for (const [label, version] of Object.entries(labels)) {
    if (available.includes(version)) continue;
    if (previous[label] === version) continue; // unchanged
    if (allowUnavailable && !(label in previous)) continue;
    throw new ServingError(
      'FAILED_PRECONDITION',
      `Request to assign label to version ${version} of model ${model}, which is not currently available for inference ` +
        `(available: ${available.length ? available.join(', ') : 'none'}). To move label ${JSON.stringify(label)}, ` +
        `first serve version ${version} (e.g. aspire both), then move the label.`,
    );
  }
}

/** The version a label stands for, or INVALID_ARGUMENT like TF Serving. */
export function resolveVersionLabel(model: string, labels: VersionLabels, label: string): number {
  const v = Object.prototype.hasOwnProperty.call(labels, label) ? labels[label] : undefined;
  if (v === undefined) throw new ServingError('INVALID_ARGUMENT', `Unrecognized servable version label: ${label} (model ${model} has labels: ${Object.keys(labels).join(', ') || 'none'})`);
  return v;
}
