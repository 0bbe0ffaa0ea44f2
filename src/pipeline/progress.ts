// How a pipeline run reports while it works, without printing anything itself: the command
// passes a terminal display (src/cli/progress.ts); a library user passes their own or nothing.

import type { Progress } from '../unlearn/loop.ts';

/** Receives a training run's progress events (one per step) and is stopped when the run ends. */
export interface ProgressDisplay {
  update(p: Progress): void;
  /** Ends the display (the last state stays visible). */
  stop(): void;
}

/** Makes a display for a run labelled `label` (e.g. "  target", "  npo"). */
export type ProgressFactory = (label: string) => ProgressDisplay;

/** Shows nothing: the default for library calls. */
export const silentProgress: ProgressFactory = () => ({ update() {}, stop() {} });

/** Runs `work` with a display made by `progress`, stopping the display however the work ends. */
export async function withProgress<T>(progress: ProgressFactory, label: string, work: (onProgress: (p: Progress) => void) => Promise<T>): Promise<T> {
  const display = progress(label);
  try {
    return await work((p) => display.update(p));
  } finally {
    display.stop();
  }
}
