// Test helpers: safetensors files assembled by hand, so a test can write any header, valid or
// not, independently of the writer under test.
import assert from 'node:assert/strict';
import { LetheError } from '../../../src/engine/errors.ts';
import type { HostTensor } from '../../../src/models/formats/host-tensor.ts';

/** u64 LE length + header (JSON-encoded unless already a string or bytes) + data. */
export function rawSafetensors(header: unknown, data: Uint8Array = new Uint8Array(0), length?: bigint): Uint8Array {
  const json = header instanceof Uint8Array ? header : Buffer.from(typeof header === 'string' ? header : JSON.stringify(header), 'utf8');
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(length ?? BigInt(json.byteLength));
  return new Uint8Array(Buffer.concat([prefix, json, data]));
}

/** Runs `fn` and checks it throws a LetheError whose message names `file` (and matches `pattern`). */
export function assertLetheError(fn: () => unknown, file: string, pattern?: RegExp): LetheError {
  try {
    fn();
  } catch (err) {
    if (!(err instanceof LetheError)) throw new assert.AssertionError({ message: `expected a LetheError, got ${String(err)}` });
    assert.ok(err.message.includes(file), `message does not name ${file}: ${err.message}`);
    if (pattern) assert.match(err.message, pattern);
    return err;
  }
  assert.fail(`expected a LetheError${pattern ? ` matching ${pattern}` : ''}, nothing was thrown`);
}

export async function assertRejectsLethe(promise: Promise<unknown>, file: string, pattern?: RegExp): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof LetheError, `expected a LetheError, got ${String(err)}`);
    assert.ok(err.message.includes(file), `message does not name ${file}: ${err.message}`);
    if (pattern) assert.match(err.message, pattern);
    return true;
  });
}

/** The raw bytes of a tensor's data, for bit-exact comparisons (NaN payloads included). */
export const bytesOf = (t: HostTensor): Uint8Array => new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
