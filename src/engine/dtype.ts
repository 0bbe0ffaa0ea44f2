// Element types the engine knows, their typed arrays and their ONNX codes.
//
// bfloat16 and float16 are storage types: frozen weights kept at a checkpoint's precision (half
// the bytes of float32), held as their 16-bit patterns in a Uint16Array and cast to float32 inside
// the graph before any arithmetic (the upcast is exact). They are not "float" for autodiff: no
// gradient flows into them.

export type DType = 'float32' | 'float64' | 'int64' | 'int32' | 'bool' | 'bfloat16' | 'float16';

export type TypedArray = Float32Array | Float64Array | BigInt64Array | Int32Array | Uint8Array | Uint16Array;

export interface DTypeInfo {
  onnx: number; // TensorProto.DataType
  bytes: number;
  float: boolean;
  array: new (n: number) => TypedArray;
}

export const DTYPES: Record<DType, DTypeInfo> = {
  float32: { onnx: 1, bytes: 4, float: true, array: Float32Array },
  float64: { onnx: 11, bytes: 8, float: true, array: Float64Array },
  int64: { onnx: 7, bytes: 8, float: false, array: BigInt64Array },
  int32: { onnx: 6, bytes: 4, float: false, array: Int32Array },
  bool: { onnx: 9, bytes: 1, float: false, array: Uint8Array },
  bfloat16: { onnx: 16, bytes: 2, float: false, array: Uint16Array },
  float16: { onnx: 10, bytes: 2, float: false, array: Uint16Array },
};

/** Whether `d` is a 16-bit storage type (bfloat16, float16): cast to float32 before use. */
export const isHalf = (d: DType): boolean => d === 'bfloat16' || d === 'float16';

export const isFloat = (d: DType): boolean => DTYPES[d].float;

/** A tensor's values on the host: what programs take and return. `data` is row-major. */
export interface HostTensor {
  dtype: DType;
  shape: number[];
  data: TypedArray;
}

export function zerosHost(dtype: DType, shape: number[]): HostTensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return { dtype, shape, data: new DTYPES[dtype].array(n) };
}
