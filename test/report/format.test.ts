import { test } from 'node:test';
import assert from 'node:assert/strict';
import { escapeHtml, formatCount, formatNumber, formatSeconds, jsonForScript } from '../../src/report/format.ts';

test('numbers read at a glance', () => {
  assert.equal(formatNumber(4e-25, 'scientific'), '4.0e-25');
  assert.equal(formatNumber(1e-239, 'scientific'), '1.0e-239');
  assert.equal(formatNumber(1, 'scientific'), '1.0e+0');
  assert.equal(formatNumber(0, 'scientific'), '0');
  assert.equal(formatNumber(0.63429, 'fixed'), '0.634');
  assert.equal(formatNumber(0, 'fixed'), '0.000');
  assert.equal(formatNumber(0.00012, 'fixed'), '1.20e-4');
  assert.equal(formatNumber(-99.84, 'signed'), '−99.8');
  assert.equal(formatNumber(3.25, 'signed'), '+3.3');
  assert.equal(formatNumber(0, 'signed'), '0.0');
  assert.equal(formatNumber(0.834, 'percent'), '83%');
  assert.equal(formatNumber(-0.004, 'percent'), '0%');
  assert.equal(formatNumber(-0.05, 'percent'), '-5%');
  assert.equal(formatSeconds(4.5), '4.50 s');
  assert.equal(formatSeconds(42.25), '42.3 s');
  assert.equal(formatSeconds(245), '4 min 05 s');
  assert.equal(formatSeconds(7380), '2 h 03 min');
  assert.equal(formatCount(950), '950');
  assert.equal(formatCount(12_345), '12.3 k');
  assert.equal(formatCount(1.3e15), '1.30 P');
});

test('escaping covers element text and quoted attributes', () => {
  assert.equal(escapeHtml(`<a href="x" title='y'>&</a>`), '&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;');
});

test('JSON for a script element cannot close it, and parses back unchanged', () => {
  const data = { name: '</script><!-- & \u2028' };
  const text = jsonForScript(data);
  assert.ok(!/[<>&\u2028]/.test(text));
  assert.deepEqual(JSON.parse(text), data);
});
