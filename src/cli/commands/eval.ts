// `lethe eval`: evaluate one model on TOFU or a MUSE-style text benchmark → results.json. The
// work is in ../run-eval.ts, loaded when the command runs.
import type { Command } from 'commander';
import { DEFAULT_FORGET_SPLIT, FORGET_SPLITS } from '../../pipeline/data-sources.ts';
import { flagLayer } from '../config.ts';

/** A repeatable flag's values, in order. */
const collect = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value];

export function registerEval(program: Command): void {
  program
    .command('eval')
    .description('evaluate a model (TOFU, MUSE-style text, MUSE\'s protocol, multiple choice, your own QA files) and write results.json (lethe.results/1) with per-item values')
    .option('--model <path>', 'the model to evaluate: a folder, a llama2.c .bin file or a Hub name org/name[@revision]')
    .option('--tokenizer <path>', 'tokenizer file or folder of --model, when it is not beside the model')
    .option('--benchmark <name>', 'tofu (default), text (MUSE-style plain text files), muse (the same, labelled MUSE), mc (multiple choice, lm-evaluation-harness scoring), qa (TOFU metrics on your own QA files)')
    .option('--forget-split <split>', `TOFU: ${FORGET_SPLITS.join(', ')} (default ${DEFAULT_FORGET_SPLIT})`)
    .option('--tofu-authors <n>', 'TOFU: a small case of N authors …')
    .option('--authors <n>', 'the same as --tofu-authors')
    .option('--forget-authors <k>', '… K of them forgotten (as lethe train and unlearn)')
    .option('--holdout <file>', 'items no model saw, for membership inference (TOFU: .jsonl; text: one document a line)')
    .option('--forget <file>', 'text: forget documents, one a line')
    .option('--retain <file>', 'text: retain documents, one a line')
    .option('--forget-qa <file>', 'text: question/answer .jsonl about the forget set (KnowMem); qa: the TOFU-format forget set')
    .option('--retain-qa <file>', 'text: question/answer .jsonl about the retain set (KnowMem); qa: the TOFU-format retain set')
    .option('--forget-mc <file>', 'mc: multiple-choice forget set (WMDP .json/.jsonl or MMLU .csv); repeat for several', collect)
    .option('--retain-mc <file>', 'mc: multiple-choice retain set (kept capability, e.g. MMLU); repeat for several', collect)
    .option('--mc-style <style>', "mc: the harness's MMLU prompt: default (lettered options, scores the letter) or continuation (scores the option text)")
    .option('--num-fewshot <k>', 'mc: solved examples before each question (0), the first K of --fewshot-mc')
    .option('--fewshot-mc <file>', "mc: the solved examples (e.g. MMLU's dev split)")
    .option('--holdout-qa <file>', 'qa: TOFU-format items no model saw, for membership inference')
    .option('--retain-model <path>', 'the retain model (the same forms as --model): evaluated too, for forget quality and PrivLeak')
    .option('--retain-results <file>', "the retain model's results.json, instead of --retain-model")
    .option('--reference-model <path>', 'a reference model (the same forms as --model) for the Reference membership-inference attack')
    .option('--max-new-tokens <n>', 'greedy tokens per answer (TOFU: 200) or VerbMem continuation (128)')
    .option('--no-generate', 'score only: no ROUGE, VerbMem or KnowMem (written as unavailable)')
    .option('--prefix-tokens <n>', 'text: VerbMem prompt length in tokens (32)')
    .option('--few-shot <n>', 'text: KnowMem examples before each question (3)')
    .option('--limit <n>', 'TOFU: at most N items per set (quick looks; not comparable with full runs)')
    .option('--batch-size <n>', 'texts per scoring or generation batch (16)')
    .option('--context-length <n>', "longest text in tokens (default: the model's)")
    .option('--template <name>', 'TOFU prompt template: auto, plain, chat')
    .option('--name <name>', 'the model name in the results (default: from its folder)')
    .option('--role <role>', 'target, retain, unlearned or baseline (default: from the run that made the model)')
    .option('--allow-overlap', 'run even when sets share items: the overlap is recorded in results.json and the metrics it invalidates are unavailable')
    .option('--overlong <policy>', 'items longer than the context: skip (default; counted with file:line in results.json), truncate (the answer cut), error (exit 2 naming the file and line)')
    .option('--config <file>', 'YAML file of options; flags override it')
    .option('-o, --out <file>', 'results file to write (required; a folder: results.json in it)')
    .action(async (_options: unknown, cmd: Command) => {
      const { evalCommand, EVAL_PATHS } = await import('../run-eval.ts');
      const flags = flagLayer(cmd, EVAL_PATHS);
      if (flags.values.authors !== undefined) {
        flags.values.tofuAuthors ??= flags.values.authors;
        delete flags.values.authors;
      }
      await evalCommand(flags, cmd.opts().config as string | undefined);
    });
}
