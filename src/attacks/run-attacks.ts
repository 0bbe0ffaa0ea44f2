// Runs named attacks against one subject and collects their outcomes in the results schema's
// `attacks` shape (name → {before, after, recovered, details}). One Probe holds the subject's
// unattacked measurement, so it is computed (and generated) once for every attack.
import { LetheError } from '../engine/errors.ts';
import type { AttackOutcome } from './attack-outcome.ts';
import type { AttackContext, Subject } from './attack-context.ts';
import { Probe } from './probe.ts';
import { promptAttacks, type PromptAttacksOptions } from './prompts.ts';
import { quantizeAttack, type QuantizeAttackOptions } from './quantize.ts';
import { relearnAttack, type RelearnOptions } from './relearn.ts';

export interface AttackOptions {
  relearn?: RelearnOptions;
  quantize?: QuantizeAttackOptions;
  prompts?: PromptAttacksOptions;
}

/** relearn: on 10% of D_f; relearn-retain: on as many retain items; quantize: 8 and 4 bits; prompts: every prompt attack. */
export const ATTACKS: Record<string, (probe: Probe, options: AttackOptions) => Promise<AttackOutcome[]>> = {
  relearn: async (p, o) => [await relearnAttack(p, o.relearn)],
  'relearn-retain': async (p, o) => [await relearnAttack(p, { ...o.relearn, data: 'retain' })],
  quantize: (p, o) => quantizeAttack(p, o.quantize),
  prompts: (p, o) => promptAttacks(p, o.prompts),
};

export async function runAttacks(subject: Subject, ctx: AttackContext, names: string[], options: AttackOptions = {}, onDone?: (o: AttackOutcome) => void): Promise<AttackOutcome[]> {
  for (const n of names) if (!ATTACKS[n]) throw new LetheError(`unknown attack "${n}" (known: ${Object.keys(ATTACKS).join(', ')})`);
  if (ctx.targetForgetProbs && ctx.targetForgetProbs.length !== ctx.forgetSet.length) {
    throw new LetheError(`attacks: ${ctx.targetForgetProbs.length} target forget probabilities for ${ctx.forgetSet.length} forget items`);
  }
  const probe = new Probe(subject, ctx);
  const outcomes: AttackOutcome[] = [];
  try {
    for (const n of names) {
      let done: AttackOutcome[];
      try {
        done = await ATTACKS[n](probe, options);
      } catch (err) {
        if (err instanceof LetheError) throw new LetheError(`attack ${n}: ${err.message}`, err.exitCode);
        throw err;
      }
      for (const o of done) {
        if (subject.baseline) o.details.baseline = { name: subject.baseline.name, ...subject.baseline.describe() };
        outcomes.push(o);
        onDone?.(o);
      }
    }
  } finally {
    await probe.dispose();
  }
  return outcomes;
}

/** Outcomes as the results schema's `attacks` record. */
export function attackResults(outcomes: readonly AttackOutcome[]): Record<string, Omit<AttackOutcome, 'name'>> {
  return Object.fromEntries(outcomes.map(({ name, ...rest }) => [name, rest]));
}
