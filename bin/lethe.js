#!/usr/bin/env node
// The `lethe` command. In a checkout (src/ and tsx present) it runs the TypeScript sources
// through tsx, so an edit shows at once; an installed package runs the compiled dist/.
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

const source = new URL('../src/cli/main.ts', import.meta.url);
const compiled = fileURLToPath(new URL('../dist/src/cli/main.js', import.meta.url));
let tsx = null;
if (existsSync(source)) {
  try {
    tsx = await import('tsx/esm/api');
  } catch {
    tsx = null; // no dev dependencies: use the build
  }
}
if (tsx) {
  tsx.register();
  await import(source.href);
} else if (existsSync(compiled)) {
  await import(pathToFileURL(compiled).href);
} else {
  process.stderr.write('lethe: no build found (dist/src/cli/main.js); run `npm run build`\n');
  process.exitCode = 2;
}
