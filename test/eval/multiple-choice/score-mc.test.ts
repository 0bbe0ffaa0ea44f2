// Multiple choice on the shared scoring pass, end to end on a tiny model built here: every
// option's log-likelihood equals the sum read off the model's own logits for the harness's
// tokens, and acc / acc_norm follow from those sums.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Graph } from '../../../src/engine/graph.ts';
import { LetheError } from '../../../src/engine/errors.ts';
import { compile } from '../../../src/engine/program.ts';
import type { McItem } from '../../../src/data/multiple-choice.ts';
import { plainTemplate } from '../../../src/data/templates.ts';
import { Scorer } from '../../../src/eval/score.ts';
import { argmax } from '../../../src/eval/multiple-choice/accuracy.ts';
import { buildMcRequests } from '../../../src/eval/multiple-choice/prompts.ts';
import { evaluateMultipleChoice, harnessContinuationIds, mcBySubject, multipleChoiceScorer, poolMc } from '../../../src/eval/multiple-choice/score-mc.ts';
import { parseConfig } from '../../../src/models/formats/config.ts';
import { createModel } from '../../../src/models/model.ts';
import { tokenizerFromJson } from '../../../src/models/tokenizer/tokenizer.ts';
import { tofuChatTokenizer, tofuTokenizer } from '../../models/tokenizer/trained.ts';

const tokenizer = tofuTokenizer();
const config = parseConfig({ model_type: 'gpt2', vocab_size: tokenizer.vocabSize, n_embd: 32, n_layer: 2, n_head: 4, n_positions: 256 }, 'test config');
const model = createModel(config, { seed: 11, initStd: 0.4 });
const item = (question: string, choices: string[], answer: number, where: string): McItem => ({ question, choices, answer, where });
const items = [
  item('Where was the author born?', ['Santiago', 'Paris in France', 'Lagos', 'a small town near Kyoto'], 0, 'f:1'),
  item('What genre does she write?', ['fantasy', 'poetry', 'crime fiction', 'memoir'], 2, 'f:2'),
  item('Which award did he win?', ['none', 'the Hugo Award', 'a local prize'], 1, 'f:3'),
];

test('options after "Answer:" start with a space and that space is part of the option token, as the harness tokenises them', () => {
  const ids = tokenizer.encode(' A', { addSpecialTokens: false });
  assert.equal(ids.length, 1);
  assert.equal(tokenizer.idToToken(ids[0]), 'ĠA'); // byte-level BPE: Ġ is the space
  const context = 'Who wrote it?\nA. Jaime\nB. Ana\nAnswer:';
  for (const letter of [' A', ' B', ' Santiago']) {
    assert.deepEqual(harnessContinuationIds(tokenizer, context, letter), tokenizer.encode(letter, { addSpecialTokens: false }));
  }
  // Where the split falls inside a word, the whole-text encoding merges across it: the harness's
  // continuation tokens then differ from encoding the continuation alone.
  const merged = harnessContinuationIds(tokenizer, 'Who wrote th', 'e book');
  assert.notDeepEqual(merged, tokenizer.encode('e book', { addSpecialTokens: false }));
});

async function referenceLoglikelihoods(pairs: { context: string; continuation: string }[]): Promise<number[]> {
  const g = new Graph();
  const ids = g.input('input_ids', 'int64', ['B', 'T']);
  const { logits, params } = model.forward(g, ids);
  const program = compile([ids, ...params.values()], { logits });
  const V = config.vocabSize;
  const out: number[] = [];
  for (const { context, continuation } of pairs) {
    const ctx = tokenizer.encode(context, { addSpecialTokens: false });
    const cont = harnessContinuationIds(tokenizer, context, continuation);
    const all = [...ctx, ...cont];
    const run = await program.run({ ...model.feeds(), input_ids: { dtype: 'int64', shape: [1, all.length], data: BigInt64Array.from(all, BigInt) } });
    const z = run.logits.data as Float32Array;
    let ll = 0;
    for (let j = 0; j < cont.length; j++) {
      const t = ctx.length - 1 + j; // logits at t predict token t + 1
      const row = Array.from(z.subarray(t * V, (t + 1) * V));
      const max = Math.max(...row);
      const lse = max + Math.log(row.reduce((a, v) => a + Math.exp(v - max), 0));
      ll += row[cont[j]] - lse;
    }
    out.push(ll);
  }
  await program.dispose();
  return out;
}

for (const style of ['default', 'continuation'] as const) {
  test(`${style} prompts: per-option log-likelihoods match the logits, and acc / acc_norm / stderr follow from them`, async () => {
    const scorer = multipleChoiceScorer(model, tokenizer, { batchSize: 4 });
    const result = await evaluateMultipleChoice(scorer, items, 'forget.jsonl', { style });
    const requests = buildMcRequests(items, { style });
    assert.equal(scorer.passes, requests.reduce((a, r) => a + r.continuations.length, 0)); // one batched pass, each text once
    const accs: number[] = [];
    const norms: number[] = [];
    for (let i = 0; i < items.length; i++) {
      const r = requests[i];
      const expected = await referenceLoglikelihoods(r.continuations.map((continuation) => ({ context: r.context, continuation })));
      const got = result.items[i];
      expected.forEach((ll, k) => assert.ok(Math.abs(got.loglikelihoods[k] - ll) < 1e-3, `item ${i} option ${k}: ${got.loglikelihoods[k]} vs ${ll}`));
      const lengths = r.choices.map((c) => [...c].length);
      accs.push(argmax(expected) === items[i].answer ? 1 : 0);
      norms.push(argmax(expected.map((ll, k) => ll / lengths[k])) === items[i].answer ? 1 : 0);
      assert.equal(got.tokenisationMatchesHarness, true);
      assert.equal(got.where, items[i].where);
    }
    const mean = (xs: number[]) => xs.reduce((a, v) => a + v, 0) / xs.length;
    const se = (xs: number[]) => Math.sqrt(xs.reduce((a, v) => a + (v - mean(xs)) ** 2, 0) / (xs.length - 1) / xs.length);
    assert.deepEqual(result.acc.perItem, accs);
    assert.deepEqual(result.accNorm.perItem, norms);
    assert.equal(result.acc.value, mean(accs));
    assert.ok(Math.abs(result.acc.stderr! - se(accs)) < 1e-12);
    assert.ok(Math.abs(result.chance - (0.25 + 0.25 + 1 / 3) / 3) < 1e-12);
    assert.equal(result.tokenisationMismatches, 0);
    if (style === 'default') assert.deepEqual(result.accNorm.perItem, result.acc.perItem); // one-letter options
    // Pooling two sets is the union of their items.
    const pooled = poolMc('all', [result, result]);
    assert.equal(pooled.acc.n, 6);
    assert.equal(pooled.acc.value, result.acc.value);
    // Per subject: the items without one form one group, equal to the whole set.
    const [only] = mcBySubject(result);
    assert.equal(only.name, 'forget.jsonl (none)');
    assert.deepEqual(only.acc.perItem, result.acc.perItem);
    const split = mcBySubject({ ...result, items: result.items.map((it, i) => ({ ...it, subject: i === 0 ? 'a' : 'b' })) });
    assert.deepEqual(split.map((g) => [g.name, g.acc.n]), [['forget.jsonl a', 1], ['forget.jsonl b', 2]]);
    await scorer.dispose();
  });
}

test('a scorer that appends EOS to the option (the TOFU scorer) is refused with the reason', async () => {
  const scorer = new Scorer(model, tokenizer, { template: plainTemplate() });
  await assert.rejects(evaluateMultipleChoice(scorer, items, 'forget.jsonl'), (e: unknown) => e instanceof LetheError && /multipleChoiceScorer/.test(e.message));
  await scorer.dispose();
});

test('a prompt longer than the model context is one clear error', async () => {
  const small = createModel(parseConfig({ model_type: 'gpt2', vocab_size: tokenizer.vocabSize, n_embd: 16, n_layer: 1, n_head: 2, n_positions: 16 }, 'small'), { seed: 1 });
  const scorer = multipleChoiceScorer(small, tokenizer);
  await assert.rejects(evaluateMultipleChoice(scorer, items, 'forget.jsonl'), (e: unknown) => e instanceof LetheError && /^forget\.jsonl: a prompt is longer than the model's context/.test(e.message));
  await scorer.dispose();
});

/** A character-level tokenizer normalised as Llama-2's tokenizer.json is (prepend "▁", spaces → "▁"). */
function sentencePieceStyleTokenizer() {
  const chars = ['<unk>', '</s>', '▁', 'A', 'B', 'Q', '?', '\n', '.', 'x', 'y', 'n', 's', 'w', 'e', 'r', ':'];
  const vocab: Record<string, number> = Object.fromEntries([...chars, '▁A', '▁B'].map((c, i) => [c, i]));
  const special = (id: number, content: string) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });
  return tokenizerFromJson({
    version: '1.0', truncation: null, padding: null, added_tokens: [special(0, '<unk>'), special(1, '</s>')],
    normalizer: { type: 'Sequence', normalizers: [{ type: 'Prepend', prepend: '▁' }, { type: 'Replace', pattern: { String: ' ' }, content: '▁' }] },
    pre_tokenizer: null, post_processor: null, decoder: null,
    model: { type: 'BPE', dropout: null, unk_token: '<unk>', continuing_subword_prefix: null, end_of_word_suffix: null, fuse_unk: true, byte_fallback: false, ignore_merges: false, vocab, merges: [['▁', 'A'], ['▁', 'B']] },
  }, { eos_token: '</s>' });
}

test('with a SentencePiece-style tokenizer the option encoded alone gains a "▁" the harness does not score; scored on the whole text, the option has the harness\'s tokens', async () => {
  const sp = sentencePieceStyleTokenizer();
  const id = (t: string) => sp.tokenToId(t)!;
  assert.deepEqual(sp.encode(' A', { addSpecialTokens: false }), [id('▁'), id('▁A')]);
  assert.deepEqual(harnessContinuationIds(sp, 'Q?\nA. x\nB. y\nAnswer:', ' A'), [id('▁A')]);
  const tinyModel = createModel(parseConfig({ model_type: 'gpt2', vocab_size: sp.vocabSize, n_embd: 16, n_layer: 1, n_head: 2, n_positions: 64 }, 'sp'), { seed: 2 });
  const scorer = multipleChoiceScorer(tinyModel, sp);
  const result = await evaluateMultipleChoice(scorer, [item('Q?', ['x', 'y'], 0, 'sp:1')], 'sp.jsonl');
  assert.equal(result.items[0].tokenisationMatchesHarness, true);
  assert.equal(result.tokenisationMismatches, 0);
  await scorer.dispose();
});

test('chat template: the options follow the generation prompt without a space, on the harness\'s tokens', async () => {
  const chat = tofuChatTokenizer();
  const chatModel = createModel(parseConfig({ model_type: 'gpt2', vocab_size: chat.vocabSize, n_embd: 16, n_layer: 1, n_head: 2, n_positions: 256 }, 'chat'), { seed: 4 });
  const scorer = multipleChoiceScorer(chatModel, chat);
  const result = await evaluateMultipleChoice(scorer, items, 'forget.jsonl', { chat: { tokenizer: chat } });
  const [r] = buildMcRequests(items, { chat: { tokenizer: chat } });
  assert.ok(r.context.endsWith('<|im_start|>assistant'));
  assert.deepEqual(r.continuations, ['\nA', '\nB', '\nC', '\nD']);
  assert.equal(result.tokenisationMismatches, 0);
  assert.equal(result.acc.n, 3);
  assert.ok(result.items.every((i) => i.loglikelihoods.every((ll) => ll < 0 && Number.isFinite(ll))));
  await scorer.dispose();
});
