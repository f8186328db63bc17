// TF Serving's `--batching_parameters_file`: a text-format BatchingParameters
// (session_bundle_config.proto), e.g. `max_batch_size { value: 128 } batch_timeout_micros { value: 0 }`.
import type { BatchingParameters } from '../batching/batching-parameters.js';
import { servingMessageType } from './proto-root.js';
import type { TextMessage } from './text-format.js';
import { TextFormatError, fieldPosition, parseTextFormat } from './text-format.js';

/** BatchingParameters proto fields → this project's names (wrapper fields are `{ value }`). */
const FIELDS: Record<string, keyof BatchingParameters> = {
  max_batch_size: 'maxBatchSize',
  batch_timeout_micros: 'batchTimeoutMicros',
  max_enqueued_batches: 'maxEnqueuedBatches',
  num_batch_threads: 'numBatchThreads',
  allowed_batch_sizes: 'allowedBatchSizes',
  enable_large_batch_splitting: 'enableLargeBatchSplitting',
  max_execution_batch_size: 'maxExecutionBatchSize',
  pad_variable_length_inputs: 'padVariableLengthInputs',
};

export interface BatchingParametersFile {
  readonly parameters: BatchingParameters;
  /** Fields of the proto this server does not use (e.g. `thread_pool_name`), for a warning. */
  readonly ignoredFields: readonly string[];
}

/** Parses a text-format BatchingParameters; INVALID_ARGUMENT names the file, line and field. */
export function parseBatchingParametersText(text: string, file: string): BatchingParametersFile {
  const message = parseTextFormat(text, servingMessageType('tensorflow.serving.BatchingParameters'), file);
  const parameters: Record<string, unknown> = {};
  const ignoredFields: string[] = [];
  for (const [field, raw] of Object.entries(message)) {
    const name = FIELDS[field];
    if (!name) {
      ignoredFields.push(field);
      continue;
    }
    const value = typeof raw === 'object' && raw !== null && !Array.isArray(raw) ? (raw as TextMessage).value : raw;
    const number = (v: unknown): number => {
      const n = Number(v ?? 0);
      if (!Number.isSafeInteger(n)) throw new TextFormatError(file, fieldPosition(message, field) ?? { line: 1, column: 1 }, `${field}: ${String(v)} is too large`);
      return n;
    };
    if (name === 'allowedBatchSizes') parameters[name] = (value as unknown[]).map(number);
    else if (name === 'enableLargeBatchSplitting' || name === 'padVariableLengthInputs') parameters[name] = value ?? false;
    else parameters[name] = number(value);
  }
  return { parameters: parameters as BatchingParameters, ignoredFields };
}
