// The one-line summaries the commands print when a run ends.

import type { LoopResult } from '../unlearn/loop.ts';
import { formatDuration } from './progress.ts';

const num = (x: unknown) => (typeof x === 'number' ? (Math.abs(x) >= 1e4 || (x !== 0 && Math.abs(x) < 1e-3) ? x.toExponential(3) : x.toFixed(4)) : String(x));

/**
 * "40 steps in 0:12 (2200 tok/s), final loss 0.4567 (forgetLoss …); resumed from step 20;
 * stopped early: …". `last` is the last training line of log.jsonl (its losses).
 */
export function describeRun(loop: LoopResult, last: Record<string, unknown> | null): string {
  const parts: string[] = [];
  const ran = loop.steps - (loop.resumedFrom ?? 0);
  parts.push(`${loop.steps} step${loop.steps === 1 ? '' : 's'}${loop.resumedFrom !== null ? ` (${Math.max(0, ran)} run now, resumed from step ${loop.resumedFrom})` : ''} in ${formatDuration(loop.wallSeconds)}`);
  if (loop.tokens > 0 && loop.wallSeconds > 0) parts[0] += ` (${Math.round(loop.tokens / loop.wallSeconds)} tok/s)`;
  if (last) {
    const losses = Object.entries(last).filter(([k]) => k !== 'loss' && k.endsWith('Loss')).map(([k, v]) => `${k} ${num(v)}`);
    parts.push(`final loss ${num(last.loss)}${losses.length ? ` (${losses.join(', ')})` : ''}`);
  }
  if (loop.bestStep !== null) parts.push(`best step ${loop.bestStep} (score ${num(loop.bestScore)})`);
  parts.push(loop.stopped === 'done' ? 'completed' : `stopped early: ${loop.reason ?? loop.stopped}`);
  return parts.join(', ');
}
