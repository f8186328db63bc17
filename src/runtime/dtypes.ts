/** TF.js dtypes a served tensor can have. */
export type TensorDType = 'float32' | 'int32' | 'bool' | 'string';

const FROM_TF: Record<string, TensorDType> = {
  DT_FLOAT: 'float32',
  DT_DOUBLE: 'float32',
  DT_HALF: 'float32',
  DT_BFLOAT16: 'float32',
  DT_INT32: 'int32',
  DT_INT64: 'int32',
  DT_INT16: 'int32',
  DT_INT8: 'int32',
  DT_UINT8: 'int32',
  DT_UINT16: 'int32',
  DT_UINT32: 'int32',
  DT_BOOL: 'bool',
  DT_STRING: 'string',
};

const TO_TF: Record<TensorDType, string> = { float32: 'DT_FLOAT', int32: 'DT_INT32', bool: 'DT_BOOL', string: 'DT_STRING' };

/** TF's `DT_*` name → the TF.js dtype it runs as (TF.js has no int64/uint8/float64: they map as the converter maps them). */
export function dtypeFromTf(tfDtype: string | undefined): TensorDType | undefined {
  if (!tfDtype) return undefined;
  return FROM_TF[tfDtype];
}

export function dtypeToTf(dtype: TensorDType): string {
  return TO_TF[dtype];
}

export function isTensorDType(x: unknown): x is TensorDType {
  return x === 'float32' || x === 'int32' || x === 'bool' || x === 'string';
}
