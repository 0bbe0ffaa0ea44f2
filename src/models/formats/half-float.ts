// IEEE half (F16) and bfloat16 (BF16) to and from float32, on whole arrays.
//
// Decoding F16 goes through a 65536-entry table of float32 bit patterns (256 KiB, built once);
// BF16 is the top half of a float32, so decoding is a 16-bit shift. Encoding rounds to nearest,
// ties to even, as numpy's astype(float16) and torch's .to(bfloat16) do, so a file written here
// holds the same bits PyTorch would write. NaN stays NaN (quiet), ±Inf stays ±Inf, F16 overflow
// (|x| ≥ 65520) becomes ±Inf and values below half the smallest subnormal (2⁻²⁵) become ±0.

import { f16ToF32Table, widenInto } from '../../engine/dtype.ts';

/** F16 bit patterns → float32 values. */
export function f16ToF32(half: Uint16Array): Float32Array {
  const out = new Float32Array(half.length);
  widenInto({ dtype: 'float16', shape: [half.length], data: half }, out);
  return out;
}

/** BF16 bit patterns → float32 values (the bits are the float32's upper half). */
export function bf16ToF32(half: Uint16Array): Float32Array {
  const out = new Float32Array(half.length);
  widenInto({ dtype: 'bfloat16', shape: [half.length], data: half }, out);
  return out;
}

/**
 * A stored float matrix [rows, cols] (F32, F16 or BF16 bits in `src`) → float32 `out`, either
 * as stored or transposed to [cols, rows]: decode and transpose in one pass, so loading needs no
 * intermediate float32 copy of the tensor.
 */
export function decodeFloatsInto(kind: 'F32' | 'F16' | 'BF16', src: Uint16Array | Float32Array, out: Float32Array, rows: number, cols: number, transpose: boolean): void {
  const bits = new Uint32Array(out.buffer, out.byteOffset, out.length);
  if (kind === 'F32') {
    const f = src as Float32Array;
    if (!transpose) out.set(f);
    else for (let r = 0; r < rows; r++) for (let c = 0, base = r * cols; c < cols; c++) out[c * rows + r] = f[base + c];
    return;
  }
  const h = src as Uint16Array;
  if (kind === 'BF16') {
    if (!transpose) for (let i = 0; i < h.length; i++) bits[i] = h[i] << 16;
    else for (let r = 0; r < rows; r++) for (let c = 0, base = r * cols; c < cols; c++) bits[c * rows + r] = h[base + c] << 16;
    return;
  }
  const table = f16ToF32Table();
  if (!transpose) for (let i = 0; i < h.length; i++) bits[i] = table[h[i]];
  else for (let r = 0; r < rows; r++) for (let c = 0, base = r * cols; c < cols; c++) bits[c * rows + r] = table[h[base + c]];
}

/** One float32 bit pattern → F16 bits, round to nearest even. */
function f32BitsToF16(bits: number): number {
  const sign = (bits >>> 16) & 0x8000;
  const abs = bits & 0x7fffffff;
  if (abs > 0x7f800000) return sign | 0x7e00 | ((abs >>> 13) & 0x3ff); // NaN, kept quiet
  if (abs >= 0x47800000) return sign | 0x7c00; // ≥ 65536 (and Inf): Inf
  const exp = abs >>> 23;
  if (exp < 113) {
    // F16 subnormal (or zero): value = m · 2⁻²⁴ with m = mantissa(with implicit 1) >> (126 - exp)
    if (exp < 102) return sign; // below 2⁻²⁵: rounds to zero
    const m = (abs & 0x7fffff) | 0x800000;
    const shift = 126 - exp;
    let h = m >>> shift;
    const rest = m & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    if (rest > halfway || (rest === halfway && (h & 1) === 1)) h++;
    return sign | h; // h may carry into 0x400, the smallest normal: still the right bits
  }
  let h = ((exp - 112) << 10) | ((abs >>> 13) & 0x3ff);
  const rest = abs & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && (h & 1) === 1)) h++; // a carry may reach 0x7c00 = Inf
  return sign | h;
}

/** float32 values → F16 bit patterns. */
export function f32ToF16(values: Float32Array): Uint16Array {
  const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = f32BitsToF16(bits[i]);
  return out;
}

/** float32 values → BF16 bit patterns: add 0x7fff plus the kept part's lowest bit, keep the top. */
export function f32ToBf16(values: Float32Array): Uint16Array {
  const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const b = bits[i];
    out[i] = (b & 0x7fffffff) > 0x7f800000 ? (b >>> 16) | 0x40 : (b + 0x7fff + ((b >>> 16) & 1)) >>> 16;
  }
  return out;
}
