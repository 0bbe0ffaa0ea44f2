// `lethe unlearn`: make a model forget a forget set while keeping a retain set. The work is in
// ../run-unlearn.ts, loaded when the command runs.
import type { Command } from 'commander';
import { LetheError } from '../../engine/errors.ts';
import { METHODS, methodNames } from '../../unlearn/methods/index.ts';
import { RMU_WMDP_PRESET } from '../../unlearn/methods/rmu.ts';
import { FORGET_SPLITS } from '../../pipeline/data-sources.ts';
import { flagLayer } from '../config.ts';
import { addTrainingFlags } from './training-flags.ts';

const collect = (value: string, previous: string[] = []) => [...previous, value];

/** `--method-option beta=0.2` (repeatable) → { beta: '0.2' } (checked against the method's option schema when resolved). */
export function methodOptionsFromFlags(pairs: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new LetheError(`--method-option: expected KEY=VALUE, got ${JSON.stringify(pair)}`);
    out[pair.slice(0, eq).trim()] = pair.slice(eq + 1).trim();
  }
  return out;
}

export function registerUnlearn(program: Command): void {
  const command = program
    .command('unlearn')
    .description('unlearn a forget set from a model (the input folder is never written); writes OUT/model, log.jsonl, config.yaml')
    .option('--model <path>', 'the model to unlearn from (never written): a folder (HF format, with its tokenizer), a llama2.c .bin file or a Hub name org/name[@revision]')
    .option('--tokenizer <path>', 'tokenizer file or folder, when it is not beside the model')
    .option('--method <name>', `the unlearning method: ${methodNames().join(', ')}`)
    .option('--method-option <key=value>', "override one of the method's options (repeatable), e.g. beta=0.2", collect)
    .option('--preset <name>', "a published recipe: wmdp (with --method rmu: RMU as the WMDP code runs it, see Presets below); flags given beside it override it")
    .option('--forget <file>', 'forget set: .jsonl question/answer items, or text with one document a line')
    .option('--forget-split <split>', `forget set: a TOFU split, ${FORGET_SPLITS.join(', ')} (retain set: the matching retainXX)`)
    .option('--tofu-authors <n>', 'a small TOFU case of N authors …')
    .option('--forget-authors <k>', '… forgetting K of them and keeping the others')
    .option('--forget-qa <file>', 'forget set: TOFU-format question/answer items (JSON array or JSON Lines)')
    .option('--retain <file>', 'retain set: a data file')
    .option('--retain-qa <file>', 'retain set: TOFU-format question/answer items (JSON array or JSON Lines)')
    .option('--tofu-retain <split>', 'retain set: a TOFU split')
    .option('--allow-overlap', 'run even when the forget and retain sets share items (default: exit 2 naming both files and lines)')
    .option('--overlong <policy>', 'forget or retain items longer than the context: error (default; exit 2 naming the file and line), skip, truncate (the answer cut); counts and lines on stderr')
    .option('--idk <file>', "refusals for idkdpo, one a line (default: TOFU's list)")
    .option('--scope <scope>', 'what is updated: all, pattern:REGEX, lora[:r[,alpha[,dropout]]] (TOFU defaults 8,32,0.05), saliency[:wagle|gradient[:keep]]')
    .option('--sam <rho>', 'sharpness-aware minimisation with this radius')
    .option('--adversarial <layer,eps,steps>', "adversarial unlearning: perturb block layer's output within an L2 ball of radius eps by steps ascent steps")
    .option('--eval-every <n>', 'score forget/retain probes every N steps and keep the best step')
    .option('--eval-items <n>', 'items in each probe (default 16)')
    .option('--probe <kind>', 'what the probes measure: qa (forget/retain answer probability, default) or mc (multiple-choice accuracy on --forget-mc/--retain-mc)')
    .option('--forget-mc <file>', '--probe mc: a multiple-choice file whose accuracy must fall (WMDP .json/.jsonl, MMLU .csv); repeatable', collect)
    .option('--retain-mc <file>', '--probe mc: a multiple-choice file whose accuracy must stay; repeatable', collect)
    .option('--keep <which>', 'with --eval-every: save the best step (default) or the last')
    .option('--seeds <n>', 'repeat the run with N seeds (--seed, --seed + 1, …), each a run folder OUT/seed-K/; OUT/seeds.json: mean ± sd of the probe and "passes in k of N"')
    .option('--save-dtype <dtype>', 'how OUT/model stores its weights: f32, bf16 or f16 (default: as the input model)');
  command.addHelpText('after', () => {
    const rows = Object.values(METHODS).map((m) => {
      const defaults = [...Object.entries(m.defaults).map(([k, v]) => `${k}=${v}`), `lr=${m.lr.toExponential()}`].join(' ');
      return `  ${m.name.padEnd(9)} ${m.summary}\n  ${''.padEnd(9)} defaults: ${defaults}`;
    });
    const p = RMU_WMDP_PRESET;
    const t = p.training;
    const preset = [
      '  wmdp      RMU\'s published recipe for text corpora (centerforaisafety/wmdp, rmu/unlearn.py, as run for the released Zephyr_RMU):',
      `            block ℓ at ${p.methodOptions.layerDepth} of the depth (layer_id 7 of 32 blocks; ⌊7L/32⌋ of L), only the MLP down-projections of blocks ℓ-2..ℓ updated,`,
      `            steeringCoef=${p.methodOptions.steeringCoef} alpha=${p.methodOptions.alpha}, lr ${t.lr.toExponential()}, ${t.epochs} pass, batch ${t.batchSize} forget + ${t.batchSize} retain texts, at most ${p.maxBatches} batches,`,
      `            texts cut at ${p.maxTokens} tokens, AdamW without weight decay, no clipping, constant rate.`,
      '            e.g. lethe unlearn --model M --method rmu --preset wmdp --forget forget-corpus.txt --retain retain-corpus.txt --out RUN',
    ];
    return `\nMethods (--method-option KEY=VALUE overrides a default):\n${rows.join('\n')}\n\nPresets (--preset NAME):\n${preset.join('\n')}\n`;
  });
  addTrainingFlags(command).action(async (_options: unknown, cmd: Command) => {
    const { unlearnCommand, UNLEARN_PATHS } = await import('../run-unlearn.ts');
    const flags = flagLayer(cmd, UNLEARN_PATHS);
    if (flags.values.methodOption !== undefined) {
      flags.values.methodOptions = methodOptionsFromFlags(flags.values.methodOption as string[]);
      delete flags.values.methodOption;
    }
    await unlearnCommand(flags, cmd.opts().config as string | undefined);
  });
}
