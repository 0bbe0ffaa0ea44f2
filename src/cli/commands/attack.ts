// `lethe attack`: try to bring forgotten knowledge back (relearning, quantisation, prompt attacks)
// and write the results schema's `attacks` record (name → before/after/recovered) as JSON. With
// --baseline the attacks run against an input-based baseline wrapped around --model instead.
import { InvalidArgumentError, type Command } from 'commander';
import { LetheError } from '../../engine/errors.ts';
import { checkReplaceable, checkWritesOutsideInputs } from '../../io/paths.ts';
import { DEFAULT_FORGET_SPLIT, FORGET_SPLITS } from '../../pipeline/data-sources.ts';
import type { AttackRunOptions } from '../../pipeline/attack-run.ts';

export interface AttackCommandOptions extends AttackRunOptions {
  benchmark: string;
  /** --benchmark mc: multiple-choice files, the relearning text, the prompt style and description. */
  forgetMc?: string[];
  retainMc?: string[];
  relearnText?: string;
  mcStyle?: 'default' | 'continuation';
  mcDescription?: 'subject' | 'none';
  /** The JSON file to write. */
  out: string;
}

const collect = (value: string, previous: string[] = []) => [...previous, value];
const list = (v: string) => v.split(',').map((s) => s.trim()).filter((s) => s !== '');
const int = (min: number) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`expected an integer ≥ ${min}, got "${v}"`);
  return n;
};
const positive = (v: string) => {
  const n = Number(v);
  if (!(n > 0) || !Number.isFinite(n)) throw new InvalidArgumentError(`expected a number > 0, got "${v}"`);
  return n;
};
const oneOf = (...names: string[]) => (v: string) => {
  if (!names.includes(v)) throw new InvalidArgumentError(`expected one of ${names.join(', ')}, got "${v}"`);
  return v;
};

export function registerAttack(program: Command): void {
  program
    .command('attack')
    .description('attack an unlearned model (relearning, quantisation, prompt attacks) and write before/after scores as JSON')
    .requiredOption('--model <path>', 'the model to attack: a folder, a llama2.c .bin file or a Hub name org/name[@revision]; with --baseline, the model the baseline wraps')
    .option('--tokenizer <path>', 'tokenizer file or folder, when it is not beside the model')
    .option('--target-model <path>', 'the model before unlearning (the same forms as --model), for "recovered" (without it, recovered is null)')
    .option('--attacks <list>', 'relearn, relearn-retain, quantize, prompts (comma-separated)', list, ['relearn', 'quantize', 'prompts'])
    .option('--benchmark <name>', 'tofu (default), qa with --forget-qa/--retain-qa, or mc (relearning measured by multiple-choice accuracy) with --forget-mc/--retain-mc/--relearn-text', 'tofu')
    .option('--forget-qa <file>', 'qa: the forget set, TOFU-format items (JSON array or JSON Lines)')
    .option('--retain-qa <file>', 'qa: the retain set, TOFU-format items')
    .option('--forget-mc <file>', 'mc: a multiple-choice file whose accuracy must stay low (WMDP .json/.jsonl, MMLU .csv); repeatable', collect)
    .option('--retain-mc <file>', 'mc: a multiple-choice file whose accuracy must stay; repeatable', collect)
    .option('--relearn-text <file>', 'mc: what is relearned, text with one document a line (e.g. the part of the forget corpus whose facts the questions do not ask)')
    .option('--mc-style <style>', "mc: default (lettered options, the harness's MMLU/WMDP prompt) or continuation (option texts)", oneOf('default', 'continuation'), 'default')
    .option('--mc-description <kind>', "mc: subject (the harness's sentence about each item's subject) or none", oneOf('subject', 'none'), 'subject')
    .option('--forget-split <split>', `TOFU forget split: ${FORGET_SPLITS.join(', ')}`, oneOf(...FORGET_SPLITS), DEFAULT_FORGET_SPLIT)
    .option('--tofu-authors <n>', 'a small TOFU case of N authors …', int(2))
    .option('--forget-authors <k>', '… K of them forgotten (instead of --forget-split)', int(1))
    .option('--template <name>', 'auto (the chat template when the tokenizer has one), plain, chat', oneOf('auto', 'plain', 'chat'), 'auto')
    .option('--baseline <name>', 'none, guardrail, icul, output-filter', oneOf('none', 'guardrail', 'icul', 'output-filter'), 'none')
    .option('--guardrail-topics <list>', "what the guardrail names, ';'-separated (default: the forget set's TOFU authors)", (v: string) => v.split(';').map((s) => s.trim()).filter(Boolean))
    .option('--relearn-steps <n>', 'relearning steps (default 30)', int(1))
    .option('--relearn-lr <rate>', 'relearning learning rate (default 1e-5·√(4096/hidden size))', positive)
    .option('--relearn-fraction <x>', 'fraction of the forget set relearned (default 0.1)', positive)
    .option('--bits <list>', 'quantisation bit widths', (v: string) => list(v).map(int(2)), [8, 4])
    .option('--prompt-attacks <list>', 'which prompt attacks (default all)', list)
    .option('--max-new-tokens <n>', 'greedy tokens generated for ROUGE (0: no generation)', int(0), 200)
    .option('--batch-size <n>', 'scoring batch size', int(1))
    .option('--context-length <n>', "longest item in tokens (default: the model's)", int(2))
    .option('--seed <n>', 'seed of the random choices', int(0), 0)
    .requiredOption('-o, --out <file>', 'the JSON file to write')
    .action(async (options: AttackCommandOptions) => {
      await attackCommand(options);
    });
}

export async function attackCommand(o: AttackCommandOptions): Promise<void> {
  if (o.benchmark === 'mc') return mcAttackCommand(o);
  if (o.forgetMc !== undefined || o.retainMc !== undefined || o.relearnText !== undefined) throw new LetheError('--forget-mc/--retain-mc/--relearn-text: only with --benchmark mc');
  if (o.benchmark !== 'tofu' && o.benchmark !== 'qa') throw new LetheError(`--benchmark ${o.benchmark}: lethe attack supports tofu, qa and mc`);
  if (o.benchmark === 'qa' && (o.forgetQa === undefined || o.retainQa === undefined)) throw new LetheError('--benchmark qa needs --forget-qa FILE and --retain-qa FILE');
  if (o.benchmark !== 'qa' && (o.forgetQa !== undefined || o.retainQa !== undefined)) throw new LetheError('--forget-qa/--retain-qa: only with --benchmark qa');
  if ((o.tofuAuthors === undefined) !== (o.forgetAuthors === undefined)) throw new LetheError('--tofu-authors and --forget-authors go together');
  if (o.relearnFraction !== undefined && o.relearnFraction > 1) throw new LetheError(`--relearn-fraction: expected a number in (0, 1], got ${o.relearnFraction}`);
  // Lazy: the model and attack code loads only when this command runs.
  const [{ runAttackSuite }, { writeFileAtomic }, { modelReadSources }, { readSources }, { downloadDisplay }] = await Promise.all([
    import('../../pipeline/attack-run.ts'), import('../../models/formats/write-file-atomic.ts'), import('../../pipeline/model-source.ts'), import('../../pipeline/run-folder.ts'), import('../progress.ts'),
  ]);
  // Hub names become their folders in the Hub cache (downloaded first when online): the check compares local paths.
  checkWritesOutsideInputs({ path: o.out, flag: '--out' }, [...await modelReadSources(o, ['model', 'targetModel'], downloadDisplay), ...readSources(o, ['tokenizer', 'forgetQa', 'retainQa'])]);
  checkReplaceable(o.out, '--out', 'attacks');
  const record = await runAttackSuite(o, (r) => {
    const rec = r.recovered === null ? 'recovered n/a' : `recovered ${(100 * r.recovered).toFixed(1)}%`;
    process.stdout.write(`lethe: ${r.name}: forget Prob ${r.before.forgetProb.toFixed(4)} → ${r.after.forgetProb.toFixed(4)}, ${rec}\n`);
  });
  await writeFileAtomic(o.out, `${JSON.stringify(record, null, 2)}\n`);
  const n = Object.keys(record).length;
  process.stdout.write(`lethe: wrote ${o.out} (${n} attack result${n === 1 ? '' : 's'})\n`);
}

const DEFAULT_ATTACKS = ['relearn', 'quantize', 'prompts'];

/** --benchmark mc: the relearning attack measured by multiple-choice accuracy (pipeline/attack-mc.ts). */
async function mcAttackCommand(o: AttackCommandOptions): Promise<void> {
  if (o.forgetMc === undefined || o.relearnText === undefined) throw new LetheError('--benchmark mc needs --forget-mc FILE and --relearn-text FILE (the retain side, --retain-mc FILE, is optional)');
  const asked = o.attacks.join(',') === DEFAULT_ATTACKS.join(',') ? ['relearn'] : o.attacks;
  if (asked.some((a) => a !== 'relearn')) throw new LetheError(`--attacks ${o.attacks.join(',')}: with --benchmark mc the attack is relearn`);
  if (o.forgetQa !== undefined || o.retainQa !== undefined) throw new LetheError('--forget-qa/--retain-qa: only with --benchmark qa');
  const [{ runMcRelearnAttack }, { writeFileAtomic }, { modelReadSources }, { readSources }, { downloadDisplay }] = await Promise.all([
    import('../../pipeline/attack-mc.ts'), import('../../models/formats/write-file-atomic.ts'), import('../../pipeline/model-source.ts'), import('../../pipeline/run-folder.ts'), import('../progress.ts'),
  ]);
  checkWritesOutsideInputs({ path: o.out, flag: '--out' }, [...await modelReadSources(o, ['model', 'targetModel'], downloadDisplay), ...readSources(o, ['tokenizer', 'relearnText', 'forgetMc', 'retainMc'])]);
  const record = await runMcRelearnAttack({
    model: o.model, tokenizer: o.tokenizer, targetModel: o.targetModel, forgetMc: o.forgetMc, retainMc: o.retainMc ?? [], relearnText: o.relearnText,
    mcStyle: o.mcStyle ?? 'default', mcDescription: o.mcDescription ?? 'subject', template: o.template,
    relearnSteps: o.relearnSteps, relearnLr: o.relearnLr, batchSize: o.batchSize, contextLength: o.contextLength, seed: o.seed,
  }, (line) => process.stdout.write(`lethe: ${line}\n`));
  await writeFileAtomic(o.out, `${JSON.stringify(record, null, 2)}\n`);
  process.stdout.write(`lethe: wrote ${o.out} (1 attack result)\n`);
}
