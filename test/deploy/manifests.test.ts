// deploy/: the Dockerfile, the Kubernetes manifests and the KServe resources parse, hang together,
// and say what TF Serving's deployments say (ports, probes, Prometheus, resources, shutdown), and the
// args they pass are flags `serve` takes; the embedded TF Serving configs parse with our text parser.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { parseModelServerConfigText } from '../../src/config/model-server-config.js';
import { parseMonitoringConfigText } from '../../src/config/monitoring-config-file.js';
import { parseServeFlags } from '../../src/cli/serve.js';
import { ROOT } from '../config/serve-process.js';

const DEPLOY = join(ROOT, 'deploy');

function docs(path: string): any[] {
  const parsed = parseAllDocuments(readFileSync(join(DEPLOY, path), 'utf8'));
  for (const d of parsed) assert.deepEqual(d.errors, [], `${path}: ${d.errors.join('; ')}`);
  return parsed.map((d) => d.toJS()).filter(Boolean);
}

const byKind = (all: any[], kind: string) => {
  const found = all.filter((d) => d.kind === kind);
  assert.equal(found.length, 1, `one ${kind}`);
  return found[0];
};

test('Dockerfile: Node 20 slim, non-root user, TF Serving\'s ports, the CLI entrypoint, sources that exist', () => {
  const text = readFileSync(join(DEPLOY, 'Dockerfile'), 'utf8');
  const froms = [...text.matchAll(/^FROM (\S+)/gm)].map((m) => m[1]);
  assert.ok(froms.length >= 1 && froms.every((f) => f!.startsWith('node:20') && f!.includes('slim')), froms.join(', '));
  const user = [...text.matchAll(/^USER (\S+)/gm)].map((m) => m[1]!).pop();
  assert.ok(user && !/^(root|0)(:|$)/.test(user), `USER ${user}`);
  assert.match(text, /^EXPOSE 8500 8501$/m);
  assert.match(text, /MODEL_NAME=model/);
  assert.match(text, /MODEL_BASE_PATH=\/models/);
  const entry = /^ENTRYPOINT \["([^"]+)"\]/m.exec(text)?.[1];
  assert.equal(entry, '/app/deploy/tfjs-serving-entrypoint.sh');
  const script = join(DEPLOY, 'tfjs-serving-entrypoint.sh');
  assert.ok(statSync(script).mode & 0o111, 'the entrypoint is executable');
  const body = readFileSync(script, 'utf8');
  assert.match(body, /exec node "\$APP_DIR\/bin\/tfjs-serving\.js" serve/);
  assert.match(body, /--model_base_path="\$\{MODEL_BASE_PATH:-\/models\}\/\$\{MODEL_NAME:-model\}"/);
  // Every COPY from the build context names something in the repository that the context keeps
  // (deploy/Dockerfile.dockerignore excludes everything else).
  const kept = readFileSync(join(DEPLOY, 'Dockerfile.dockerignore'), 'utf8').split('\n').filter((l) => l.startsWith('!')).map((l) => l.slice(1).replace(/\/\*\*$/, ''));
  const copied = [...text.matchAll(/^COPY (?!--from)(.+) (\S+)$/gm)].flatMap((m) => m[1]!.split(/\s+/));
  assert.ok(copied.length >= 5);
  for (const src of copied) {
    assert.ok(existsSync(join(ROOT, src)), `COPY ${src}`);
    assert.ok(kept.includes(src), `COPY ${src} is kept by Dockerfile.dockerignore`);
  }
});

test('Kubernetes Deployment + Service: probes, Prometheus annotations, resources, grace period, ports', () => {
  const all = [...docs('kubernetes/deployment.yaml'), ...docs('kubernetes/service.yaml')];
  const deployment = byKind(all, 'Deployment');
  const service = byKind(all, 'Service');
  const config = byKind(all, 'ConfigMap');
  assert.equal(deployment.apiVersion, 'apps/v1');
  assert.ok(deployment.spec.replicas >= 2);
  assert.equal(deployment.spec.strategy.rollingUpdate.maxUnavailable, 0);
  const pod = deployment.spec.template;
  assert.deepEqual(deployment.spec.selector.matchLabels, { 'app.kubernetes.io/name': 'tfjs-serving' });
  for (const [k, v] of Object.entries(deployment.spec.selector.matchLabels)) assert.equal(pod.metadata.labels[k], v);
  assert.equal(pod.metadata.annotations['prometheus.io/scrape'], 'true');
  assert.equal(pod.metadata.annotations['prometheus.io/port'], '8501');
  assert.equal(pod.metadata.annotations['prometheus.io/path'], '/monitoring/prometheus/metrics');
  assert.ok(pod.spec.terminationGracePeriodSeconds >= 30);
  assert.equal(pod.spec.securityContext.runAsNonRoot, true);
  const [container] = pod.spec.containers;
  const ports = Object.fromEntries(container.ports.map((p: any) => [p.name, p.containerPort]));
  assert.deepEqual(ports, { grpc: 8500, http: 8501 });
  assert.equal(container.readinessProbe.httpGet.path, '/readyz');
  assert.equal(container.readinessProbe.httpGet.port, 'http');
  assert.equal(container.livenessProbe.httpGet.path, '/livez');
  assert.equal(container.startupProbe.httpGet.path, '/livez');
  assert.ok(container.startupProbe.failureThreshold * container.startupProbe.periodSeconds >= 120, 'time to load the first model');
  assert.ok(container.resources.requests.cpu && container.resources.requests.memory);
  assert.ok(container.resources.limits.memory);
  assert.equal(container.securityContext.allowPrivilegeEscalation, false);
  // The args are flags serve takes; the files they name are mounted from the ConfigMap.
  const flags = parseServeFlags(container.args);
  const mount = container.volumeMounts.find((m: any) => m.name === 'config').mountPath;
  for (const flag of ['model_config_file', 'monitoring_config_file']) {
    const file = flags[flag]!;
    assert.ok(file.startsWith(mount + '/'), file);
    assert.ok(config.data[file.slice(mount.length + 1)], `${file} is in the ConfigMap`);
  }
  const models = parseModelServerConfigText(config.data['models.config'], 'models.config');
  assert.deepEqual(models.map((m) => m.name), ['half_plus_two']);
  assert.deepEqual(parseMonitoringConfigText(config.data['monitoring.config'], 'monitoring.config').prometheus, { enable: true, path: pod.metadata.annotations['prometheus.io/path'] });
  // The Service reaches the pods on both named ports.
  assert.deepEqual(service.spec.selector, deployment.spec.selector.matchLabels);
  assert.deepEqual(service.spec.ports.map((p: any) => [p.name, p.port, p.targetPort]), [['grpc', 8500, 'grpc'], ['http', 8501, 'http']]);
  assert.equal(service.metadata.annotations['prometheus.io/scrape'], 'true');
});

test('KServe ServingRuntime (like kserve-tensorflow-serving) and an InferenceService reading from S3', () => {
  const runtime = byKind(docs('kserve/serving-runtime.yaml'), 'ServingRuntime');
  assert.equal(runtime.apiVersion, 'serving.kserve.io/v1alpha1');
  assert.equal(runtime.metadata.annotations['serving.kserve.io/server-type'], 'tensorflow-serving');
  assert.deepEqual(runtime.spec.protocolVersions, ['v1', 'grpc-v1']);
  const formats = runtime.spec.supportedModelFormats.map((f: any) => f.name);
  assert.ok(formats.includes('tensorflow') && formats.includes('tfjs'), formats.join(', '));
  assert.ok(runtime.spec.supportedModelFormats.every((f: any) => f.autoSelect === true && typeof f.version === 'string'));
  assert.equal(runtime.spec.annotations['prometheus.kserve.io/port'], '8080');
  assert.equal(runtime.spec.annotations['prometheus.kserve.io/path'], '/monitoring/prometheus/metrics');
  const [container] = runtime.spec.containers;
  assert.equal(container.name, 'kserve-container');
  assert.deepEqual(container.command, ['node', '/app/bin/tfjs-serving.js', 'serve']);
  const args = container.args.map((a: string) => a.replace('{{.Name}}', 'half-plus-two'));
  const flags = parseServeFlags(args);
  assert.deepEqual([flags.model_name, flags.port, flags.rest_api_port, flags.model_base_path], ['half-plus-two', '9000', '8080', '/mnt/models']);
  assert.equal(container.securityContext.runAsNonRoot, true);
  assert.equal(container.readinessProbe.httpGet.path, '/readyz');
  assert.equal(container.livenessProbe.httpGet.path, '/livez');
  assert.deepEqual(container.resources.requests, { cpu: '1', memory: '2Gi' });

  const all = docs('kserve/inference-service-s3.yaml');
  const isvc = byKind(all, 'InferenceService');
  const sa = byKind(all, 'ServiceAccount');
  const secret = byKind(all, 'Secret');
  assert.equal(isvc.apiVersion, 'serving.kserve.io/v1beta1');
  const predictor = isvc.spec.predictor;
  assert.match(predictor.model.storageUri, /^s3:\/\/[^/]+\/.+/);
  assert.equal(predictor.model.runtime, runtime.metadata.name);
  assert.ok(formats.includes(predictor.model.modelFormat.name));
  assert.equal(predictor.serviceAccountName, sa.metadata.name);
  assert.deepEqual(sa.secrets, [{ name: secret.metadata.name }]);
  assert.deepEqual(Object.keys(secret.stringData).sort(), ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY']);
  assert.ok(secret.metadata.annotations['serving.kserve.io/s3-endpoint']);
});
