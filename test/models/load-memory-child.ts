// Child of load-memory.test.ts: loads the model folder argv[2] in a fresh process and prints
// {before, peak, held} in bytes: resident memory before loading, the process's high-water mark
// after, and the bytes of the float32 parameters the loaded model holds.
import { readFileSync } from 'node:fs';
import { loadModel } from '../../src/models/load-model.ts';

const kib = (key: string) => Number(new RegExp(`${key}:\\s+(\\d+) kB`).exec(readFileSync('/proc/self/status', 'utf8'))![1]) * 1024;
const before = kib('VmRSS');
const model = await loadModel(process.argv[2], { checkFinite: false });
let held = 0;
for (const t of model.params.values()) held += t.data.byteLength;
console.log(JSON.stringify({ before, peak: kib("VmHWM"), held }));
