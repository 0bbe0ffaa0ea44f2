// The layered option reading lives in src/pipeline/options/layers.ts (the library uses it too);
// here only the command line's own layer, read from commander.

import type { Command } from 'commander';
import { resolvePaths, type Layer } from '../pipeline/options/layers.ts';

export * from '../pipeline/options/layers.ts';

/** The flags given on the command line (not commander's defaults); `pathKeys` are resolved against the working folder. */
export function flagLayer(command: Command, pathKeys: readonly string[] = []): Layer {
  const values: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(command.opts())) {
    if (command.getOptionValueSource(key) === 'cli') values[key] = value;
  }
  delete values.config;
  return { source: 'flags', values: resolvePaths(values, pathKeys, process.cwd()) };
}
