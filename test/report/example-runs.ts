// Runs for the report tests: the valid fixture (an NPO run with its log) and variants of it
// that a comparison has: the target, the retain model, a GA run whose forget quality is
// unavailable and whose loss diverged, and a MUSE run.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { ReportRun } from '../../src/report/html.ts';
import { parseLog } from '../../src/report/log.ts';
import { parseResults, type Results } from '../../src/results/schema.ts';

export const FIXTURES = fileURLToPath(new URL('../fixtures/report/', import.meta.url));
export const VALID_RUN = `${FIXTURES}npo-forget10`;
export const INVALID_RESULTS = `${FIXTURES}invalid-results.json`;
export const FQ_UNAVAILABLE = 'forget quality needs the forget-set truth ratios of a retain model; none were given';

export function validResults(): Results {
  const file = `${VALID_RUN}/results.json`;
  return parseResults(JSON.parse(readFileSync(file, 'utf8')), file);
}

function variant(change: (r: Results) => void): Results {
  const r = validResults();
  delete r.attacks;
  change(r);
  return parseResults(r, 'variant');
}

const metric = (value: number) => ({ value });

export function exampleRuns(): ReportRun[] {
  const npoFile = `${VALID_RUN}/log.jsonl`;
  const target = variant((r) => {
    r.role = 'target';
    delete r.method;
    Object.assign(r.metrics.tofu, { forgetQuality: metric(4e-25), modelUtility: metric(0.63), forgetProb: metric(0.95), forgetRouge: metric(0.97), forgetTruthRatio: metric(0.48), retainProb: metric(0.96) });
    Object.assign(r.metrics.memorisation, { exactMemorization: metric(0.93), extractionStrength: metric(0.71) });
    Object.assign(r.metrics.mia, { lossAuc: metric(0.97), minKAuc: metric(0.96), privLeak: metric(-94.1) });
  });
  const retain = variant((r) => {
    r.role = 'retain';
    delete r.method;
    Object.assign(r.metrics.tofu, { forgetQuality: metric(1), modelUtility: metric(0.61), forgetProb: metric(0.16), forgetRouge: metric(0.39), forgetTruthRatio: metric(0.66), retainProb: metric(0.95) });
    Object.assign(r.metrics.mia, { lossAuc: metric(0.5), minKAuc: metric(0.51), privLeak: metric(0) });
  });
  const ga = variant((r) => {
    r.method = { name: 'ga', options: { lr: 1e-5 } };
    Object.assign(r.metrics.tofu, {
      forgetQuality: { value: null, unavailable: FQ_UNAVAILABLE, perItem: [0.1, 0.2] },
      modelUtility: metric(0),
      forgetProb: metric(0.002),
    });
    r.attacks = { relearn: { before: { forgetProb: 0.002 }, after: { forgetProb: 0.73 }, recovered: 0.767 } };
  });
  const muse = variant((r) => {
    r.benchmark = { name: 'muse', forgetSplit: 'news' };
    r.metrics = {
      muse: { verbMem: metric(0.121), knowMemForget: metric(0.184), knowMemRetain: metric(0.402) },
      mia: { minKAuc: metric(0.55), privLeak: metric(-9.7) },
    };
  });
  const gaLog = Array.from({ length: 30 }, (_, i) => JSON.stringify({ step: i + 1, loss: i < 28 ? -2 - i * i * 0.05 : null, forgetLoss: -2 - i * i * 0.05, lr: 1e-5 })).join('\n');
  return [
    { name: 'target', results: target },
    { name: 'retain', results: retain },
    { name: 'npo-forget10', results: validResults(), log: parseLog(readFileSync(npoFile, 'utf8'), npoFile) },
    { name: 'ga-forget10', results: ga, log: parseLog(gaLog, 'ga.jsonl') },
    { name: 'simnpo-news', results: muse },
  ];
}
