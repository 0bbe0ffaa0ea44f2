// The finiteness scan finds the first NaN/±Inf wherever it is (chunk edges included) and never
// reports finite values, however large.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { firstNonFinite } from '../../src/io/finite.ts';

test('firstNonFinite: index of the first NaN or ±Inf, -1 for finite data', () => {
  const n = (1 << 16) * 3 + 7;
  const a = new Float32Array(n).fill(3.4e38); // large finite values: their float64 sum stays finite
  assert.equal(firstNonFinite(a), -1);
  for (const [i, v] of [[0, NaN], [65535, Infinity], [65536, -Infinity], [n - 1, NaN], [131072 + 5, NaN]] as const) {
    const b = a.slice();
    b[i] = v;
    assert.equal(firstNonFinite(b), i);
  }
  const c = a.slice();
  c[10] = Infinity;
  c[20] = -Infinity; // sums to NaN: still found at the first
  assert.equal(firstNonFinite(c), 10);
  assert.equal(firstNonFinite(Float64Array.of(1, 1e308, 1e308)), -1);
  assert.equal(firstNonFinite(Float64Array.of(1, 2, NaN)), 2);
  assert.equal(firstNonFinite(Int32Array.of(1, 2)), -1);
  assert.equal(firstNonFinite(new Float32Array(0)), -1);
});
