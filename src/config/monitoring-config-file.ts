// TF Serving's `--monitoring_config_file`: a text-format MonitoringConfig (monitoring_config.proto),
// `prometheus_config { enable: true path: "/monitoring/prometheus/metrics" }`.
import { servingMessageType } from './proto-root.js';
import { TextFormatError, fieldPosition, parseTextFormat } from './text-format.js';

export const DEFAULT_PROMETHEUS_METRICS_PATH = '/monitoring/prometheus/metrics';

export interface MonitoringConfig {
  /** Whether the REST port serves Prometheus metrics, and where. */
  readonly prometheus: { readonly enable: boolean; readonly path: string };
}

/** Parses a text-format MonitoringConfig; INVALID_ARGUMENT names the file, line and field. */
export function parseMonitoringConfigText(text: string, file: string): MonitoringConfig {
  const message = parseTextFormat(text, servingMessageType('tensorflow.serving.MonitoringConfig'), file);
  const prometheus = (message.prometheus_config ?? {}) as { enable?: boolean; path?: string };
  const path = prometheus.path || DEFAULT_PROMETHEUS_METRICS_PATH;
  if (!path.startsWith('/')) {
    throw new TextFormatError(file, fieldPosition(prometheus, 'path') ?? { line: 1, column: 1 }, `prometheus_config.path must start with "/", got ${JSON.stringify(path)}`);
  }
  return { prometheus: { enable: prometheus.enable === true, path } };
}
