// Model benchmark on the GPT-2-124M shape: a train step (B 8 × T 128, AdamW), a scoring pass
// (forward only, log-probs of every token) and greedy generation of 128 tokens with the KV cache,
// each beside the same work in PyTorch (bench/peers/model.py), each case in its own process so
// that peak resident memory is the case's own.

import { spawnSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { LetheError } from '../src/engine/errors.ts';
import { runPeer } from './peer.ts';
import type { SuiteResult } from './util.ts';

interface CaseResult {
  tokens_per_second: number;
  peak_rss_mib: number;
}

function runLethe(name: string): CaseResult {
  const script = fileURLToPath(new URL('./model-case.ts', import.meta.url));
  const r = spawnSync(process.execPath, ['--import', 'tsx', script, name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 24 });
  const last = r.stdout.trim().split('\n').pop() ?? '';
  if (r.status !== 0) throw new LetheError(`bench/model-case.ts ${name} failed (exit ${r.status})`);
  return JSON.parse(last) as CaseResult;
}

export async function benchModel(opts: { log: (s: string) => void }): Promise<SuiteResult> {
  const threads = String(availableParallelism());
  const names = ['train_step', 'scoring', 'generate'];
  let torch = '';
  const rows = names.map((name) => {
    const lethe = runLethe(name);
    opts.log(`lethe ${name}: ${lethe.tokens_per_second.toFixed(1)} tokens/s, peak ${lethe.peak_rss_mib.toFixed(0)} MiB`);
    const peer = runPeer('model.py', ['--case', name, '--threads', threads]) as CaseResult & { torch: string };
    torch = peer.torch;
    opts.log(`torch ${name}: ${peer.tokens_per_second.toFixed(1)} tokens/s, peak ${peer.peak_rss_mib.toFixed(0)} MiB`);
    return { name, lethe, peer };
  });
  const cases = rows.map((r) => ({
    name: r.name,
    lethe: Number(r.lethe.tokens_per_second.toFixed(2)),
    peer: Number(r.peer.tokens_per_second.toFixed(2)),
    unit: 'tokens/s',
    ratio: Number((r.lethe.tokens_per_second / r.peer.tokens_per_second).toFixed(3)),
    lethe_rss_mib: Math.round(r.lethe.peak_rss_mib),
    peer_rss_mib: Math.round(r.peer.peak_rss_mib),
  }));
  const rssRatio = Math.max(...cases.map((c) => c.lethe_rss_mib / c.peer_rss_mib));
  return {
    suite: 'model',
    table: {
      head: ['case', 'lethe tokens/s', `PyTorch ${torch} tokens/s`, 'ratio', 'lethe peak MiB', 'PyTorch peak MiB'],
      rows: cases.map((c) => [c.name, c.lethe.toFixed(1), c.peer.toFixed(1), c.ratio.toFixed(2), String(c.lethe_rss_mib), String(c.peer_rss_mib)]),
      notes: ['GPT-2-124M shape, random weights; train step and scoring on 8 × 128 tokens, generation of 128 tokens after a 16-token prompt (B = 1); rss_ratio is the largest lethe/PyTorch peak-memory ratio over the cases'],
    },
    json: { suite: 'model', cases, min_ratio: Math.min(...cases.map((c) => c.ratio)), rss_ratio: Number(rssRatio.toFixed(3)) },
  };
}
