// Learning-rate schedules: linear warm-up from 0, then constant, linear decay to 0, or cosine
// decay to 0 (as transformers' get_*_schedule_with_warmup).

export type ScheduleKind = 'constant' | 'linear' | 'cosine';

export interface Schedule {
  kind: ScheduleKind;
  lr: number;
  warmupSteps: number;
  totalSteps: number;
}

/** The learning rate for 0-based step `step`. */
export function lrAt(s: Schedule, step: number): number {
  if (step < s.warmupSteps) return (s.lr * (step + 1)) / s.warmupSteps;
  const span = Math.max(1, s.totalSteps - s.warmupSteps);
  const progress = Math.min(1, (step - s.warmupSteps) / span);
  switch (s.kind) {
    case 'constant':
      return s.lr;
    case 'linear':
      return s.lr * (1 - progress);
    case 'cosine':
      return s.lr * 0.5 * (1 + Math.cos(Math.PI * progress));
  }
}
