// ParamBinding: one graph input per parameter on first use, prefixes, given tensors, clear errors.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LetheError } from '../../src/engine/errors.ts';
import { Graph } from '../../src/engine/graph.ts';
import { ParamBinding } from '../../src/nn/param-binding.ts';

const table = new Map([
  ['w', { dtype: 'float32' as const, shape: [2, 3], data: new Float32Array(6) }],
  ['b', { dtype: 'float32' as const, shape: [3], data: new Float32Array(3) }],
]);

test('a parameter becomes one named float32 input, created once; maybe() skips absent ones', () => {
  const g = new Graph();
  const p = new ParamBinding(g, table, { prefix: 'm.' });
  const w = p.get('w');
  assert.equal(p.get('w'), w);
  assert.equal(w.name, 'm.w');
  assert.deepEqual(w.shape, [2, 3]);
  assert.equal(p.maybe('bias'), undefined);
  assert.deepEqual([...p.tensors.keys()], ['w']);
  assert.throws(() => p.get('nope'), (err: Error) => err instanceof LetheError && err.message.includes('"nope"'));
});

test('given tensors are used instead of new inputs', () => {
  const g = new Graph();
  const first = new ParamBinding(g, table);
  const w = first.get('w');
  const second = new ParamBinding(g, table, { given: first.tensors });
  assert.equal(second.get('w'), w);
  assert.equal(g.nodes.filter((n) => n.op === 'input').length, 1);
});
