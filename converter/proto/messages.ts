/**
 * The TypeScript view of the TensorFlow messages the converter reads (a SavedModel and its variables).
 * The schema is TensorFlow's own `.proto` files under `proto/`, decoded by protobufjs (`tf-protos.ts`);
 * these types list only the fields the converter uses, in the plain-object shape decoding returns.
 */
import { decodeTf } from './tf-protos.js';

// ---------------------------------------------------------------- types
export type Int64 = number | bigint;

export interface TensorShapeDim {
  size?: Int64;
  name?: string;
}
export interface TensorShapeProto {
  dim: TensorShapeDim[];
  unknownRank?: boolean;
}
export interface TensorProto {
  dtype?: number;
  tensorShape?: TensorShapeProto;
  tensorContent?: Uint8Array;
  halfVal: number[];
  floatVal: number[];
  doubleVal: number[];
  intVal: number[];
  stringVal: Uint8Array[];
  scomplexVal: number[];
  int64Val: Int64[];
  boolVal: boolean[];
  dcomplexVal: number[];
  uint32Val: number[];
  uint64Val: Int64[];
}
export interface NameAttrList {
  name?: string;
  attr: Record<string, AttrValue>;
}
export interface AttrListValue {
  s: Uint8Array[];
  i: Int64[];
  f: number[];
  b: boolean[];
  type: number[];
  shape: TensorShapeProto[];
  tensor: TensorProto[];
  func: NameAttrList[];
}
export interface AttrValue {
  list?: AttrListValue;
  s?: Uint8Array;
  i?: Int64;
  f?: number;
  b?: boolean;
  type?: number;
  shape?: TensorShapeProto;
  tensor?: TensorProto;
  placeholder?: string;
  func?: NameAttrList;
}
export interface NodeDef {
  name: string;
  op: string;
  input: string[];
  device?: string;
  attr: Record<string, AttrValue>;
}
export interface ArgDef {
  name: string;
  type?: number;
  typeAttr?: string;
  numberAttr?: string;
  typeListAttr?: string;
  isRef?: boolean;
}
export interface OpDef {
  name: string;
  inputArg: ArgDef[];
  outputArg: ArgDef[];
  attr: { name: string; type?: string; defaultValue?: AttrValue }[];
  controlOutput: string[];
  isStateful?: boolean;
}
export interface ArgAttrs {
  attr: Record<string, AttrValue>;
}
export interface FunctionDef {
  signature: OpDef;
  attr: Record<string, AttrValue>;
  argAttr: Record<string, ArgAttrs>;
  nodeDef: NodeDef[];
  ret: Record<string, string>;
  controlRet: Record<string, string>;
}
export interface FunctionDefLibrary {
  function: FunctionDef[];
}
export interface VersionDef {
  producer?: number;
  minConsumer?: number;
  badConsumers: number[];
}
export interface GraphDef {
  node: NodeDef[];
  library?: FunctionDefLibrary;
  versions?: VersionDef;
}
export interface TensorInfo {
  name?: string;
  dtype?: number;
  tensorShape?: TensorShapeProto;
  cooSparse?: unknown;
  compositeTensor?: unknown;
}
export interface SignatureDef {
  inputs: Record<string, TensorInfo>;
  outputs: Record<string, TensorInfo>;
  methodName?: string;
}
export interface SaverDef {
  filenameTensorName?: string;
  saveTensorName?: string;
  restoreOpName?: string;
}
export interface CollectionDef {
  nodeList?: { value: string[] };
  bytesList?: { value: Uint8Array[] };
}
export interface MetaInfoDef {
  metaGraphVersion?: string;
  strippedOpList?: { op: OpDef[] };
  tags: string[];
  tensorflowVersion?: string;
  tensorflowGitVersion?: string;
  strippedDefaultAttrs?: boolean;
}
export interface ObjectReference {
  nodeId?: number;
  localName?: string;
}
export interface SavedVariable {
  dtype?: number;
  shape?: TensorShapeProto;
  name?: string;
}
export interface SavedObject {
  children: ObjectReference[];
  variable?: SavedVariable;
  function?: { concreteFunctions: string[] };
  bareConcreteFunction?: { concreteFunctionName?: string };
  constant?: { operation?: string };
  resource?: { device?: string };
  capturedTensor?: { name?: string; concreteFunction?: string };
  asset?: unknown;
  userObject?: { identifier?: string };
}
export interface SavedConcreteFunction {
  boundInputs: number[];
}
export interface SavedObjectGraph {
  nodes: SavedObject[];
  concreteFunctions: Record<string, SavedConcreteFunction>;
}
export interface MetaGraphDef {
  metaInfoDef?: MetaInfoDef;
  graphDef?: GraphDef;
  saverDef?: SaverDef;
  collectionDef: Record<string, CollectionDef>;
  signatureDef: Record<string, SignatureDef>;
  /** Asset files (in `assets/`) and the tensors that hold their paths. */
  assetFileDef?: { tensorInfo?: TensorInfo; filename?: string }[];
  objectGraphDef?: SavedObjectGraph;
}
export interface SavedModel {
  savedModelSchemaVersion?: Int64;
  metaGraphs: MetaGraphDef[];
}

// Checkpoint (TensorBundle) messages.
export interface BundleHeaderProto {
  numShards?: number;
  endianness?: number;
  version?: VersionDef;
}
export interface BundleEntryProto {
  dtype?: number;
  shape?: TensorShapeProto;
  shardId?: number;
  offset?: Int64;
  size?: Int64;
  crc32c?: number;
  slices: unknown[];
}
export interface TrackableObjectGraph {
  nodes: {
    children: ObjectReference[];
    attributes: { name?: string; fullName?: string; checkpointKey?: string }[];
  }[];
}

// ------------------------------------------------------------- decoders
export const decodeSavedModel = (b: Uint8Array, what?: string): SavedModel => decodeTf<SavedModel>('tensorflow.SavedModel', b, what);
export const decodeTensorProto = (b: Uint8Array): TensorProto => decodeTf<TensorProto>('tensorflow.TensorProto', b);
export const decodeBundleHeader = (b: Uint8Array): BundleHeaderProto => decodeTf<BundleHeaderProto>('tensorflow.BundleHeaderProto', b);
export const decodeBundleEntry = (b: Uint8Array): BundleEntryProto => decodeTf<BundleEntryProto>('tensorflow.BundleEntryProto', b);
export const decodeTrackableObjectGraph = (b: Uint8Array): TrackableObjectGraph => decodeTf<TrackableObjectGraph>('tensorflow.TrackableObjectGraph', b);
