// What an evaluation cost (REFERENCE.md, Efficiency): wall time, tokens through the model
// (scored texts, generation prompts and generated tokens), FLOPs estimated as 2·N per token
// (a forward pass; N the model's parameter count), and the process's peak resident memory.
// A counting Scorer and a counting generate function feed it.

import { cutAtStop, Generator } from '../models/generate.ts';
import type { Model } from '../models/model.ts';
import type { Tokenizer } from '../models/tokenizer/tokenizer.ts';
import { encodePair, generationPrompt, trimCompletion } from '../data/batches.ts';
import type { PromptPair, PromptTemplate } from '../data/templates.ts';
import { Scorer, type ScoredText, type ScorerOptions } from '../eval/score.ts';

export class EvalMeter {
  readonly started = performance.now();
  tokensScored = 0;
  tokensPrompted = 0;
  tokensGenerated = 0;
  flops = 0;

  add(kind: 'scored' | 'prompted' | 'generated', tokens: number, parameters: number): void {
    if (kind === 'scored') this.tokensScored += tokens;
    else if (kind === 'prompted') this.tokensPrompted += tokens;
    else this.tokensGenerated += tokens;
    this.flops += 2 * parameters * tokens;
  }

  /** The results file's efficiency record. */
  efficiency(): { wallSeconds: number; tokens: number; flops: number; peakRssMiB: number } {
    return {
      wallSeconds: (performance.now() - this.started) / 1000,
      tokens: this.tokensScored + this.tokensPrompted + this.tokensGenerated,
      flops: this.flops,
      // maxRSS is in KiB.
      peakRssMiB: process.resourceUsage().maxRSS / 1024,
    };
  }
}

/** A Scorer that adds the tokens of each newly scored text (prompt + target) to a meter. */
export class CountingScorer extends Scorer {
  private readonly counted = new Set<string>();
  private readonly pairOptions: { promptSpecialTokens: boolean; appendEos: boolean };

  constructor(model: Model, tokenizer: Tokenizer, options: ScorerOptions, private readonly meter: EvalMeter) {
    super(model, tokenizer, options);
    this.pairOptions = { promptSpecialTokens: options.template.promptSpecialTokens, appendEos: options.template.appendEos };
  }

  override async score(pairs: readonly PromptPair[]): Promise<ScoredText[]> {
    const scored = await super.score(pairs);
    const parameters = this.model.size;
    scored.forEach((s, i) => {
      const key = `${pairs[i].prompt}\u0000${pairs[i].target}`;
      if (this.counted.has(key)) return;
      this.counted.add(key);
      const prompt = encodePair(this.tokenizer, pairs[i], this.pairOptions).promptLength;
      // With an empty prompt the first target token is not scored but still runs through the model.
      this.meter.add('scored', prompt + s.tokenLogprobs.length + (prompt === 0 ? 1 : 0), parameters);
    });
    return scored;
  }
}

export interface GenerateSettings {
  maxNewTokens: number;
  stop?: string[];
}

/**
 * Greedy generation that counts prompt and generated tokens; prompts are encoded as the
 * template says (its BOS), completions decoded without special tokens and cut at stop strings.
 */
export function countingGenerate(generator: Generator, template: Pick<PromptTemplate, 'promptSpecialTokens'>, meter: EvalMeter) {
  const { tokenizer, model } = generator;
  return async (prompts: string[], settings: GenerateSettings): Promise<string[]> => {
    // From the prompt as it stands in a whole-text encoding (data/batches.ts generationPrompt).
    const ids = prompts.map((p) => tokenizer.encode(generationPrompt(p), { addSpecialTokens: template.promptSpecialTokens }));
    const completions = await generateIds(generator, ids, settings, meter, model.size);
    return completions.map((c, i) => trimCompletion(prompts[i], c));
  };
}

/** Greedy completions of prompts given as token ids (VerbMem's exact token prefixes). */
export async function generateIds(generator: Generator, ids: number[][], settings: GenerateSettings, meter: EvalMeter, parameters = generator.model.size): Promise<string[]> {
  const stop = settings.stop ?? [];
  const tokens = await generator.generateTokens(ids, { maxNewTokens: settings.maxNewTokens, stop });
  meter.add('prompted', ids.reduce((a, p) => a + p.length, 0), parameters);
  meter.add('generated', tokens.reduce((a, t) => a + t.length, 0), parameters);
  return tokens.map((t) => cutAtStop(generator.tokenizer.decode(t, { skipSpecialTokens: true }), stop));
}
