import { LetheError } from './errors.ts';

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

let f16Table: Uint32Array | undefined;

/** float32 bit patterns of all 65536 F16 patterns (256 KiB, built once): F16 decodes by lookup. */
export function f16ToF32Table(): Uint32Array {
  if (f16Table) return f16Table;
  const table = new Uint32Array(65536);
  const asFloat = new Float32Array(table.buffer);
  for (let h = 0; h < 65536; h++) {
    const sign = (h & 0x8000) << 16;
    const exp = (h >>> 10) & 0x1f;
    const mant = h & 0x3ff;
    if (exp === 0x1f) table[h] = (sign | 0x7f800000 | (mant << 13)) >>> 0; // Inf, NaN (payload kept)
    else if (exp !== 0) table[h] = (sign | ((exp + 112) << 23) | (mant << 13)) >>> 0;
    else asFloat[h] = (sign ? -1 : 1) * mant * 2 ** -24; // zero and subnormals: exact in float32
  }
  f16Table = table;
  return table;
}

/**
 * A float32, bfloat16 or float16 tensor's values written into `out` as float32 (exact: BF16 is a
 * float32's upper half, every F16 value is a float32). Throws LetheError for other dtypes or a
 * length mismatch.
 */
export function widenInto(src: HostTensor, out: Float32Array): void {
  if (src.data.length !== out.length) throw new LetheError(`widen: ${src.data.length} values into ${out.length}`);
  if (src.dtype === 'float32') {
    out.set(src.data as Float32Array);
    return;
  }
  if (!isHalf(src.dtype)) throw new LetheError(`widen: ${src.dtype} is not a float storage type`);
  const h = src.data as Uint16Array;
  const bits = new Uint32Array(out.buffer, out.byteOffset, out.length);
  if (src.dtype === 'bfloat16') for (let i = 0; i < h.length; i++) bits[i] = h[i] << 16;
  else {
    const table = f16ToF32Table();
    for (let i = 0; i < h.length; i++) bits[i] = table[h[i]];
  }
}
