import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bf16ToF32, f16ToF32, f32ToBf16, f32ToF16 } from '../../../src/models/formats/half-float.ts';

const f16 = (x: number) => f32ToF16(new Float32Array([x]))[0];
const bf16 = (x: number) => f32ToBf16(new Float32Array([x]))[0];

test('F16 encoding rounds to nearest even, overflows to Inf and underflows to zero', () => {
  const cases: [number, number][] = [
    [1.0, 0x3c00],
    [-2.5, 0xc100],
    [65504, 0x7bff], // largest finite half
    [65519.99, 0x7bff], // just below the halfway point to 65536
    [65520, 0x7c00], // halfway, odd mantissa: rounds up to Inf
    [1e6, 0x7c00],
    [1e-8, 0x0000], // below 2^-25: zero
    [-1e-8, 0x8000],
    [2 ** -24, 0x0001], // smallest subnormal
    [2 ** -25, 0x0000], // exactly half of it: ties to even (0)
    [1.5 * 2 ** -25, 0x0001],
    [3 * 2 ** -25, 0x0002], // 1.5 subnormal steps: ties to even (2)
    [2 ** -14, 0x0400], // smallest normal
    [0.1, 0x2e66],
    [1 + 2 ** -11, 0x3c00], // tie between 1 and 1 + 2^-10: even
    [1 + 3 * 2 ** -11, 0x3c02], // tie, odd below: up
    [1 / 3, 0x3555],
    [-0, 0x8000],
    [Infinity, 0x7c00],
    [-Infinity, 0xfc00],
  ];
  for (const [x, bits] of cases) assert.equal(f16(x), bits, `f16(${x})`);
  const nan = f16(NaN);
  assert.equal(nan & 0x7c00, 0x7c00);
  assert.notEqual(nan & 0x3ff, 0, 'NaN keeps a non-zero mantissa');
});

test('F16 decoding gives the exact values, and every non-NaN pattern round-trips', () => {
  const decoded = f16ToF32(new Uint16Array([0x3c00, 0xc100, 0x7bff, 0x0001, 0x0400, 0x7c00, 0xfc00, 0x8000, 0x3555]));
  assert.deepEqual([...decoded], [1, -2.5, 65504, 2 ** -24, 2 ** -14, Infinity, -Infinity, -0, 0.333251953125]);
  assert.ok(Object.is(decoded[7], -0));
  assert.ok(Number.isNaN(f16ToF32(new Uint16Array([0x7e00]))[0]));
  const all = new Uint16Array(65536).map((_, i) => i);
  const back = f32ToF16(f16ToF32(all));
  for (let h = 0; h < 65536; h++) {
    const isNaN = (h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0;
    if (isNaN) assert.ok(Number.isNaN(f16ToF32(new Uint16Array([back[h]]))[0]));
    else if (back[h] !== h) assert.fail(`pattern 0x${h.toString(16)} came back as 0x${back[h].toString(16)}`);
  }
});

test('BF16 encoding rounds to nearest even', () => {
  const cases: [number, number][] = [
    [1.0, 0x3f80],
    [-2.5, 0xc020],
    [1 + 2 ** -8, 0x3f80], // exactly halfway between 0x3f80 and 0x3f81: even (down)
    [1 + 3 * 2 ** -8, 0x3f82], // halfway between 0x3f81 and 0x3f82: even (up)
    [1 + 2 ** -8 + 2 ** -20, 0x3f81], // just above halfway: up
    [65504, 0x4780], // 65536: BF16 has 8 mantissa bits
    [1e-8, 0x322c],
    [0.1, 0x3dcd],
    [3.4028234663852886e38, 0x7f80], // float32 max rounds to Inf
    [Infinity, 0x7f80],
    [-Infinity, 0xff80],
  ];
  for (const [x, bits] of cases) assert.equal(bf16(x), bits, `bf16(${x})`);
  const nan = bf16(NaN);
  assert.equal(nan & 0x7f80, 0x7f80);
  assert.notEqual(nan & 0x7f, 0, 'NaN stays NaN, not Inf');
  // A NaN whose payload sits only in the low 16 bits must not turn into Inf.
  const lowNaN = new Float32Array(new Uint32Array([0x7f800001]).buffer);
  assert.ok(Number.isNaN(bf16ToF32(f32ToBf16(lowNaN))[0]));
});

test('BF16 decoding is the upper half of a float32', () => {
  assert.deepEqual([...bf16ToF32(new Uint16Array([0x3f80, 0xc020, 0x4780, 0x7f80, 0x0001]))], [1, -2.5, 65536, Infinity, 2 ** -133]);
  const all = new Uint16Array(65536).map((_, i) => i);
  const back = f32ToBf16(bf16ToF32(all));
  for (let h = 0; h < 65536; h++) {
    const isNaN = (h & 0x7f80) === 0x7f80 && (h & 0x7f) !== 0;
    if (!isNaN && back[h] !== h) assert.fail(`pattern 0x${h.toString(16)} came back as 0x${back[h].toString(16)}`);
  }
});
