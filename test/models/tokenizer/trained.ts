// Shared by tokenizer and data tests: a byte-level BPE tokenizer trained on TOFU's full set
// (about a third of a second), made once per test process.
import { loadTofuSplit } from '../../../src/data/tofu.ts';
import { trainTokenizer } from '../../../src/models/tokenizer/train-tokenizer.ts';
import type { Tokenizer } from '../../../src/models/tokenizer/tokenizer.ts';

export function tofuTexts(): string[] {
  return loadTofuSplit('full').flatMap((item) => [item.question, item.answer]);
}

let cached: Tokenizer | undefined;
export function tofuTokenizer(): Tokenizer {
  cached ??= trainTokenizer(tofuTexts(), { vocabSize: 2000 });
  return cached;
}
