// A run folder's config.yaml: the fully resolved options of the command (or library call) that
// made the run, so a run can be resumed and a report can name what was asked.

import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { writeFileAtomic } from '../models/formats/write-file-atomic.ts';
import { LETHE_VERSION } from '../version.ts';

export const CONFIG_FILE = 'config.yaml';

/** Writes the fully resolved options to `runDir/config.yaml` (atomically), with the command and version. */
export async function writeResolvedConfig(runDir: string, command: string, resolved: object): Promise<string> {
  await mkdir(runDir, { recursive: true });
  const path = join(runDir, CONFIG_FILE);
  const body = JSON.parse(JSON.stringify(resolved)) as Record<string, unknown>; // drops undefined
  await writeFileAtomic(path, `# lethe ${command}: the options of this run, every default applied (options added since 0.1 appear only when set: gradientCheckpointing, optimizerState)\n` + stringify({ command, lethe: LETHE_VERSION, ...body }));
  return path;
}
