// Config layers (YAML file + flags), located validation errors, the resolved config file, and
// the resolve functions' defaults. In process: no model runs here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { fileLayer, firstDifference, flagLayer, parseLayers, savedLayer, writeResolvedConfig, type Layer } from '../../src/cli/config.ts';
import { methodOptionsFromFlags } from '../../src/cli/commands/unlearn.ts';
import { resolveEvalOptions, evalSchema } from '../../src/cli/run-eval.ts';
import { resolveTrainOptions, trainSchema } from '../../src/cli/run-train.ts';
import { resolveUnlearnOptions, unlearnSchema, UNLEARN_PATHS } from '../../src/cli/run-unlearn.ts';
import { scopeSchema } from '../../src/pipeline/options/scope.ts';
import { LetheError } from '../../src/engine/errors.ts';

const dir = mkdtempSync(join(tmpdir(), 'lethe-cli-config-'));
const flags = (values: Record<string, unknown>): Layer => ({ source: 'flags', values });
const yaml = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};
const rejects = (fn: () => unknown, message: RegExp) => assert.throws(fn, (err: unknown) => err instanceof LetheError && message.test(err.message));

test('flags override the config file; kebab-case keys are read as camelCase; file paths are relative to the file', () => {
  const file = yaml('run.yaml', 'method: npo\nlr: 0.001\nbatch-size: 2\nmodel: ./models/target\nforget-split: forget01\nout: runs/a\n');
  const user = parseLayers(unlearnSchema, [fileLayer(file, UNLEARN_PATHS), flags({ lr: '0.002' })]);
  assert.equal(user.lr, 0.002);
  assert.equal(user.batchSize, 2);
  assert.equal(user.model, join(dir, 'models/target'));
  assert.equal(user.out, join(dir, 'runs/a'));
});

test('a model option that names no file or folder but reads org/name[@revision] stays a Hub name; an existing folder of that shape is a path', () => {
  const file = yaml('hub.yaml', 'method: npo\nmodel: HuggingFaceTB/SmolLM2-135M@main\nforget-split: forget01\nout: runs/b\ntokenizer: tok/tok512.bin\n');
  const user = parseLayers(unlearnSchema, [fileLayer(file, UNLEARN_PATHS)]);
  assert.equal(user.model, 'HuggingFaceTB/SmolLM2-135M@main');
  assert.equal(user.tokenizer, join(dir, 'tok/tok512.bin'), 'only model options may be Hub names');
  assert.equal(user.out, join(dir, 'runs/b'));
  mkdirSync(join(dir, 'local', 'model'), { recursive: true });
  const local = yaml('local.yaml', 'method: npo\nmodel: local/model\nforget-split: forget01\nout: runs/c\n');
  assert.equal(parseLayers(unlearnSchema, [fileLayer(local, UNLEARN_PATHS)]).model, join(dir, 'local', 'model'));
});

test('a value of the wrong type names the flag, or the file and field, and what it got', () => {
  const base = { model: 'm', method: 'npo', forgetSplit: 'forget01', out: 'o' };
  rejects(() => parseLayers(unlearnSchema, [flags({ ...base, epochs: 'abc' })]), /^--epochs: expected a number, got "abc"$/);
  rejects(() => parseLayers(unlearnSchema, [flags({ ...base, epochs: '1.5' })]), /^--epochs: expected an integer, got 1\.5$/);
  rejects(() => parseLayers(unlearnSchema, [flags({ ...base, lr: '-1' })]), /^--lr: expected a number > 0, got -1$/);
  rejects(() => parseLayers(unlearnSchema, [flags({ ...base, adversarial: '1,0.5' })]), /^--adversarial: expected layer,eps,steps \(e\.g\. 3,0\.5,4\), got "1,0\.5"$/);
  const file = yaml('bad-type.yaml', 'lr: fast\n');
  rejects(() => parseLayers(unlearnSchema, [fileLayer(file), flags(base)]), new RegExp(`^${file}: lr: expected a number, got "fast"$`));
  rejects(() => parseLayers(unlearnSchema, [flags({ ...base, schedule: 'cosin' })]), /^--schedule: expected one of constant, linear, cosine, got "cosin"$/);
});

test('an unknown field in a file is named (before the required option it may be a misspelling of)', () => {
  const file = yaml('unknown.yaml', 'methd: npo\n');
  rejects(() => parseLayers(unlearnSchema, [fileLayer(file), flags({ out: 'o' })]), new RegExp(`^${file}: unknown field "methd"$`));
  rejects(() => parseLayers(unlearnSchema, [flags({ method: 'npo', out: 'o' })]), /^--model: missing \(required\)$/);
});

test('bad YAML names the file and line; a missing file and a non-mapping are clear errors', () => {
  const file = yaml('bad.yaml', 'method: npo\nlr: [1, 2\n');
  rejects(() => fileLayer(file), new RegExp(`^${file}:\\d+:\\d+: not valid YAML: `));
  rejects(() => fileLayer(join(dir, 'none.yaml')), /none\.yaml: config file not found$/);
  rejects(() => fileLayer(yaml('list.yaml', '- a\n- b\n')), /expected a mapping of option names/);
});

test('cross-field rules name the flags to give', () => {
  rejects(() => parseLayers(trainSchema, [flags({ out: 'o', tofu: 'full' })]), /give either --model DIR .* or --preset NAME/);
  rejects(() => parseLayers(trainSchema, [flags({ out: 'o', preset: 'tiny', tofu: 'full', data: 'x.jsonl' })]), /give one training set/);
  rejects(() => parseLayers(trainSchema, [flags({ out: 'o', preset: 'tiny', tofuAuthors: '3' })]), /^--forget-authors: needed with --tofu-authors \(how many authors to forget\)$/);
  rejects(() => parseLayers(trainSchema, [flags({ out: 'o', preset: 'tiny', tofu: 'full', maxMemory: '4' })]), /^--max-memory: only with --model \(a preset's run is not estimated/);
  rejects(() => parseLayers(evalSchema, [flags({ model: 'm', out: 'o', retainModel: 'r', retainResults: 'f' })]), /^--retain-results: give --retain-model DIR or --retain-results FILE, not both$/);
});

test('flagLayer keeps only the flags given on the command line', () => {
  const cmd = new Command('x').option('--lr <x>').option('--no-generate').option('--epochs <n>', 'd', '3').exitOverride();
  cmd.parse(['--lr', '0.1'], { from: 'user' });
  assert.deepEqual(flagLayer(cmd).values, { lr: '0.1' });
});

test('--scope forms parse into scopes; a bad form lists the valid ones', () => {
  assert.deepEqual(scopeSchema.parse('lora:4,16'), { kind: 'lora', r: 4, alpha: 16 });
  assert.deepEqual(scopeSchema.parse('lora:4,16,0'), { kind: 'lora', r: 4, alpha: 16, dropout: 0 });
  assert.deepEqual(scopeSchema.parse('lora:8,32,0.1'), { kind: 'lora', r: 8, alpha: 32, dropout: 0.1 });
  rejects(() => parseLayers(unlearnSchema, [flags({ model: 'm', method: 'npo', forgetSplit: 'forget01', out: 'o', scope: 'lora:8,32,1' })]), /^--scope: expected all, .*dropout in \[0, 1\)/);
  assert.deepEqual(scopeSchema.parse('saliency:wagle:0.05'), { kind: 'saliency', score: 'wagle', keep: 0.05 });
  assert.deepEqual(scopeSchema.parse('pattern:mlp\\.down_proj'), { kind: 'pattern', pattern: 'mlp\\.down_proj' });
  assert.deepEqual(scopeSchema.parse({ kind: 'all' }), { kind: 'all' });
  rejects(() => parseLayers(unlearnSchema, [flags({ model: 'm', method: 'npo', forgetSplit: 'forget01', out: 'o', scope: 'saliency:wagle:2' })]), /^--scope: expected all, pattern:REGEX, .*the kept fraction/);
});

test('--method-option pairs are typed against the method; an unknown option or method is named', () => {
  assert.deepEqual(methodOptionsFromFlags(['beta=0.2', 'retain=kl']), { beta: '0.2', retain: 'kl' });
  rejects(() => methodOptionsFromFlags(['beta']), /^--method-option: expected KEY=VALUE, got "beta"$/);
  const base = { model: 'm', forgetSplit: 'forget10' as const, out: 'o' };
  const npo = resolveUnlearnOptions(parseLayers(unlearnSchema, [flags({ ...base, method: 'NPO', methodOptions: { beta: '0.2' } })]));
  assert.deepEqual(npo.methodOptions, { beta: 0.2, gamma: 1, alpha: 1, retain: 'nll' });
  rejects(() => resolveUnlearnOptions({ ...base, method: 'npo', methodOptions: { bta: 1 } }), /^--method-option bta: method npo has no such option/);
  rejects(() => resolveUnlearnOptions({ ...base, method: 'npo', methodOptions: { beta: 'high' } }), /^--method-option beta: expected a number, got "high"$/);
  rejects(() => resolveUnlearnOptions({ ...base, method: 'forgetful' }), /^--method: unknown method "forgetful" \(known: ga, /);
  // Every option is checked against the method's schema, enums listing their values.
  rejects(() => resolveUnlearnOptions(parseLayers(unlearnSchema, [flags({ ...base, method: 'npo', methodOptions: { retain: 'bogus' } })])), /^--method-option retain: expected one of nll, kl, none, got "bogus"$/);
  rejects(() => resolveUnlearnOptions({ ...base, method: 'npo', methodOptions: { beta: -1 } }), /^--method-option beta: .*got -1$/);
  rejects(() => resolveUnlearnOptions({ ...base, method: 'rmu', methodOptions: { layer: 1.5 } }), /^--method-option layer: .*got 1\.5$/);
  assert.deepEqual(resolveUnlearnOptions({ ...base, method: 'npo', methodOptions: { retain: 'kl', klPositions: 'all' } }).methodOptions, { beta: 0.1, gamma: 1, alpha: 1, retain: 'kl', klPositions: 'all' });
});

test('--betas must be two numbers in [0, 1): β = 1 would zero the bias correction', () => {
  const base = { model: 'm', method: 'npo', forgetSplit: 'forget10', out: 'o' };
  rejects(() => parseLayers(unlearnSchema, [flags({ ...base, betas: '1,1' })]), /^--betas 0: expected a number in \[0, 1\), got 1$/);
  assert.deepEqual(parseLayers(unlearnSchema, [flags({ ...base, betas: '0.9,0.95' })]).betas, [0.9, 0.95]);
});

test('resolveUnlearnOptions applies TOFU\'s recipe: lr by scope and method, the matching retain split, best-step keeping with probes', () => {
  const base = { model: 'm', forgetSplit: 'forget05' as const, out: 'o' };
  const npo = resolveUnlearnOptions({ ...base, method: 'npo' });
  assert.equal(npo.lr, 1e-5);
  assert.equal(npo.tofuRetain, 'retain95');
  assert.deepEqual([npo.epochs, npo.batchSize, npo.accumulation, npo.schedule, npo.warmupEpochs, npo.weightDecay], [5, 4, 4, 'linear', 1, 0.01]);
  assert.deepEqual(npo.scope, { kind: 'all' });
  assert.equal(npo.keep, 'last');
  const lora = resolveUnlearnOptions({ ...base, method: 'npo', scope: { kind: 'lora' }, evalEvery: 5 });
  assert.equal(lora.lr, 1e-4);
  assert.deepEqual(lora.scope, { kind: 'lora', r: 8, alpha: 32, dropout: 0.05 });
  assert.equal(lora.keep, 'best');
  const rmu = resolveUnlearnOptions({ ...base, method: 'rmu' });
  assert.equal(rmu.lr, 5e-5);
  assert.equal(rmu.scope, undefined); // decided from the model's depth
  const sophia = resolveUnlearnOptions({ ...base, method: 'ga', optimizer: 'sophia' });
  assert.deepEqual([sophia.betas, sophia.rho], [[0.9, 0.95], 0.04]);
});

test('resolveTrainOptions: a preset trains fast from scratch, a model folder follows TOFU\'s fine-tuning recipe', () => {
  const preset = resolveTrainOptions({ preset: 'tiny', tofu: 'full', out: 'o' });
  assert.deepEqual([preset.lr, preset.epochs, preset.batchSize, preset.schedule, preset.vocabSize], [1e-2, 40, 8, 'cosine', 4096]);
  const model = resolveTrainOptions({ model: 'm', data: 'd.jsonl', out: 'o', lr: 2e-5 });
  assert.deepEqual([model.lr, model.epochs, model.batchSize, model.accumulation, model.schedule, model.vocabSize], [2e-5, 5, 4, 4, 'linear', undefined]);
});

test('resolveEvalOptions: forget10 with 200 new tokens by default; --no-generate means no generation', () => {
  const tofu = resolveEvalOptions({ model: 'm', out: 'o' });
  assert.deepEqual([tofu.benchmark, tofu.forgetSplit, tofu.maxNewTokens], ['tofu', 'forget10', 200]);
  assert.equal(resolveEvalOptions({ model: 'm', out: 'o', generate: false }).maxNewTokens, null);
  const text = resolveEvalOptions({ model: 'm', out: 'o', benchmark: 'text', forget: 'f.txt' });
  assert.deepEqual([text.forgetSplit, text.maxNewTokens, text.prefixTokens], [undefined, 128, 32]);
});

test('the resolved config is written atomically as YAML and reads back as the saved layer', async () => {
  const out = join(dir, 'run');
  const resolved = resolveUnlearnOptions({ model: 'm', method: 'npo', forgetSplit: 'forget01', out });
  await writeResolvedConfig(out, 'unlearn', resolved);
  assert.match(readFileSync(join(out, 'config.yaml'), 'utf8'), /^command: unlearn$/m);
  const saved = savedLayer(out)!;
  assert.equal(firstDifference(saved.values, JSON.parse(JSON.stringify(resolved)) as Record<string, unknown>), null);
  // It is valid input to the same schema, so a resumed run can start from it.
  assert.deepEqual(resolveUnlearnOptions(parseLayers(unlearnSchema, [saved])), resolved);
  assert.equal(firstDifference(saved.values, { ...saved.values, lr: 1 }), 'lr');
  // How the model is saved is part of the record, so the file replays it (newcomer trial: it was not).
  const bf16 = resolveUnlearnOptions({ model: 'm', method: 'npo', forgetSplit: 'forget01', out, saveDtype: 'bf16' });
  await writeResolvedConfig(out, 'unlearn', bf16);
  assert.match(readFileSync(join(out, 'config.yaml'), 'utf8'), /^saveDtype: bf16$/m);
  assert.equal(resolveUnlearnOptions(parseLayers(unlearnSchema, [savedLayer(out)!])).saveDtype, 'bf16');
});

test('a run\'s own config.yaml reads back through --config (its command and lethe header is not an option)', async () => {
  const d = mkdtempSync(join(tmpdir(), 'lethe-config-readback-'));
  await writeResolvedConfig(d, 'unlearn', { model: join(d, 'm'), method: 'npo', epochs: 2, out: join(d, 'run') });
  const layer = fileLayer(join(d, 'config.yaml'), UNLEARN_PATHS);
  assert.equal(layer.values.command, undefined);
  assert.equal(layer.values.lethe, undefined);
  assert.equal(layer.values.method, 'npo');
  assert.equal(layer.values.epochs, 2);
  // A user's own file with a field named command is still an unknown field.
  writeFileSync(join(d, 'mine.yaml'), 'command: unlearn\nepochs: 2\n');
  assert.equal(fileLayer(join(d, 'mine.yaml')).values.command, 'unlearn');
});
