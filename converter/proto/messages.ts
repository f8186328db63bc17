/**
 * TensorFlow protobuf messages needed to read a SavedModel and its
 * variables, with the field numbers from TensorFlow's .proto files
 * (tensorflow/core/framework/*.proto, core/protobuf/{saved_model,meta_graph,
 * saved_object_graph,trackable_object_graph,saver,tensor_bundle}.proto).
 * Only the fields the converter reads are declared; others are skipped.
 */
import { decodeMessage, type MessageSchema } from './schema.js';

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

// -------------------------------------------------------------- schemas
const S = (name: string, fields: MessageSchema['fields']): MessageSchema => ({ name, fields });

export const TensorShapeDimSchema: MessageSchema = S('TensorShapeProto.Dim', {
  1: { name: 'size', type: 'int64' },
  2: { name: 'name', type: 'string' },
});
export const TensorShapeProtoSchema: MessageSchema = S('TensorShapeProto', {
  2: { name: 'dim', type: () => TensorShapeDimSchema, repeated: true },
  3: { name: 'unknownRank', type: 'bool' },
});
export const TensorProtoSchema: MessageSchema = S('TensorProto', {
  1: { name: 'dtype', type: 'enum' },
  2: { name: 'tensorShape', type: () => TensorShapeProtoSchema },
  4: { name: 'tensorContent', type: 'bytes' },
  13: { name: 'halfVal', type: 'int32', repeated: true },
  5: { name: 'floatVal', type: 'float', repeated: true },
  6: { name: 'doubleVal', type: 'double', repeated: true },
  7: { name: 'intVal', type: 'int32', repeated: true },
  8: { name: 'stringVal', type: 'bytes', repeated: true },
  9: { name: 'scomplexVal', type: 'float', repeated: true },
  10: { name: 'int64Val', type: 'int64', repeated: true },
  11: { name: 'boolVal', type: 'bool', repeated: true },
  12: { name: 'dcomplexVal', type: 'double', repeated: true },
  16: { name: 'uint32Val', type: 'uint32', repeated: true },
  17: { name: 'uint64Val', type: 'uint64', repeated: true },
});
export const NameAttrListSchema: MessageSchema = S('NameAttrList', {
  1: { name: 'name', type: 'string' },
  2: { name: 'attr', type: () => AttrValueSchema, mapKey: 'string' },
});
export const AttrListValueSchema: MessageSchema = S('AttrValue.ListValue', {
  2: { name: 's', type: 'bytes', repeated: true },
  3: { name: 'i', type: 'int64', repeated: true },
  4: { name: 'f', type: 'float', repeated: true },
  5: { name: 'b', type: 'bool', repeated: true },
  6: { name: 'type', type: 'enum', repeated: true },
  7: { name: 'shape', type: () => TensorShapeProtoSchema, repeated: true },
  8: { name: 'tensor', type: () => TensorProtoSchema, repeated: true },
  9: { name: 'func', type: () => NameAttrListSchema, repeated: true },
});
export const AttrValueSchema: MessageSchema = S('AttrValue', {
  1: { name: 'list', type: () => AttrListValueSchema },
  2: { name: 's', type: 'bytes' },
  3: { name: 'i', type: 'int64' },
  4: { name: 'f', type: 'float' },
  5: { name: 'b', type: 'bool' },
  6: { name: 'type', type: 'enum' },
  7: { name: 'shape', type: () => TensorShapeProtoSchema },
  8: { name: 'tensor', type: () => TensorProtoSchema },
  9: { name: 'placeholder', type: 'string' },
  10: { name: 'func', type: () => NameAttrListSchema },
});
export const NodeDefSchema: MessageSchema = S('NodeDef', {
  1: { name: 'name', type: 'string' },
  2: { name: 'op', type: 'string' },
  3: { name: 'input', type: 'string', repeated: true },
  4: { name: 'device', type: 'string' },
  5: { name: 'attr', type: () => AttrValueSchema, mapKey: 'string' },
});
export const ArgDefSchema: MessageSchema = S('OpDef.ArgDef', {
  1: { name: 'name', type: 'string' },
  3: { name: 'type', type: 'enum' },
  4: { name: 'typeAttr', type: 'string' },
  5: { name: 'numberAttr', type: 'string' },
  6: { name: 'typeListAttr', type: 'string' },
  16: { name: 'isRef', type: 'bool' },
});
export const AttrDefSchema: MessageSchema = S('OpDef.AttrDef', {
  1: { name: 'name', type: 'string' },
  2: { name: 'type', type: 'string' },
  3: { name: 'defaultValue', type: () => AttrValueSchema },
});
export const OpDefSchema: MessageSchema = S('OpDef', {
  1: { name: 'name', type: 'string' },
  2: { name: 'inputArg', type: () => ArgDefSchema, repeated: true },
  3: { name: 'outputArg', type: () => ArgDefSchema, repeated: true },
  4: { name: 'attr', type: () => AttrDefSchema, repeated: true },
  20: { name: 'controlOutput', type: 'string', repeated: true },
  18: { name: 'isStateful', type: 'bool' },
});
export const ArgAttrsSchema: MessageSchema = S('FunctionDef.ArgAttrs', {
  1: { name: 'attr', type: () => AttrValueSchema, mapKey: 'string' },
});
export const FunctionDefSchema: MessageSchema = S('FunctionDef', {
  1: { name: 'signature', type: () => OpDefSchema },
  5: { name: 'attr', type: () => AttrValueSchema, mapKey: 'string' },
  7: { name: 'argAttr', type: () => ArgAttrsSchema, mapKey: 'uint32' },
  3: { name: 'nodeDef', type: () => NodeDefSchema, repeated: true },
  4: { name: 'ret', type: 'string', mapKey: 'string' },
  6: { name: 'controlRet', type: 'string', mapKey: 'string' },
});
export const FunctionDefLibrarySchema: MessageSchema = S('FunctionDefLibrary', {
  1: { name: 'function', type: () => FunctionDefSchema, repeated: true },
});
export const VersionDefSchema: MessageSchema = S('VersionDef', {
  1: { name: 'producer', type: 'int32' },
  2: { name: 'minConsumer', type: 'int32' },
  3: { name: 'badConsumers', type: 'int32', repeated: true },
});
export const GraphDefSchema: MessageSchema = S('GraphDef', {
  1: { name: 'node', type: () => NodeDefSchema, repeated: true },
  2: { name: 'library', type: () => FunctionDefLibrarySchema },
  4: { name: 'versions', type: () => VersionDefSchema },
});
export const TensorInfoSchema: MessageSchema = S('TensorInfo', {
  1: { name: 'name', type: 'string' },
  4: { name: 'cooSparse', type: 'bytes' },
  5: { name: 'compositeTensor', type: 'bytes' },
  2: { name: 'dtype', type: 'enum' },
  3: { name: 'tensorShape', type: () => TensorShapeProtoSchema },
});
export const SignatureDefSchema: MessageSchema = S('SignatureDef', {
  1: { name: 'inputs', type: () => TensorInfoSchema, mapKey: 'string' },
  2: { name: 'outputs', type: () => TensorInfoSchema, mapKey: 'string' },
  3: { name: 'methodName', type: 'string' },
});
export const SaverDefSchema: MessageSchema = S('SaverDef', {
  1: { name: 'filenameTensorName', type: 'string' },
  2: { name: 'saveTensorName', type: 'string' },
  3: { name: 'restoreOpName', type: 'string' },
});
export const CollectionDefSchema: MessageSchema = S('CollectionDef', {
  1: { name: 'nodeList', type: () => S('NodeList', { 1: { name: 'value', type: 'string', repeated: true } }) },
  2: { name: 'bytesList', type: () => S('BytesList', { 1: { name: 'value', type: 'bytes', repeated: true } }) },
});
export const MetaInfoDefSchema: MessageSchema = S('MetaInfoDef', {
  1: { name: 'metaGraphVersion', type: 'string' },
  2: { name: 'strippedOpList', type: () => S('OpList', { 1: { name: 'op', type: () => OpDefSchema, repeated: true } }) },
  4: { name: 'tags', type: 'string', repeated: true },
  5: { name: 'tensorflowVersion', type: 'string' },
  6: { name: 'tensorflowGitVersion', type: 'string' },
  7: { name: 'strippedDefaultAttrs', type: 'bool' },
});
export const ObjectReferenceSchema: MessageSchema = S('ObjectReference', {
  1: { name: 'nodeId', type: 'int32' },
  2: { name: 'localName', type: 'string' },
});
export const SavedObjectSchema: MessageSchema = S('SavedObject', {
  1: { name: 'children', type: () => ObjectReferenceSchema, repeated: true },
  4: { name: 'userObject', type: () => S('SavedUserObject', { 1: { name: 'identifier', type: 'string' } }) },
  5: { name: 'asset', type: 'bytes' },
  6: { name: 'function', type: () => S('SavedFunction', { 1: { name: 'concreteFunctions', type: 'string', repeated: true } }) },
  7: {
    name: 'variable',
    type: () =>
      S('SavedVariable', {
        1: { name: 'dtype', type: 'enum' },
        2: { name: 'shape', type: () => TensorShapeProtoSchema },
        6: { name: 'name', type: 'string' },
      }),
  },
  8: { name: 'bareConcreteFunction', type: () => S('SavedBareConcreteFunction', { 1: { name: 'concreteFunctionName', type: 'string' } }) },
  9: { name: 'constant', type: () => S('SavedConstant', { 1: { name: 'operation', type: 'string' } }) },
  10: { name: 'resource', type: () => S('SavedResource', { 1: { name: 'device', type: 'string' } }) },
  12: {
    name: 'capturedTensor',
    type: () => S('CapturedTensor', { 1: { name: 'name', type: 'string' }, 2: { name: 'concreteFunction', type: 'string' } }),
  },
});
export const SavedObjectGraphSchema: MessageSchema = S('SavedObjectGraph', {
  1: { name: 'nodes', type: () => SavedObjectSchema, repeated: true },
  2: {
    name: 'concreteFunctions',
    type: () => S('SavedConcreteFunction', { 2: { name: 'boundInputs', type: 'int32', repeated: true } }),
    mapKey: 'string',
  },
});
export const MetaGraphDefSchema: MessageSchema = S('MetaGraphDef', {
  1: { name: 'metaInfoDef', type: () => MetaInfoDefSchema },
  2: { name: 'graphDef', type: () => GraphDefSchema },
  3: { name: 'saverDef', type: () => SaverDefSchema },
  4: { name: 'collectionDef', type: () => CollectionDefSchema, mapKey: 'string' },
  5: { name: 'signatureDef', type: () => SignatureDefSchema, mapKey: 'string' },
  6: {
    name: 'assetFileDef',
    type: () => S('AssetFileDef', { 1: { name: 'tensorInfo', type: () => TensorInfoSchema }, 2: { name: 'filename', type: 'string' } }),
    repeated: true,
  },
  7: { name: 'objectGraphDef', type: () => SavedObjectGraphSchema },
});
export const SavedModelSchema: MessageSchema = S('SavedModel', {
  1: { name: 'savedModelSchemaVersion', type: 'int64' },
  2: { name: 'metaGraphs', type: () => MetaGraphDefSchema, repeated: true },
});
export const BundleHeaderSchema: MessageSchema = S('BundleHeaderProto', {
  1: { name: 'numShards', type: 'int32' },
  2: { name: 'endianness', type: 'enum' },
  3: { name: 'version', type: () => VersionDefSchema },
});
export const BundleEntrySchema: MessageSchema = S('BundleEntryProto', {
  1: { name: 'dtype', type: 'enum' },
  2: { name: 'shape', type: () => TensorShapeProtoSchema },
  3: { name: 'shardId', type: 'int32' },
  4: { name: 'offset', type: 'int64' },
  5: { name: 'size', type: 'int64' },
  6: { name: 'crc32c', type: 'fixed32' },
  7: { name: 'slices', type: 'bytes', repeated: true },
});
export const TrackableObjectGraphSchema: MessageSchema = S('TrackableObjectGraph', {
  1: {
    name: 'nodes',
    type: () =>
      S('TrackableObject', {
        1: { name: 'children', type: () => ObjectReferenceSchema, repeated: true },
        2: {
          name: 'attributes',
          type: () =>
            S('SerializedTensor', {
              1: { name: 'name', type: 'string' },
              2: { name: 'fullName', type: 'string' },
              3: { name: 'checkpointKey', type: 'string' },
            }),
          repeated: true,
        },
      }),
    repeated: true,
  },
});

// ------------------------------------------------------------- decoders
export const decodeSavedModel = (b: Uint8Array): SavedModel => decodeMessage<SavedModel>(b, SavedModelSchema);
export const decodeTensorProto = (b: Uint8Array): TensorProto => decodeMessage<TensorProto>(b, TensorProtoSchema);
export const decodeBundleHeader = (b: Uint8Array): BundleHeaderProto => decodeMessage<BundleHeaderProto>(b, BundleHeaderSchema);
export const decodeBundleEntry = (b: Uint8Array): BundleEntryProto => decodeMessage<BundleEntryProto>(b, BundleEntrySchema);
export const decodeTrackableObjectGraph = (b: Uint8Array): TrackableObjectGraph =>
  decodeMessage<TrackableObjectGraph>(b, TrackableObjectGraphSchema);
