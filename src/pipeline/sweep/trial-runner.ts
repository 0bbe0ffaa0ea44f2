/**
 * The trial runner: what one trial does (unlearn → evaluate → attack), injected into the sweep
 * machinery so that the sweep knows nothing of models. lethe's real runner is wired by the
 * pipeline layer; tests inject a deterministic fake.
 *
 * Contract:
 * - it writes only inside `dir` (its trial folder), checkpoints included, and leaves the input
 *   model untouched;
 * - with `resume` true the folder holds what an earlier, interrupted attempt wrote: continue from
 *   its last checkpoint (a runner that cannot may start over; the metrics must not depend on it);
 * - it returns the headline metrics (each a value with its interval, or null with the reason it
 *   could not be computed), optionally the target model's values of the same metrics on the same
 *   evaluated data (for selection rules "of: target"), and JSON details kept beside them;
 * - a LetheError means bad input (the trial fails and is not retried); any other error may be
 *   transient (a queued trial is retried);
 * - it stops early when `signal` aborts.
 */
import { z } from 'zod';
import type { InputRef, Trial } from './expand.ts';

export const headlineMetricSchema = z
  .strictObject({
    value: z.number().nullable(),
    /** A confidence interval [low, high] (e.g. bootstrap 95%), or null when none applies. */
    interval: z.tuple([z.number(), z.number()]).nullable().optional(),
    /** Why `value` is null. */
    unavailable: z.string().min(1).optional(),
  })
  .refine((m) => m.value !== null || m.unavailable !== undefined, { message: 'value is null but "unavailable" does not say why', path: ['unavailable'] });

export type HeadlineMetric = z.infer<typeof headlineMetricSchema>;

export const trialOutcomeSchema = z.strictObject({
  /** Headline metrics by name: forgetQuality, modelUtility, attack recoveries (relearn.recovered), … */
  metrics: z.record(z.string(), headlineMetricSchema),
  /** The target (the model before unlearning) on the same evaluated data. */
  targetMetrics: z.record(z.string(), headlineMetricSchema).optional(),
  details: z.record(z.string(), z.unknown()).optional(),
});

export type TrialOutcome = z.infer<typeof trialOutcomeSchema>;

export interface TrialContext {
  trial: Trial;
  /** The trial's own folder: `DIR/trials/<id>/` locally, `WORKDIR/trials/<id>/` on a worker. */
  dir: string;
  /** True when `dir` holds an interrupted attempt of this trial. */
  resume: boolean;
  /**
   * Local paths of the inputs by role (model, forget, retain, eval, retainReference), already
   * checked against the trial's content hashes. Use these, not the paths in `trial.config`
   * (those are the coordinator's).
   */
  inputs: Record<string, string>;
  signal: AbortSignal;
}

export type TrialRunner = (ctx: TrialContext) => Promise<TrialOutcome>;

/** Maps an input (the coordinator's path and the content hash) to this machine's path. */
export type InputResolver = (role: string, ref: InputRef) => string;

export const samePath: InputResolver = (_role, ref) => ref.path;
