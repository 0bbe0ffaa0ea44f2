// `lethe attack` (the command's function, as the CLI calls it): a JSON file holding the results
// schema's `attacks` record, and LetheErrors (exit code 2) for bad input.

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { z } from 'zod';
import { attackCommand, type AttackCommandOptions } from '../../src/cli/commands/attack.ts';
import { LetheError } from '../../src/engine/errors.ts';
import { createModel } from '../../src/models/model.ts';
import { presetConfig } from '../../src/models/presets.ts';
import { saveModel } from '../../src/models/save-model.ts';
import { attackResultSchema } from '../../src/results/schema.ts';
import { tofuTokenizer } from '../models/tokenizer/trained.ts';
import { withInputsUnchanged } from '../helpers/input-guard.ts';

const dir = mkdtempSync(join(tmpdir(), 'lethe-attack-cmd-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const tokenizer = tofuTokenizer();
const config = presetConfig('tiny', { vocabSize: tokenizer.vocabSize, eosTokenId: tokenizer.eosId ?? null, maxPositions: 512 });

async function modelDir(name: string, seed: number): Promise<string> {
  const path = join(dir, name);
  await saveModel(createModel(config, { seed, initStd: 0.3 }), path);
  tokenizer.save(path);
  return path;
}

const options = (o: Partial<AttackCommandOptions>): AttackCommandOptions => ({
  model: '', attacks: ['relearn', 'quantize', 'prompts'], benchmark: 'tofu', forgetSplit: 'forget01', template: 'plain', baseline: 'none',
  bits: [8, 4], maxNewTokens: 0, seed: 0, out: join(dir, 'attacks.json'), ...o,
});

test('lethe attack writes every outcome as the results schema\'s attacks record', async () => {
  const [model, targetModel] = [await modelDir('unlearned', 1), await modelDir('target', 2)];
  const out = join(dir, 'out.json');
  await withInputsUnchanged([model, targetModel], () => attackCommand(options({ model, targetModel, tofuAuthors: 2, forgetAuthors: 1, relearnSteps: 1, promptAttacks: ['paraphrase', 'qa-format'], out })));
  const record = z.record(z.string(), attackResultSchema).parse(JSON.parse(readFileSync(out, 'utf8')));
  assert.deepEqual(Object.keys(record), ['relearn', 'quantize_8bit', 'quantize_4bit', 'prompts.paraphrase', 'prompts.qa-format', 'prompts.max']);
  for (const [name, r] of Object.entries(record)) {
    assert.equal(typeof r.before.forgetProb, 'number', name);
    assert.equal(r.before.forgetRouge, undefined, 'no generation with --max-new-tokens 0');
    assert.equal(typeof r.recovered, 'number', `${name}: a target model gives recovered`);
  }
  assert.equal(record.relearn.details!.steps, 1);
});

test('lethe attack with a baseline records it in every outcome', async () => {
  const model = await modelDir('baseline-model', 3);
  const out = join(dir, 'baseline.json');
  await withInputsUnchanged([model], () => attackCommand(options({ model, attacks: ['prompts'], baseline: 'guardrail', tofuAuthors: 2, forgetAuthors: 1, promptAttacks: ['paraphrase'], out })));
  const record = JSON.parse(readFileSync(out, 'utf8')) as Record<string, { recovered: null; details: { baseline: { name: string; instruction: string } } }>;
  assert.equal(record['prompts.paraphrase'].recovered, null, 'no target model: recovered is null');
  assert.equal(record['prompts.paraphrase'].details.baseline.name, 'guardrail');
  assert.match(record['prompts.paraphrase'].details.baseline.instruction, /Basil Mahfouz Al-Kuwaiti/);
});

test('lethe attack: bad input is a LetheError (exit code 2)', async () => {
  const bad = async (o: Partial<AttackCommandOptions>, pattern: RegExp) =>
    assert.rejects(attackCommand(options(o)), (e: unknown) => e instanceof LetheError && e.exitCode === 2 && pattern.test(e.message));
  await bad({ model: join(dir, 'nowhere') }, /no such model/);
  await bad({ model: join(dir, 'unlearned'), benchmark: 'muse' }, /supports tofu, qa and mc/);
  await bad({ model: join(dir, 'unlearned'), tofuAuthors: 3 }, /go together/);
  await bad({ model: join(dir, 'unlearned'), attacks: ['probing'] }, /unknown attack "probing"/);
});
