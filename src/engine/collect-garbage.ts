// A full V8 garbage collection on demand, for the places that make large temporary arrays one
// after another (onnxruntime-node's copies of outputs, a model's weights converted as they are
// written): V8 frees an ArrayBuffer's memory only when it collects, which may come long after
// gigabytes of such garbage have piled up.

import v8 from 'node:v8';
import vm from 'node:vm';

let collector: (() => void) | undefined;

/** Runs a full collection (about 5-20 ms with lethe's heap). */
export function collectGarbage(): void {
  if (!collector) {
    // V8's gc() is reachable in a new context once the flag is set (no --expose-gc at start).
    v8.setFlagsFromString('--expose-gc');
    collector = vm.runInNewContext('gc') as () => void;
  }
  collector();
}
