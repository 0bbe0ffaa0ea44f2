// The headline metrics the report's tables show, per benchmark, with how each is read. Any
// other metric in a results file still appears in the "all metrics" table under it.
import type { NumberFormat } from './format.ts';
import type { BenchmarkName, Results } from '../results/schema.ts';

export interface MetricColumn {
  family: string;
  metric: string;
  label: string;
  format: NumberFormat;
  /** What the number is and which way is good (the column header's tooltip). */
  help: string;
}

const col = (family: string, metric: string, label: string, format: NumberFormat, help: string): MetricColumn => ({
  family, metric, label, format, help,
});

const TOFU: MetricColumn[] = [
  col('tofu', 'forgetQuality', 'Forget quality', 'scientific', 'p-value of a KS test between the forget-set truth ratios of this model and of the retain model; higher is closer to never having seen the data'),
  col('tofu', 'modelUtility', 'Model utility', 'fixed', 'harmonic mean of Prob, ROUGE-L recall and truth ratio on retain set, real authors and world facts; higher is better'),
  col('tofu', 'forgetProb', 'Forget Prob', 'fixed', 'mean probability of the forget-set answers; lower means forgotten (the retain model is the aim)'),
  col('tofu', 'forgetRouge', 'Forget ROUGE', 'fixed', 'ROUGE-L recall of greedy answers on the forget set; lower means forgotten'),
  col('tofu', 'forgetTruthRatio', 'Truth ratio', 'fixed', 'forget set, mean of min(R, 1/R); near the retain model’s value is best'),
  col('tofu', 'retainProb', 'Retain Prob', 'fixed', 'mean probability of the retain-set answers; higher is better'),
];

const MUSE: MetricColumn[] = [
  col('muse', 'verbMem', 'VerbMem', 'fixed', 'ROUGE-L F1 of continuations of forget texts; lower means forgotten'),
  col('muse', 'knowMemForget', 'KnowMem forget', 'fixed', 'ROUGE-L F1 of answers about the forget set; lower means forgotten'),
  col('muse', 'knowMemRetain', 'KnowMem retain', 'fixed', 'ROUGE-L F1 of answers about the retain set; higher is better'),
];

const MC: MetricColumn[] = [
  col('mc', 'forgetAcc', 'Forget acc', 'fixed', 'multiple-choice accuracy on the forget-side sets, pooled; lower means forgotten, chance is the floor'),
  col('mc', 'forgetChance', 'Forget chance', 'fixed', 'accuracy of guessing on the forget-side sets (mean of 1/options)'),
  col('mc', 'retainAcc', 'Retain acc', 'fixed', 'multiple-choice accuracy on the retain-side sets, pooled; higher is better'),
  col('mc', 'retainChance', 'Retain chance', 'fixed', 'accuracy of guessing on the retain-side sets'),
  col('mc', 'forgetAccNorm', 'Forget acc_norm', 'fixed', 'acc_norm (log-likelihood per character of the option) on the forget side'),
  col('mc', 'retainAccNorm', 'Retain acc_norm', 'fixed', 'acc_norm on the retain side'),
];

const MEMORISATION: MetricColumn[] = [
  col('memorisation', 'exactMemorization', 'EM', 'fixed', 'Exact Memorization: share of forget-set tokens the model predicts exactly; lower means forgotten'),
  col('memorisation', 'extractionStrength', 'ES', 'fixed', 'Extraction Strength: 1 − (shortest prefix after which the rest is predicted)/length; lower means forgotten'),
];

const MIA_NAMES: Record<string, string> = {
  loss: 'LOSS', zlib: 'ZLib', minK: 'Min-K%', minKPlusPlus: 'Min-K%++', reference: 'Ref', gradNorm: 'GradNorm',
};

/** MIA AUC columns present in any run, known attacks first, then the rest by name. */
function miaColumns(runs: readonly Results[]): MetricColumn[] {
  const present = new Set(runs.flatMap((r) => Object.keys(r.metrics.mia ?? {})).filter((m) => m.endsWith('Auc')));
  const known = Object.keys(MIA_NAMES).map((a) => `${a}Auc`).filter((m) => present.has(m));
  const others = [...present].filter((m) => !known.includes(m)).sort();
  const auc = [...known, ...others].map((m) => {
    const attack = m.slice(0, -3);
    return col('mia', m, `AUC ${MIA_NAMES[attack] ?? attack}`, 'fixed', `${MIA_NAMES[attack] ?? attack} membership-inference AUC, forget vs holdout; 0.5 (the retain model’s value) means the forget set looks unseen, 1 means still memorised`);
  });
  return [
    ...auc,
    col('mia', 'privLeak', 'PrivLeak', 'signed', 'MUSE PrivLeak, % change of the Min-K% AUC from the retain model; near 0 is ideal, strongly negative is under-unlearning, strongly positive over-unlearning'),
  ];
}

/** The columns of one benchmark's table: those that at least one of its runs has. */
export function headlineColumns(benchmark: BenchmarkName, runs: readonly Results[]): MetricColumn[] {
  // VerbMem and KnowMem are the headline of any text benchmark (MUSE-style files too), not only of MUSE.
  const own = benchmark === 'tofu' || benchmark === 'qa' ? TOFU : benchmark === 'mc' ? MC : MUSE;
  const all = [...own, ...MEMORISATION, ...miaColumns(runs)];
  return all.filter((c) => runs.some((r) => r.metrics[c.family]?.[c.metric] !== undefined));
}

/** Short run-level explanation under each benchmark's table. */
export const BENCHMARK_HELP: Record<BenchmarkName, string> = {
  tofu: 'TOFU (fictitious authors). Good unlearning: forget quality high (the retain model scores 1), model utility as high as the target’s, forget Prob, ROUGE, EM and ES near the retain model’s, MIA AUCs near 0.5.',
  muse: 'MUSE (news / books). Good unlearning: VerbMem and KnowMem on the forget set low, KnowMem on the retain set kept, PrivLeak near 0.',
  text: 'Plain text forget set (MUSE-style). Good unlearning: VerbMem and KnowMem on the forget set low, KnowMem on the retain set kept, EM, ES and MIA AUCs near the retain model’s values (AUC 0.5), PrivLeak near 0.',
  mc: 'Multiple choice (lm-evaluation-harness scoring), pooled per side; the per-set tables and the plot are under Multiple choice. Good capability unlearning: forget-side accuracy down to chance, retain-side accuracy kept.',
  qa: 'TOFU metrics on your own question/answer files. Good unlearning: forget quality high (against the retain model), model utility kept, forget Prob and ROUGE near the retain model’s.',
};
