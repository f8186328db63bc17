/**
 * SavedModel → TF.js graph model converter (Node only, no Python, no
 * protobuf package). See docs/converter.md.
 */
export { ConverterError, isConverterError, type ConverterErrorCode } from './errors.js';
export {
  convertSavedModel,
  servingSignatureNames,
  type ConvertOptions,
  type ConvertProgress,
  type ConversionResult,
  type SignatureSummary,
} from './convert.js';
export type { ParseSpec, ParsedFeature, SparseParsedFeature } from './graph/cut.js';
export { readSavedModel, selectMetaGraph, tagSetsOf, type SavedModelDir } from './savedmodel/read.js';
export {
  writeGraphModel,
  DEFAULT_SHARD_SIZE,
  type ConvertedModel,
  type GraphModelJson,
  type WeightSpec,
  type WriteOptions,
} from './writer/graph-model-writer.js';
export type { QuantizationMap, QuantizationDtype } from './writer/quantize.js';
export { loadSupportedOps } from './graph/op-support.js';
export { showSavedModel, type ShowOptions } from './savedmodel/show.js';
export { runSavedModel, loadGraphModelFromResult, artifactsOf, examplesToFeeds, executeModel, type RunOptions, type RunOutput } from './run.js';
export { runConverterCli, type CliIo } from './cli.js';
