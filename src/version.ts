// The version of lethe, from package.json: one folder up from src/, two from the compiled
// dist/src/.
import { existsSync, readFileSync } from 'node:fs';

const pkgUrl = [new URL('../package.json', import.meta.url), new URL('../../package.json', import.meta.url)]
  .find((u) => existsSync(u)) ?? new URL('../package.json', import.meta.url);

export const LETHE_VERSION: string = (JSON.parse(readFileSync(pkgUrl, 'utf8')) as { version: string }).version;
