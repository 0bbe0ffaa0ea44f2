// Where the commands' data comes from: JSON Lines question/answer files, plain text files (one
// document a line), the shipped TOFU splits and TOFU author subsets; and which prompt template
// turns a question into a prompt.

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readQaFile } from '../data/qa-files.ts';
import { LetheError } from '../engine/errors.ts';
import { isInside } from '../io/paths.ts';
import { readQaJsonl, readTextItems, readTextSet, type QaItem } from '../data/qa-dataset.ts';
import { chatTemplate, plainTemplate, templatePairs, textPairs, type PromptPair, type PromptTemplate } from '../data/templates.ts';
import { loadTofuSplit, selectTofuAuthors } from '../data/tofu.ts';
import type { Tokenizer } from '../models/tokenizer/tokenizer.ts';

export type TemplateName = 'auto' | 'plain' | 'chat';

/** TOFU's forget splits: 1, 5 or 10% of the fictitious authors. One enum for every command. */
export const FORGET_SPLITS = ['forget01', 'forget05', 'forget10'] as const;
export type ForgetSplit = (typeof FORGET_SPLITS)[number];
/** The split evaluated and attacked when none is named (TOFU's headline split). */
export const DEFAULT_FORGET_SPLIT: ForgetSplit = 'forget10';

/** 'auto': the tokenizer's chat template when it has one, else the plain "Question: …\nAnswer: " template. */
export function pickTemplate(name: TemplateName, tokenizer: Tokenizer): PromptTemplate {
  if (name === 'chat' || (name === 'auto' && tokenizer.chatTemplate !== undefined)) return chatTemplate(tokenizer);
  return plainTemplate();
}

const isJsonl = (file: string) => /\.jsonl?$/i.test(file);

/** A data file: `.jsonl` holds question/answer items, anything else is plain text with one document a line. */
export function readItems(file: string): { qa: QaItem[] } | { texts: string[] } {
  if (!existsSync(file)) throw new LetheError(`${file}: file not found`);
  return isJsonl(file) ? { qa: readQaJsonl(file) } : { texts: readTextSet(file) };
}

/** Training pairs from a data file: QA items through the template, texts as whole targets (empty prompt). */
export function pairsFromFile(file: string, template: PromptTemplate): PromptPair[] {
  if (!existsSync(file)) throw new LetheError(`${file}: file not found`);
  // Each pair keeps its file and line, so every later error names them.
  return isJsonl(file) ? templatePairs(template, readQaJsonl(file)) : textPairs(readTextItems(file));
}

/** The retain split that goes with a forget split: forget05 → retain95, forget10_perturbed → retain90. */
export function retainSplitFor(forgetSplit: string): string {
  const m = /^forget(\d\d)(_perturbed)?$/.exec(forgetSplit);
  if (!m) throw new LetheError(`"${forgetSplit}" is not a TOFU forget split (forget01, forget05, forget10)`);
  return `retain${String(100 - Number(m[1])).padStart(2, '0')}`;
}

/** The TOFU author subset as question/answer items. */
export function tofuSubset(authors: number, forgetAuthors: number) {
  return selectTofuAuthors({ authors, forget: forgetAuthors });
}

export const tofuItems = (split: string): QaItem[] => loadTofuSplit(split);

/** True when `inner` is `outer` or lies inside it (symbolic links followed; src/io's one containment rule). */
export { isInside };

/** Refuses an output folder that would write into the input model's folder (or whose model/ would replace it). */
export function checkOutsideModel(out: string, modelDir: string, flag = '--out'): void {
  if (isInside(out, modelDir)) throw new LetheError(`${flag} ${out}: is inside the input model folder ${modelDir}; lethe never writes its input (choose another folder)`);
  if (isInside(modelDir, join(out, 'model'))) throw new LetheError(`${flag} ${out}: its model/ folder would replace the input model ${modelDir}; lethe never writes its input (choose another folder)`);
}

/** Where an unlearning run's forget and retain sets come from (one forget source). */
export interface UnlearningData {
  /** A data file (.jsonl QA items or text lines) … */
  forget?: string;
  /** … or a TOFU forget split … */
  forgetSplit?: string;
  /** … or a small TOFU case: N authors, K of them forgotten, the others retained. */
  tofuAuthors?: number;
  forgetAuthors?: number;
  retain?: string;
  tofuRetain?: string;
  /** TOFU-format QA files (JSON arrays or JSON Lines), as `lethe eval --benchmark qa` reads them. */
  forgetQa?: string;
  retainQa?: string;
}

/** The forget and retain pairs of an unlearning run, through the prompt template. */
export function unlearningSets(r: UnlearningData, template: PromptTemplate): { forget: PromptPair[]; retain: PromptPair[] } {
  let forget: PromptPair[];
  let retain: PromptPair[] = [];
  if (r.tofuAuthors !== undefined) {
    const subset = tofuSubset(r.tofuAuthors, r.forgetAuthors!);
    forget = templatePairs(template, subset.forgetSet);
    retain = templatePairs(template, subset.retainSet);
  } else if (r.forgetSplit !== undefined) forget = templatePairs(template, tofuItems(r.forgetSplit));
  else if (r.forgetQa !== undefined) forget = templatePairs(template, readQaFile(r.forgetQa).items);
  else forget = pairsFromFile(r.forget!, template);
  if (r.retainQa !== undefined) retain = templatePairs(template, readQaFile(r.retainQa).items);
  else if (r.retain !== undefined) retain = pairsFromFile(r.retain, template);
  else if (r.tofuRetain !== undefined) retain = templatePairs(template, tofuItems(r.tofuRetain));
  return { forget, retain };
}

/** A refusal list, one a line (IdkDPO's preferred answers). Throws LetheError naming the file. */
export function readIdk(file: string): string[] {
  let lines: string[];
  try {
    lines = readFileSync(file, 'utf8').split('\n').map((l) => l.trim()).filter((l) => l !== '');
  } catch (err) {
    throw new LetheError(`${file}: cannot read the refusal list (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  if (lines.length === 0) throw new LetheError(`${file}: no refusals (the file is empty)`);
  return lines;
}
