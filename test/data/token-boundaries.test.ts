// Issue 12 item 1: a (prompt, answer) pair is tokenised as the whole text and split at the
// prompt's character boundary. For every tokenizer family lethe reads and for the chat and the
// plain template, over many random question/answer pairs: the item's ids are the ids of the
// whole text (prompt ids + answer ids == whole ids), an independent implementation gives the same
// ids (Hugging Face's Rust tokenizers; for llama2.c's tokenizer.bin, with and without byte
// pieces, the line-by-line port of run.c's encode in families.ts), and the split point is the one
// its character spans give (the first token ending after the boundary, or straddling it, starts
// the answer).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Tokenizer as RustTokenizer } from 'tokenizers';
import { encodePair, generationPrompt, trimCompletion } from '../../src/data/batches.ts';
import { chatTemplate, plainTemplate, type PromptTemplate } from '../../src/data/templates.ts';
import type { Tokenizer } from '../../src/models/tokenizer/tokenizer.ts';
import { gpt2, llama2c, llama2cNoBytes, llama2Legacy, llama2Metaspace, llama3, qwen2, runCEncode, type Family } from '../models/tokenizer/families.ts';

const tokens = (tokenizer: Tokenizer, ids: number[]) => ids.map((id) => tokenizer.idToToken(id));

test('the issue 12 case: ("What is the capital of France?", "Paris") under the Llama 2 chat template', () => {
  const { tokenizer } = llama2Legacy();
  const template = chatTemplate(tokenizer);
  const pair = template.pair('What is the capital of France?', 'Paris');
  assert.deepEqual(pair, { prompt: '<s>[INST] What is the capital of France? [/INST]', target: ' Paris </s>' });
  const item = encodePair(tokenizer, pair, template);
  const whole = tokenizer.encode(pair.prompt + pair.target, { addSpecialTokens: false });
  // The conversation as a whole ends in ▁Par | is | ▁ | </s>: that is the answer, not ▁ | ▁Par | ...
  assert.deepEqual(tokens(tokenizer, whole.slice(-4)), ['\u2581Par', 'is', '\u2581', '</s>']);
  assert.deepEqual(item.ids, whole);
  assert.deepEqual(tokens(tokenizer, item.ids.slice(item.promptLength)), ['\u2581Par', 'is', '\u2581', '</s>']);
  assert.deepEqual(tokens(tokenizer, item.ids.slice(0, item.promptLength)), tokens(tokenizer, tokenizer.encode(pair.prompt, { addSpecialTokens: false })));
  // What separate tokenisation gave (the bug): the answer gains a lone ▁ the model never sees.
  assert.deepEqual(tokens(tokenizer, tokenizer.encode(pair.target, { addSpecialTokens: false })), ['\u2581', '\u2581Par', 'is', '\u2581', '</s>']);
});

test('the issue 12 case under the plain template: the prompt keeps "Answer:", the answer starts with ▁Par (it straddles the space)', () => {
  const { tokenizer } = llama2Legacy();
  const template = plainTemplate();
  const pair = template.pair('What is the capital of France?', 'Paris');
  const item = encodePair(tokenizer, pair, template);
  assert.deepEqual(item.ids, [...tokenizer.encode(pair.prompt + pair.target), tokenizer.eosId]);
  assert.deepEqual(tokens(tokenizer, item.ids.slice(item.promptLength)), ['\u2581Par', 'is', '</s>']);
  assert.deepEqual(tokens(tokenizer, item.ids.slice(item.promptLength - 3, item.promptLength)), ['<0x0A>', 'Answer', ':']);
  assert.equal(item.ids[0], tokenizer.bosId);
});

/** Question/answer text: words, spaces (leading, trailing, doubled), newlines, tabs, punctuation, accents (composed and not), CJK, emoji, a literal ▁. */
const piece = fc.constantFrom(
  'a', 'b', 'e', 'the', 'The', 'Par', 'is', 'Paris', 'capital', 'of', 'What', 'Who', 'born', 'wrote', '1956', '7', '42',
  ' ', ' ', ' ', '  ', '\n', '\n\n', '\t', '.', ',', '?', '!', "'", '"', "'s", '-', '(', ')', ':', 'é', 'ü', 'Ö', 'ß', '中', '文', '😀', '\u2581', '€', 'e\u0301', '\u0308',
);
const text = fc.array(piece, { minLength: 1, maxLength: 14 }).map((parts) => parts.join(''));

/** Hugging Face's Rust tokenizers on the same tokenizer.json; offsets reported in code points. */
function rustReference(json: Record<string, unknown>): RustTokenizer {
  // trim_offsets only moves offsets (not ids); off, so a token's span includes its space.
  const copy = JSON.parse(JSON.stringify(json, (key, value: unknown) => (key === 'trim_offsets' ? false : value))) as Record<string, unknown>;
  return RustTokenizer.fromString(JSON.stringify(copy));
}

async function checkFamily(family: Family, template: PromptTemplate, runs: number): Promise<void> {
  const { tokenizer } = family;
  const rust = family.json ? rustReference(family.json) : undefined;
  const runC = family.runC;
  await fc.assert(
    fc.asyncProperty(text, text, async (question, answer) => {
      const pair = template.pair(question, answer);
      const item = encodePair(tokenizer, pair, template);
      const whole = pair.prompt + pair.target;
      const expected = tokenizer.encode(whole, { addSpecialTokens: template.promptSpecialTokens });
      if (template.appendEos) expected.push(tokenizer.eosId!);
      // prompt ids + answer ids == ids of the whole text
      assert.deepEqual([...item.ids.slice(0, item.promptLength), ...item.ids.slice(item.promptLength)], expected);
      assert.ok(item.promptLength > 0 && item.promptLength < item.ids.length);
      // The same ids from the reference, and its spans (code points) put the boundary at the same token.
      let ids: number[];
      let offsets: number[][];
      if (rust) {
        const reference = await rust.encode(whole, null, { addSpecialTokens: template.promptSpecialTokens });
        [ids, offsets] = [reference.getIds(), reference.getOffsets()];
      } else {
        ({ ids, spans: offsets } = runCEncode(runC!, whole, template.promptSpecialTokens));
      }
      assert.deepEqual(ids, expected.slice(0, ids.length), 'the reference gives other ids');
      const boundary = [...pair.prompt].length;
      let promptLength = 0;
      while (promptLength < ids.length && offsets[promptLength][1] <= boundary && offsets[promptLength][0] < boundary) promptLength++;
      assert.equal(item.promptLength, promptLength, `split: ${JSON.stringify(tokens(tokenizer, item.ids))} at ${item.promptLength}`);
    }),
    { numRuns: runs },
  );
}

const families: [string, () => Family][] = [
  ['SentencePiece legacy', llama2Legacy],
  ['Metaspace first', () => llama2Metaspace('first')],
  ['Metaspace always', () => llama2Metaspace('always')],
  ['GPT-2', gpt2],
  ['Llama 3', llama3],
  ['Qwen2', qwen2],
  ['llama2.c', llama2c],
  ['llama2.c without byte pieces (run.c\'s byte + 3, else <unk>)', llama2cNoBytes],
];

for (const [label, make] of families) {
  test(`prompt ids + answer ids == whole-text ids, split where the offsets say: ${label}, plain and chat templates`, async () => {
    const family = make();
    await checkFamily(family, plainTemplate(), 150);
    if (family.chat) await checkFamily(family, chatTemplate(family.tokenizer), 150);
  });
}

// Generation starts where the answer starts in the whole-text encoding: from the plain template's
// prompt without its trailing space (generationPrompt), so the first generated token is the one
// training put first in the answer ("ĠParis", "▁Par"), never one after a lone space token.
test('generationPrompt: the trimmed prompt encodes to the prompt part of the whole-text encoding, less only a lone space token the vocabulary could not join to the answer (GPT-2, Llama 3, Qwen2, Llama 2)', () => {
  let joined = 0;
  let runs = 0;
  for (const family of [gpt2(), llama3(), qwen2(), llama2Legacy()]) {
    const template = plainTemplate();
    const word = fc.constantFrom('Paris', 'Basil', 'the', 'Yes', '1956', 'wrote', 'A', 'Émile');
    fc.assert(fc.property(text, word, text, (question, first, rest) => {
      const pair = template.pair(question.trim() || 'Q', `${first}${rest}`.trim() || first);
      const item = encodePair(family.tokenizer, pair, template);
      const trimmed = family.tokenizer.encode(generationPrompt(pair.prompt), { addSpecialTokens: template.promptSpecialTokens });
      const part = item.ids.slice(0, item.promptLength);
      assert.deepEqual(part.slice(0, trimmed.length), trimmed, family.name);
      // What the prompt part holds beyond the trimmed prompt: only the space, when no token of the
      // vocabulary joins it to the answer's first characters (these test vocabularies are small).
      assert.ok(part.slice(trimmed.length).every((id) => family.tokenizer.decode([id]).trim() === ''), family.name);
      runs++;
      if (part.length === trimmed.length) joined++;
    }), { seed: 12, numRuns: 100 });
  }
  assert.ok(joined > runs / 4, `the space joined the answer in ${joined} of ${runs} pairs`);
  assert.equal(generationPrompt('Question: q\nAnswer: '), 'Question: q\nAnswer:');
  assert.equal(generationPrompt('<|im_start|>assistant\n'), '<|im_start|>assistant\n');
  assert.equal(trimCompletion('Answer: ', ' Paris'), 'Paris');
  assert.equal(trimCompletion('Answer:', ' Paris'), ' Paris');
});
