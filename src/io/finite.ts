// Finiteness of numbers read from disk (model weights, checkpoints). The scan sums a chunk in
// float64 with no branch per element (a NaN or ±Inf makes the sum non-finite, and float32
// values cannot overflow a float64 sum of a chunk), and only a non-finite chunk is searched
// element by element.

type FloatArray = Float32Array | Float64Array;

const CHUNK = 1 << 16;

/** Index of the first NaN or ±Inf in `data`, or -1; integer arrays are always finite. */
export function firstNonFinite(data: ArrayLike<number> | ArrayBufferView): number {
  if (!(data instanceof Float32Array) && !(data instanceof Float64Array)) return -1;
  const a: FloatArray = data;
  const n = a.length;
  // Float64 values may overflow a sum of finite values, so for them every element is tested.
  if (a instanceof Float64Array) {
    for (let i = 0; i < n; i++) if (!Number.isFinite(a[i])) return i;
    return -1;
  }
  for (let start = 0; start < n; start += CHUNK) {
    const end = Math.min(n, start + CHUNK);
    let s = 0;
    for (let i = start; i < end; i++) s += a[i];
    if (s - s !== 0) for (let i = start; i < end; i++) if (a[i] - a[i] !== 0) return i;
  }
  return -1;
}

/**
 * Index of the first NaN or ±Inf among 16-bit float patterns (bfloat16: exponent mask 0x7f80;
 * float16: 0x7c00), or -1: a pattern is non-finite when its exponent bits are all set.
 */
export function firstNonFiniteHalf(bits: Uint16Array, exponentMask: 0x7f80 | 0x7c00): number {
  for (let i = 0; i < bits.length; i++) if ((bits[i] & exponentMask) === exponentMask) return i;
  return -1;
}
