// Measures a subject on probe texts the way TOFU measures a model: Prob = exp(−ce) of the answer,
// teacher-forced through the shared scoring pass, and (when generation is on) ROUGE-L recall of
// the greedy generation against the answer. A baseline's prompt transformer is applied to every
// prompt first and its output transformer to every generation; an output transformer cannot
// change teacher-forced Prob.
import { encodePair, generationPrompt, trimCompletion } from '../data/batches.ts';
import { Scorer } from '../eval/score.ts';
import { rougeL } from '../eval/stats/rouge.ts';
import { Generator } from '../models/generate.ts';
import { resolveContextLength, type Model } from '../models/model.ts';
import { mean, type AttackScores } from './attack-outcome.ts';
import { standardProbes, type AttackContext, type ProbeItem, type Subject } from './attack-context.ts';

/** REFERENCE.md (TOFU ROUGE): greedy generation of up to 200 new tokens. */
export const DEFAULT_MAX_NEW_TOKENS = 200;

export interface Measured {
  /** Per item: exp(−ce) of the target. */
  prob: number[];
  /** Per item: ROUGE-L recall of the generation against the target; null without generation. */
  rouge: number[] | null;
  /** The generations (after the output transformer); null without generation. */
  generations: string[] | null;
}

export class Probe {
  private scorer: Scorer | null = null;
  private generator: Generator | null = null;
  /** Raw generations by prompt: the unattacked measurement is shared by every attack. */
  private readonly generated = new Map<string, string>();

  constructor(
    readonly subject: Subject,
    readonly ctx: AttackContext,
  ) {}

  /** The same subject (baseline and context) around another model: an attacked copy. */
  withModel(model: Model): Probe {
    return new Probe({ ...this.subject, model }, this.ctx);
  }

  /** The unattacked forget-set measurement (template prompts, true answers); cached. */
  standard(): Promise<Measured> {
    return this.measure(standardProbes(this.ctx.template, this.ctx.forgetSet));
  }

  /** The prompt the model sees for `item`: the baseline's transformer applied, if any. */
  promptOf(item: ProbeItem): string {
    const t = this.subject.baseline?.transformPrompt;
    return t ? t.call(this.subject.baseline, item.prompt, item.question) : item.prompt;
  }

  /** Whether the item's prompt (as the model sees it) and target fit the context, as the scoring pass counts tokens. */
  fits(item: ProbeItem): boolean {
    const { tokenizer, template } = this.ctx;
    const limit = resolveContextLength(this.subject.model.config, this.ctx.contextLength);
    return encodePair(tokenizer, { prompt: this.promptOf(item), target: item.target }, template).ids.length <= limit;
  }

  /** Prob for every item; ROUGE too unless `rouge` is false or the context has no generation. */
  async measure(items: readonly ProbeItem[], options: { rouge?: boolean } = {}): Promise<Measured> {
    const prompts = items.map((i) => this.promptOf(i));
    this.scorer ??= new Scorer(this.subject.model, this.ctx.tokenizer, {
      template: this.ctx.template,
      batchSize: this.ctx.batchSize,
      contextLength: this.ctx.contextLength,
    });
    const scored = await this.scorer.score(items.map((it, k) => ({ prompt: prompts[k], target: it.target })));
    const prob = scored.map((s) => Math.exp(-s.ce));
    if (!this.ctx.generation || options.rouge === false) return { prob, rouge: null, generations: null };
    const generations = await this.generate(prompts);
    const rouge = items.map((it, k) => rougeL(it.target, generations[k], { stem: true }).recall);
    return { prob, rouge, generations };
  }

  /** Greedy generations for full prompts (cached), through the baseline's output transformer. */
  async generate(prompts: string[]): Promise<string[]> {
    this.generator ??= new Generator(this.subject.model, this.ctx.tokenizer, {
      promptSpecialTokens: this.ctx.template.promptSpecialTokens,
      maxLength: resolveContextLength(this.subject.model.config, this.ctx.contextLength),
    });
    const todo = [...new Set(prompts.filter((p) => !this.generated.has(p)))];
    if (todo.length > 0) {
      // From the prompt as it stands in a whole-text encoding (data/batches.ts generationPrompt).
      const fresh = await this.generator.generate(todo.map(generationPrompt), {
        maxNewTokens: this.ctx.generation?.maxNewTokens ?? DEFAULT_MAX_NEW_TOKENS,
        temperature: 0,
      });
      todo.forEach((p, k) => this.generated.set(p, trimCompletion(p, fresh[k])));
    }
    const raw = prompts.map((p) => this.generated.get(p)!);
    const out = this.subject.baseline?.transformOutput;
    return out ? raw.map((g) => out.call(this.subject.baseline, g)) : raw;
  }

  async dispose(): Promise<void> {
    await this.scorer?.dispose();
    await this.generator?.dispose();
    this.scorer = null;
    this.generator = null;
  }
}

/** forgetProb (and forgetRouge) of a measurement, optionally over the items at `at` only. */
export function forgetScores(m: Measured, at?: readonly number[]): AttackScores {
  const pick = (xs: number[]) => (at ? at.map((i) => xs[i]) : xs);
  const scores: AttackScores = { forgetProb: mean(pick(m.prob)) };
  if (m.rouge) scores.forgetRouge = mean(pick(m.rouge));
  return scores;
}
