/**
 * A run's `log.jsonl`: one JSON object a line, either a training step
 * `{"step", "loss", "forgetLoss", "retainLoss", "lr", "gradNorm", "tokensPerSecond"}` or, at
 * evaluation steps, `{"step", "eval": {"forgetProb", "retainProb", …}}`. Losses may be null: a
 * NaN written by JSON.stringify (a diverged step) reads back as null.
 *
 * A last line that does not parse is the mark of a run killed (or out of disk space) mid-write
 * and is dropped; any other bad line is an error naming the file and line.
 */
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { LetheError } from '../engine/errors.ts';

const value = z.number().nullable();
const step = z.number().int().nonnegative();

const trainLineSchema = z.looseObject({
  step,
  loss: value,
  forgetLoss: value.optional(),
  retainLoss: value.optional(),
  lr: value.optional(),
  gradNorm: value.optional(),
  tokensPerSecond: value.optional(),
});
const evalLineSchema = z.looseObject({ step, eval: z.record(z.string(), value) });

export type TrainLine = z.infer<typeof trainLineSchema>;
export interface EvalLine {
  step: number;
  eval: Record<string, number | null>;
}
export interface RunLog {
  train: TrainLine[];
  eval: EvalLine[];
}

/** Parses the text of a log.jsonl; `file` names it in errors. */
export function parseLog(text: string, file: string): RunLog {
  const log: RunLog = { train: [], eval: [] };
  const lines = text.split('\n');
  // The last non-empty line may be cut (a kill or a full disk during the append, even if a
  // newline made it to disk): it alone is dropped when it does not parse.
  let last = lines.length - 1;
  while (last > 0 && lines[last].trim() === '') last--;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (line === '') continue;
    const where = `${file}:${i + 1}`;
    let json: unknown;
    try {
      json = JSON.parse(line);
    } catch (err) {
      if (i === last) break; // cut by a killed run or a full disk
      throw new LetheError(`${where}: not valid JSON (${(err as Error).message})`);
    }
    const isEval = typeof json === 'object' && json !== null && 'eval' in json;
    const result = (isEval ? evalLineSchema : trainLineSchema).safeParse(json);
    if (!result.success) {
      const issue = result.error.issues[0];
      const field = issue.path.map(String).join('.') || '(line)';
      throw new LetheError(`${where}: ${field}: ${issue.input === undefined ? 'missing (required)' : issue.message}`);
    }
    if (isEval) log.eval.push(result.data as EvalLine);
    else log.train.push(result.data as TrainLine);
  }
  return log;
}

/** Reads a log.jsonl; undefined when the file does not exist (a run may have none). */
export async function readLog(path: string): Promise<RunLog | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    throw new LetheError(`${path}: cannot read the file (${code})`);
  }
  return parseLog(text, path);
}
