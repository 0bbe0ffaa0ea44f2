// One run as the report sees it: its results file and, when there is one, its training log.
import type { Results } from '../results/schema.ts';
import type { RunLog } from './log.ts';

export interface ReportRun {
  /** Shown in every table and chart; usually the run directory's name. */
  name: string;
  results: Results;
  log?: RunLog;
}
