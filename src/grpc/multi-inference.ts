// PredictionService.MultiInference: several Classify/Regress tasks of one model over one Input, as
// TF Serving's RunMultiInference (every task names the same model and version, each signature once).
import { ServingError } from '../core/status.js';
import type { ModelServer } from '../server/model-server.js';
import type { InputMessage } from './classify-regress.js';
import { classify, regress } from './classify-regress.js';
import type { GrpcCall, ModelSpecMessage } from './model-spec.js';
import { readModelSpec } from './model-spec.js';

export const CLASSIFY_METHOD_NAME = 'tensorflow/serving/classify';
export const REGRESS_METHOD_NAME = 'tensorflow/serving/regress';

export interface MultiInferenceRequestMessage {
  tasks?: Array<{ model_spec?: ModelSpecMessage; method_name?: string }>;
  input?: InputMessage;
}

export async function multiInference(server: ModelServer, request: MultiInferenceRequestMessage, call: GrpcCall = {}): Promise<object> {
  const tasks = request.tasks ?? [];
  if (tasks.length === 0) throw new ServingError('INVALID_ARGUMENT', 'MultiInferenceRequest has no tasks');
  const first = readModelSpec(tasks[0]!.model_spec);
  const signatures = new Set<string>();
  for (const task of tasks) {
    const spec = readModelSpec(task.model_spec);
    if (spec.model !== first.model || spec.selector.version !== first.selector.version || spec.selector.label !== first.selector.label) {
      throw new ServingError('INVALID_ARGUMENT', 'All ModelSpecs in a MultiInferenceRequest must access the same model name and version');
    }
    const signature = spec.signatureName || 'serving_default';
    if (signatures.has(signature)) throw new ServingError('INVALID_ARGUMENT', `Duplicate evaluation of signature: ${signature}`);
    signatures.add(signature);
    if (task.method_name !== CLASSIFY_METHOD_NAME && task.method_name !== REGRESS_METHOD_NAME) {
      throw new ServingError('UNIMPLEMENTED', `Unsupported signature method_name: ${task.method_name ?? ''}`);
    }
  }
  const results: object[] = [];
  // Every task runs on the version the first one ran on (a canary split routes the request once).
  let pinned: ModelSpecMessage['version'];
  for (const task of tasks) {
    const spec: ModelSpecMessage = pinned ? { ...task.model_spec, version: pinned, version_label: '' } : task.model_spec!;
    const one = { model_spec: spec, ...(request.input ? { input: request.input } : {}) };
    const classifying = task.method_name === CLASSIFY_METHOD_NAME;
    const r = (classifying ? await classify(server, one, call) : await regress(server, one, call)) as { model_spec: ModelSpecMessage; result: object };
    pinned ??= r.model_spec.version;
    results.push({ model_spec: r.model_spec, [classifying ? 'classification_result' : 'regression_result']: r.result });
  }
  return { results };
}
