// The method registry: one line per method.
import type { UnlearnMethod } from '../method.ts';
import { ceU } from './ce-u.ts';
import { ga } from './ga.ts';
import { gradDiff } from './grad-diff.ts';
import { idkDpo } from './idk-dpo.ts';
import { npo } from './npo.ts';
import { rmu } from './rmu.ts';
import { satImp } from './satimp.ts';
import { simNpo } from './simnpo.ts';
import { undial } from './undial.ts';
import { wga } from './wga.ts';

export const METHODS: Readonly<Record<string, UnlearnMethod<never>>> = Object.fromEntries(
  [ga, gradDiff, npo, simNpo, idkDpo, rmu, wga, satImp, undial, ceU].map((m) => [m.name, m as UnlearnMethod<never>]),
);
