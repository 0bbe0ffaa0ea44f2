// TOFU (Maini et al. 2024), shipped in data/tofu/: 200 fictitious authors × 20 question/answer
// pairs. full.jsonl holds author k at rows 20k..20k+19; retain90 = authors 0..179 and
// forget10 = authors 180..199 (the last 20). forget01 ⊂ forget05 ⊂ forget10 are its first 2 / 10
// authors (180.., not the last ones), and retainXX = full minus forgetXX.
import { existsSync, readFileSync } from 'node:fs';
import { LetheError } from '../engine/errors.ts';
import { readQaJsonl, type QaItem } from './qa-dataset.ts';

export const TOFU_SPLITS = [
  'full',
  'forget01', 'forget05', 'forget10',
  'retain90', 'retain95', 'retain99',
  'forget01_perturbed', 'forget05_perturbed', 'forget10_perturbed',
  'retain_perturbed', 'real_authors_perturbed', 'world_facts_perturbed',
] as const;
export type TofuSplit = (typeof TOFU_SPLITS)[number];

export const TOFU_AUTHORS = 200;
export const TOFU_ROWS_PER_AUTHOR = 20;
/** First author of forget10 (and of forget01 and forget05). */
export const TOFU_FIRST_FORGET_AUTHOR = 180;
/** retain_perturbed holds the first 400 rows of full: authors 0..19. */
const RETAIN_PERTURBED_AUTHORS = 20;

/**
 * The folder of the shipped TOFU files, resolved from this module so it works from any cwd:
 * src/data/ → data/tofu/, or from the compiled dist/src/data/ one level further up.
 */
export const TOFU_DIR: URL = [new URL('../../data/tofu/', import.meta.url), new URL('../../../data/tofu/', import.meta.url)]
  .find((dir) => existsSync(new URL('full.jsonl', dir))) ?? new URL('../../data/tofu/', import.meta.url);

/** Loads a TOFU split by name; an unknown name is an error listing the known ones. */
export function loadTofuSplit(split: string): QaItem[] {
  if (!(TOFU_SPLITS as readonly string[]).includes(split)) {
    throw new LetheError(`unknown TOFU split "${split}" (known: ${TOFU_SPLITS.join(', ')})`);
  }
  return readQaJsonl(new URL(`${split}.jsonl`, TOFU_DIR));
}

/** The refusal answers of idk.txt ("I don't have that information."), for IdkDPO-style methods. */
export function loadTofuIdk(): string[] {
  return readFileSync(new URL('idk.txt', TOFU_DIR), 'utf8').split('\n').map((l) => l.trim()).filter((l) => l !== '');
}

export interface TofuSubset {
  /** The first `forget` authors of forget10, with paraphrased and perturbed answers. */
  forgetSet: QaItem[];
  /** Authors 0..retain-1 of full; those in retain_perturbed (0..19) carry its extra fields. */
  retainSet: QaItem[];
  forgetAuthors: number[];
  retainAuthors: number[];
}

/**
 * A small TOFU case: `authors` authors of which `forget` are to be forgotten, e.g.
 * `{ authors: 8, forget: 2 }` gives 120 retain rows (authors 0..5) and 40 forget rows
 * (authors 180, 181 = forget01). The target model trains on retainSet ∪ forgetSet, the
 * retain model on retainSet alone. The forget authors are forget10's first ones so that a
 * subset keeps TOFU's nesting (forget01 ⊂ forget05 ⊂ forget10) and its perturbed answers.
 */
export function selectTofuAuthors(options: { authors: number; forget: number }): TofuSubset {
  const { authors, forget } = options;
  const retain = authors - forget;
  const maxForget = TOFU_AUTHORS - TOFU_FIRST_FORGET_AUTHOR;
  if (!Number.isInteger(forget) || forget < 1 || forget > maxForget) {
    throw new LetheError(`TOFU subset: forget must be an integer from 1 to ${maxForget}, got ${forget}`);
  }
  if (!Number.isInteger(authors) || retain < 1 || retain > TOFU_FIRST_FORGET_AUTHOR) {
    throw new LetheError(
      `TOFU subset: authors must be an integer from ${forget + 1} to ${TOFU_FIRST_FORGET_AUTHOR + forget} (with forget = ${forget}), got ${authors}`,
    );
  }
  const n = TOFU_ROWS_PER_AUTHOR;
  const forgetSet = loadTofuSplit('forget10_perturbed').slice(0, forget * n);
  const retainSet = loadTofuSplit('retain90').slice(0, retain * n);
  const retainPerturbed = loadTofuSplit('retain_perturbed');
  for (let i = 0; i < Math.min(retain, RETAIN_PERTURBED_AUTHORS) * n; i++) {
    // retain_perturbed row i is retain90 row i with the extra fields.
    if (retainPerturbed[i].question !== retainSet[i].question) {
      throw new LetheError(`TOFU data: retain_perturbed.jsonl row ${i + 1} does not match retain90.jsonl row ${i + 1}`);
    }
    retainSet[i] = retainPerturbed[i];
  }
  const range = (from: number, count: number): number[] => Array.from({ length: count }, (_, i) => from + i);
  return {
    forgetSet,
    retainSet,
    forgetAuthors: range(TOFU_FIRST_FORGET_AUTHOR, forget),
    retainAuthors: range(0, retain),
  };
}

/** The author of row `row` of full.jsonl. */
export function tofuAuthorOf(row: number): number {
  return Math.floor(row / TOFU_ROWS_PER_AUTHOR);
}
