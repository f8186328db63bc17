// TF Serving's ModelServerConfig (model_server_config.proto) → this project's ModelConfig list: read
// from a text-format `--model_config_file` and from gRPC's HandleReloadConfigRequest alike.
import { ServingError } from '../core/status.js';
import type { ServableVersionPolicy } from '../core/servable-version-policy.js';
import type { ModelConfig } from '../server/model-server-options.js';
import { servingMessageType } from './proto-root.js';
import type { TextMessage, TextPosition } from './text-format.js';
import { TextFormatError, fieldPosition, parseTextFormat } from './text-format.js';

/** Model platforms this server takes: TF Serving's `tensorflow` (SavedModels, converted) and `tfjs`. */
export const SUPPORTED_MODEL_PLATFORMS: readonly string[] = ['tensorflow', 'tfjs'];

/** Says where a field was written, for errors: a text file's line, or a message path (gRPC). */
export type FieldLocator = (message: object, field: string, path: string, detail: string) => ServingError;

/** Errors for messages that came from JSON/gRPC: INVALID_ARGUMENT naming the field path. */
export const messagePathError: FieldLocator = (_message, _field, path, detail) => new ServingError('INVALID_ARGUMENT', `${path}: ${detail}`);

/** Errors for messages parsed from text: `file:line:column: path: detail`. */
export function textFileError(file: string): FieldLocator {
  return (message, field, path, detail) => {
    const at: TextPosition = fieldPosition(message, field) ?? { line: 1, column: 1 };
    return new TextFormatError(file, at, `${path}: ${detail}`);
  };
}

interface ModelConfigProto {
  name?: string;
  base_path?: string;
  model_type?: string | number;
  model_platform?: string;
  model_version_policy?: {
    latest?: { num_versions?: number | string };
    all?: object;
    specific?: { versions?: Array<number | string | { toString(): string }> };
  };
  version_labels?: Record<string, number | string | { toString(): string }>;
  logging_config?: object;
}

/**
 * The models of a ModelServerConfig message (proto field names, as the text parser or proto-loader
 * with `keepCase` give them). Only `model_config_list` is supported (TF Serving's custom_model_config
 * needs a custom server). Errors name the field: through `locate`.
 */
export function modelConfigsFromProto(config: object, locate: FieldLocator = messagePathError): ModelConfig[] {
  const c = config as { model_config_list?: { config?: ModelConfigProto[] }; custom_model_config?: unknown; config?: string };
  if (c.custom_model_config !== undefined && c.custom_model_config !== null) {
    throw locate(config, 'custom_model_config', 'ModelServerConfig.custom_model_config', 'custom model configs are not supported; use model_config_list');
  }
  if (!c.model_config_list) throw locate(config, 'model_config_list', 'ModelServerConfig', 'has no model_config_list');
  const list = c.model_config_list.config ?? [];
  return list.map((m, i) => modelConfigFromProto(m, `model_config_list.config[${i}]`, locate));
}

function modelConfigFromProto(m: ModelConfigProto, path: string, locate: FieldLocator): ModelConfig {
  if (!m.name) throw locate(m, 'name', `${path}.name`, 'a model needs a name');
  const where = `${path} (${m.name})`;
  if (!m.base_path) throw locate(m, 'base_path', `${where}.base_path`, 'a model needs a base_path');
  const platform = m.model_platform ?? '';
  if (platform !== '' && !SUPPORTED_MODEL_PLATFORMS.includes(platform)) {
    throw locate(m, 'model_platform', `${where}.model_platform`, `platform ${JSON.stringify(platform)} is not supported; use "tensorflow" or "tfjs"`);
  }
  if (m.model_type !== undefined && m.model_type !== 'MODEL_TYPE_UNSPECIFIED' && m.model_type !== 'TENSORFLOW' && m.model_type !== 0 && m.model_type !== 1) {
    throw locate(m, 'model_type', `${where}.model_type`, `model_type ${String(m.model_type)} is not supported (only TENSORFLOW)`);
  }
  const out: ModelConfig = { name: m.name, basePath: m.base_path };
  if (platform === 'tfjs') out.modelPlatform = 'tfjs';
  const policy = m.model_version_policy;
  if (policy) {
    const set = (['latest', 'all', 'specific'] as const).filter((k) => policy[k] !== undefined && policy[k] !== null);
    if (set.length > 1) throw locate(m, 'model_version_policy', `${where}.model_version_policy`, `has more than one of latest, all, specific: ${set.join(', ')}`);
    let p: ServableVersionPolicy | undefined;
    if (policy.latest) p = { latest: { numVersions: Number(policy.latest.num_versions ?? 0) || 1 } };
    else if (policy.all) p = { all: {} };
    else if (policy.specific) {
      const versions = (policy.specific.versions ?? []).map((v) => Number(String(v)));
      if (versions.length === 0) throw locate(policy, 'specific', `${where}.model_version_policy.specific.versions`, 'needs at least one version');
      p = { specific: { versions } };
    }
    if (p) out.modelVersionPolicy = p;
  }
  if (m.version_labels && Object.keys(m.version_labels).length > 0) {
    const labels: Record<string, number> = {};
    for (const [label, v] of Object.entries(m.version_labels)) {
      const n = Number(String(v));
      if (!Number.isSafeInteger(n) || n < 0) throw locate(m, 'version_labels', `${where}.version_labels["${label}"]`, `version ${String(v)} is not a non-negative integer`);
      labels[label] = n;
    }
    out.versionLabels = labels;
  }
  return out;
}

/** True when a config file's text is JSON: text format never starts with `{` or `[`. */
export function looksLikeJson(text: string): boolean {
  const t = text.trimStart();
  return t.startsWith('{') || t.startsWith('[');
}

/** Parses a text-format ModelServerConfig (`model_config_list { config { … } }`) from `file`. */
export function parseModelServerConfigText(text: string, file: string): ModelConfig[] {
  const message: TextMessage = parseTextFormat(text, servingMessageType('tensorflow.serving.ModelServerConfig'), file);
  return modelConfigsFromProto(message, textFileError(file));
}
