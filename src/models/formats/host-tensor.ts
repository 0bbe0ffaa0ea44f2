// The plain tensors the checkpoint readers return: a dtype, a row-major shape and a typed array.
// Structural on purpose, so the engine's own host tensor type can take these as they are.

/** bfloat16 and float16 hold their 16-bit patterns (a Uint16Array): weights kept at the checkpoint's precision. */
export type HostDType = 'float32' | 'float64' | 'int64' | 'int32' | 'uint8' | 'bool' | 'bfloat16' | 'float16';

export type HostArray = Float32Array | Float64Array | BigInt64Array | Int32Array | Uint8Array | Uint16Array;

export interface HostTensor {
  dtype: HostDType;
  shape: number[];
  /** Row-major values; `bool` is one byte per value (0 or 1), as in safetensors and ONNX. */
  data: HostArray;
  /**
   * Set by a reader asked to transpose a 2-D tensor as it reads it (checkpoint.ts): `shape` and
   * `data` are then [cols, rows] of the stored [rows, cols].
   */
  transposed?: boolean;
  /** How a float tensor was stored in its file (F32, F16, BF16, F64), set by the safetensors reader. */
  stored?: 'F32' | 'F16' | 'BF16' | 'F64';
}

/** Number of values a shape holds (1 for a scalar `[]`). */
export function shapeSize(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** A float32 host tensor; checks that `data` fits `shape`. */
export function float32Tensor(data: Float32Array, shape: number[]): HostTensor {
  if (data.length !== shapeSize(shape)) {
    throw new Error(`float32Tensor: shape [${shape}] holds ${shapeSize(shape)} values, data has ${data.length}`);
  }
  return { dtype: 'float32', shape, data };
}
