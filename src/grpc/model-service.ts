// tensorflow.serving.ModelService over a ModelServer: GetModelStatus and HandleReloadConfigRequest.
import { modelConfigsFromProto } from '../config/model-server-config.js';
import { ServingError } from '../core/status.js';
import type { ModelServer } from '../server/model-server.js';
import type { ModelSpecMessage } from './model-spec.js';
import { readModelSpec } from './model-spec.js';

export interface GetModelStatusRequestMessage {
  model_spec?: ModelSpecMessage;
}

export interface ReloadConfigRequestMessage {
  config?: object | null;
  metric_names?: string[];
}

/** GetModelStatus: every version seen (newest first), or the one ModelSpec.version names. */
export async function getModelStatus(server: ModelServer, request: GetModelStatusRequestMessage): Promise<object> {
  const { model, selector } = readModelSpec(request.model_spec);
  // Like GetModelStatusImpl (and REST): a label-only request lists every version.
  const status = await server.getModelStatus(model, selector.version);
  return {
    model_version_status: status.model_version_status.map((s) => ({
      version: s.version,
      state: s.state,
      status: { error_code: s.status.error_code, error_message: s.status.error_message },
    })),
  };
}

/** HandleReloadConfigRequest: replaces the model config list; the response carries the status. */
export async function handleReloadConfigRequest(server: ModelServer, request: ReloadConfigRequestMessage): Promise<object> {
  if (!request.config) throw new ServingError('INVALID_ARGUMENT', 'ReloadConfigRequest has no config');
  const modelConfigList = modelConfigsFromProto(request.config);
  await server.reloadConfig({ modelConfigList });
  return { status: { error_code: 'OK', error_message: '' } };
}

export type ModelServiceMethod = 'GetModelStatus' | 'HandleReloadConfigRequest';

export function modelServiceHandlers(server: ModelServer): Record<ModelServiceMethod, (request: never) => Promise<object>> {
  return {
    GetModelStatus: (request: GetModelStatusRequestMessage) => getModelStatus(server, request),
    HandleReloadConfigRequest: (request: ReloadConfigRequestMessage) => handleReloadConfigRequest(server, request),
  };
}
