// The capability case's data: the committed files are exactly what the seeded script makes, they
// read as multiple-choice sets, every right answer is a fact the corpus states, and the
// relearning corpus shares no fact with the evaluation questions.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readMultipleChoiceFile } from '../../src/data/multiple-choice.ts';
import { readTextSet } from '../../src/data/qa-dataset.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const DOMAINS = ['relays', 'alloys'];
const FILES = ['corpus.txt', 'corpus-train-facts.txt', 'mc-train.jsonl', 'mc-eval.jsonl'];
const data = (domain: string, file: string) => join(root, 'data/capability', domain, file);

test('the committed capability data is what scripts/make-capability-data.mjs makes with its default seed', () => {
  const out = mkdtempSync(join(tmpdir(), 'lethe-capability-'));
  try {
    execFileSync(process.execPath, [join(root, 'scripts/make-capability-data.mjs'), '--out', out], { stdio: 'pipe' });
    for (const domain of DOMAINS) {
      for (const file of FILES) assert.equal(readFileSync(join(out, domain, file), 'utf8'), readFileSync(data(domain, file), 'utf8'), `${domain}/${file}`);
    }
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

test('questions are 4-option, their right answers are stated in the corpus, and the relearning corpus holds no evaluated fact', () => {
  for (const domain of DOMAINS) {
    const corpus = readTextSet(data(domain, 'corpus.txt'));
    const relearn = readTextSet(data(domain, 'corpus-train-facts.txt'));
    const train = readMultipleChoiceFile(data(domain, 'mc-train.jsonl'));
    const evaluated = readMultipleChoiceFile(data(domain, 'mc-eval.jsonl'));
    assert.equal(train.length, 75);
    assert.equal(evaluated.length, 75);
    const trainQuestions = new Set(train.map((i) => i.question));
    for (const item of [...train, ...evaluated]) {
      assert.equal(item.choices.length, 4);
      assert.equal(new Set(item.choices).size, 4, item.where);
      // The entity is the made-up name in the question (the X relay, or an alloy Xite).
      const entity = (/\b([A-Z][a-z]+) relay\b/.exec(item.question) ?? /\b([A-Z][a-z]+ite)\b/.exec(item.question))?.[1];
      assert.ok(entity, `${item.where}: no entity in "${item.question}"`);
      const right = item.choices[item.answer];
      const stating = corpus.filter((line) => new RegExp(`\\b${entity}\\b`).test(line) && line.includes(right));
      assert.ok(stating.length >= 3, `${item.where}: "${right}" about ${entity} is stated ${stating.length} times`);
      if (!trainQuestions.has(item.question)) {
        // An evaluated fact: no relearning line about this entity states its value.
        assert.ok(!relearn.some((line) => new RegExp(`\\b${entity}\\b`).test(line) && line.includes(right)), `${item.where}: in the relearning corpus`);
      }
    }
    // Chance is 25%: the right option is spread over the four positions.
    const positions = [0, 1, 2, 3].map((k) => evaluated.filter((i) => i.answer === k).length);
    assert.ok(Math.max(...positions) < 30, `answer positions ${positions}`);
  }
});
