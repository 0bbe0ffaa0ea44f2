// What an unlearning run needs beyond the model, read and checked the way `lethe unlearn` does:
// the template, the forget and retain sets (refused when they share items, unless allowOverlap),
// the multiple-choice probe files, the IDK answers, the items fitted to the context per
// `overlong`, and the method with its options and scope resolved against the model.

import { LetheError } from '../engine/errors.ts';
import { TRAINING_OVERLONG } from '../data/batches.ts';
import type { PromptPair, PromptTemplate } from '../data/templates.ts';
import { loadTofuIdk } from '../data/tofu.ts';
import { resolveContextLength, type Model } from '../models/model.ts';
import type { Tokenizer } from '../models/tokenizer/tokenizer.ts';
import type { AnyMethod } from '../unlearn/methods/index.ts';
import { RMU_WMDP_PRESET } from '../unlearn/methods/rmu.ts';
import type { ScopeOptions } from '../unlearn/scope.ts';
import { estimateRunMemory, passesOf, processMemory, type MemoryEstimate } from '../unlearn/memory-estimate.ts';
import { planRun } from '../unlearn/run-plan.ts';
import { pickTemplate, readIdk, unlearningSets } from './data-sources.ts';
import { readMcSides, type McSides } from './eval-mc.ts';
import { resolveMethodFor, type ResolvedUnlearnOptions } from './options/unlearn.ts';
import { optimizerChoice } from './options/training.ts';
import { fitPairs } from './overlong.ts';
import { checkSets, pairItems } from './set-overlap.ts';

export interface UnlearningInputs {
  template: PromptTemplate;
  /** The forget and retain pairs, fitted to the context. */
  forget: PromptPair[];
  retain: PromptPair[];
  idk: string[];
  /** The multiple-choice probe's files (probe 'mc'), else null. */
  mcSides: McSides | null;
  method: AnyMethod;
  scope: ScopeOptions;
}

/**
 * Reads and checks what `resolved` names for a run on `model`/`tokenizer`; fills in
 * `resolved.methodOptions` and `resolved.scope` (resolveMethodFor). `onNotice` gets one line per
 * overlap let through (`warning: --allow-overlap: …`) and per set with items skipped or truncated
 * (`--overlong …`). Throws LetheError naming the file and line for malformed or overlapping sets
 * and, with overlong 'error', items longer than the context.
 */
export function unlearningInputs(resolved: ResolvedUnlearnOptions, model: Model, tokenizer: Tokenizer, onNotice: (line: string) => void = () => {}): UnlearningInputs {
  const template = pickTemplate(resolved.template, tokenizer);
  const sets = unlearningSets(resolved, template);
  if (resolved.preset === 'wmdp') {
    // The WMDP code's max_num_batches: one pass over at most 150 batches of the corpus, read in order.
    const limit = RMU_WMDP_PRESET.maxBatches * resolved.batchSize;
    if (sets.forget.length > limit) {
      onNotice(`--preset wmdp: the forget set's first ${limit} of ${sets.forget.length} documents (${RMU_WMDP_PRESET.maxBatches} batches of ${resolved.batchSize}, the WMDP code's max_num_batches)`);
      sets.forget = sets.forget.slice(0, limit);
    }
  }
  // Ascending and descending the same items unlearns nothing: refuse unless asked.
  const overlap = checkSets([{ name: 'forget', items: pairItems(sets.forget) }, { name: 'retain', items: pairItems(sets.retain) }], resolved.allowOverlap);
  for (const o of overlap) onNotice(`warning: --allow-overlap: ${o.sets[0]} and ${o.sets[1]} share ${o.count} item${o.count === 1 ? '' : 's'} (first: ${o.items[0].first.where} and ${o.items[0].second.where})`);
  // Read (and checked) before anything is written: a malformed file is one line naming file:line.
  const mcSides = resolved.probe === 'mc' ? readMcSides(resolved.forgetMc ?? [], resolved.retainMc ?? []) : null;
  const idk = resolved.idk ? readIdk(resolved.idk) : loadTofuIdk();
  // Items longer than the context, per --overlong (default error: exit 2 naming the file and line, whatever the shuffling).
  // --preset wmdp: texts cut at 512 tokens (the WMDP code tokenises with truncation), unless said otherwise.
  const preset = resolved.preset === 'wmdp';
  const contextLength = resolved.contextLength !== undefined ? resolveContextLength(model.config, resolved.contextLength) : preset ? Math.min(RMU_WMDP_PRESET.maxTokens, model.config.maxPositions) : model.config.maxPositions;
  const fitOptions = { contextLength, policy: resolved.overlong ?? (preset ? 'truncate' as const : TRAINING_OVERLONG), promptSpecialTokens: template.promptSpecialTokens, appendEos: template.appendEos };
  const fitted = { forget: fitPairs(tokenizer, sets.forget, fitOptions), retain: sets.retain.length ? fitPairs(tokenizer, sets.retain, fitOptions) : null };
  for (const [set, fit] of Object.entries(fitted)) {
    const r = fit?.record;
    if (r) onNotice(`--overlong ${r.policy}: ${set}: ${[r.skipped ? `${r.skipped} skipped` : '', r.truncated ? `${r.truncated} truncated` : ''].filter(Boolean).join(', ')} (longer than the ${fitOptions.contextLength}-token context): ${listSome(r.items.map((i) => `${i.where} (${i.tokens} tokens, ${i.action})`))}`);
  }
  // Nothing left to forget is a data error, said before the run folder is claimed (nothing written).
  if (sets.forget.length > 0 && fitted.forget.pairs.length === 0) {
    const where = fitted.forget.record?.items[0]?.where ?? 'the forget set';
    throw new LetheError(`the forget set is empty after --overlong ${fitOptions.policy}: all ${sets.forget.length} items are longer than the ${fitOptions.contextLength}-token context (first: ${where}); use --overlong truncate or a longer --context-length`);
  }
  // Options and scope made concrete for this model (e.g. RMU's middle block and its down-projections).
  const { method, scope } = resolveMethodFor(resolved, model);
  return { template, forget: fitted.forget.pairs, retain: fitted.retain?.pairs ?? [], idk, mcSides, method, scope };
}

/**
 * The peak-memory estimate of the unlearning run `resolved` describes (unlearn/memory-estimate.ts),
 * from the model as loaded and the longest forget or retain item (capped by the context length).
 */
export function unlearningMemoryEstimate(model: Model, tokenizer: Tokenizer, resolved: ResolvedUnlearnOptions, sets: { method: AnyMethod; forget: readonly PromptPair[]; retain: readonly PromptPair[] }): MemoryEstimate {
  const plan = planRun(model, { method: sets.method, methodOptions: resolved.methodOptions, ...(resolved.scope ? { scope: resolved.scope } : {}) });
  const context = resolved.contextLength ?? model.config.maxPositions;
  let longest = 0;
  for (const p of [...sets.forget, ...sets.retain]) longest = Math.max(longest, tokenizer.encode(p.prompt).length + tokenizer.encode(p.target).length + 2);
  return estimateRunMemory(model, {
    scope: plan.scope,
    optimizer: optimizerChoice(resolved),
    batchSize: resolved.batchSize,
    seqLength: Math.min(context, longest),
    passes: passesOf(plan),
    gradientCheckpointing: resolved.gradientCheckpointing === true,
    fullLogits: sets.method.labelLogprobsOnly !== true || plan.wantKl,
  }, processMemory());
}

/** The first few of `items`, then how many more: one notice line stays readable for a large data set. */
function listSome(items: string[], shown = 5): string {
  return items.length <= shown ? items.join(', ') : `${items.slice(0, shown).join(', ')} and ${items.length - shown} more`;
}
