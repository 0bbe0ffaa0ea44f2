// The input model folder must come out of every command byte for byte as it went in. CLI tests
// that read a model hash it before and after with these helpers, so a command that ever writes
// into its input fails the suite.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join, relative } from 'node:path';

/** SHA-256 of every file (and the target of every symbolic link) under `root`, by relative path. */
export function hashTree(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      const st = lstatSync(p);
      if (st.isSymbolicLink()) out[relative(root, p)] = `-> ${readlinkSync(p)}`;
      else if (st.isDirectory()) walk(p);
      else out[relative(root, p)] = createHash('sha256').update(readFileSync(p)).digest('hex');
    }
  };
  const st = lstatSync(root);
  if (st.isFile()) return { '': createHash('sha256').update(readFileSync(root)).digest('hex') };
  walk(root);
  return out;
}

/** Hashes `inputs` now; the returned function asserts they are unchanged (call it at the end of the test). */
export function guardInputs(...inputs: string[]): () => void {
  const before = inputs.map((p) => hashTree(p));
  return () => {
    inputs.forEach((p, i) => assert.deepEqual(hashTree(p), before[i], `${p}: the input changed`));
  };
}

/** Runs `body` and asserts that `inputs` came out unchanged, also when `body` throws. */
export async function withInputsUnchanged<T>(inputs: string[], body: () => Promise<T> | T): Promise<T> {
  const check = guardInputs(...inputs);
  try {
    return await body();
  } finally {
    check();
  }
}
