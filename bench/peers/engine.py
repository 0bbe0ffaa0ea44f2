"""PyTorch side of the engine benchmark: the same train steps lethe's engine runs, timed.

A train step is forward, backward, gradient-norm clipping to 1.0 and one AdamW update
(lr 1e-4, betas 0.9/0.999, eps 1e-8, weight decay 0.01), all float32 on the CPU.

Cases (shapes fixed so both sides do the same FLOPs):
  mlp     x [1024, 1024] -> Linear(1024, 4096) -> GELU (exact, erf) -> Linear(4096, 1024);
          loss = mean((out - target)^2).
  blocks  4 GPT-2-style pre-LayerNorm blocks, width 768, 12 heads of 64, x [8, 128, 768];
          h = x + proj(causal_attn(ln1(x))); out = h + fc2(gelu_erf(fc1(ln2(h))));
          loss = mean((out - target)^2).

Human-readable lines go to stderr; the last stdout line is one JSON object:
  {"torch": ver, "threads": N, "cases": {name: {"seconds_per_step": median, "steps": n}},
   "peak_rss_mib": ...}
`--check` runs 3 steps from a fixed seed and reports the losses instead (they should fall).
"""
import argparse
import json
import math
import os
import resource
import statistics
import sys
import time

import torch
import torch.nn.functional as F
from torch import nn


def log(msg):
    print(msg, file=sys.stderr, flush=True)


class Mlp(nn.Module):
    def __init__(self, d=1024, hidden=4096):
        super().__init__()
        self.fc1 = nn.Linear(d, hidden)
        self.fc2 = nn.Linear(hidden, d)

    def forward(self, x):
        return self.fc2(F.gelu(self.fc1(x)))  # exact (erf) GELU, F.gelu's default


class Block(nn.Module):
    """GPT-2-style pre-LN block; attention written out (torch 1.13 has no fused SDPA)."""

    def __init__(self, d=768, n_head=12):
        super().__init__()
        self.n_head = n_head
        self.ln1 = nn.LayerNorm(d, eps=1e-5)
        self.qkv = nn.Linear(d, 3 * d)
        self.proj = nn.Linear(d, d)
        self.ln2 = nn.LayerNorm(d, eps=1e-5)
        self.fc1 = nn.Linear(d, 4 * d)
        self.fc2 = nn.Linear(4 * d, d)

    def attn(self, x):
        B, T, C = x.shape
        hs = C // self.n_head
        q, k, v = self.qkv(x).split(C, dim=2)
        q = q.view(B, T, self.n_head, hs).transpose(1, 2)  # (B, nh, T, hs)
        k = k.view(B, T, self.n_head, hs).transpose(1, 2)
        v = v.view(B, T, self.n_head, hs).transpose(1, 2)
        scores = (q @ k.transpose(-2, -1)) / math.sqrt(hs)  # (B, nh, T, T)
        causal = torch.ones(T, T, dtype=torch.bool).triu(1)
        scores = scores.masked_fill(causal, float('-inf'))
        y = scores.softmax(dim=-1) @ v  # (B, nh, T, hs)
        return self.proj(y.transpose(1, 2).reshape(B, T, C))

    def forward(self, x):
        h = x + self.attn(self.ln1(x))
        return h + self.fc2(F.gelu(self.fc1(self.ln2(h))))


class Blocks(nn.Module):
    def __init__(self, n_layer=4):
        super().__init__()
        self.blocks = nn.ModuleList(Block() for _ in range(n_layer))

    def forward(self, x):
        for block in self.blocks:
            x = block(x)
        return x


def make_case(name):
    """Model, input and target for one case (from the current RNG state)."""
    if name == 'mlp':
        model = Mlp()
        x, target = torch.randn(1024, 1024), torch.randn(1024, 1024)
    elif name == 'blocks':
        model = Blocks()
        x, target = torch.randn(8, 128, 768), torch.randn(8, 128, 768)
    else:
        raise ValueError(f'unknown case {name!r}')
    return model, x, target


def make_step(model, x, target):
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, betas=(0.9, 0.999), eps=1e-8,
                            weight_decay=0.01)

    def step():
        opt.zero_grad(set_to_none=True)
        loss = torch.mean((model(x) - target) ** 2)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        return loss.item()

    return step


def time_case(name, steps, warmup):
    torch.manual_seed(0)
    step = make_step(*make_case(name))
    for _ in range(warmup):
        step()
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    median = statistics.median(times)
    log(f'{name}: median {median * 1000:.1f} ms/step over {steps} steps '
        f'(min {min(times) * 1000:.1f}, max {max(times) * 1000:.1f})')
    return {'seconds_per_step': median, 'steps': steps}


def check_case(name):
    torch.manual_seed(1234)
    step = make_step(*make_case(name))
    losses = [step() for _ in range(3)]
    log(f'{name}: losses ' + ', '.join(f'{v:.6f}' for v in losses))
    return losses


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--case', choices=['mlp', 'blocks', 'all'], default='all')
    p.add_argument('--steps', type=int, default=10, help='timed steps')
    p.add_argument('--warmup', type=int, default=3, help='untimed steps first')
    p.add_argument('--threads', type=int, default=os.cpu_count() or 1)
    p.add_argument('--check', action='store_true', help='3 seeded steps, print the losses')
    args = p.parse_args()

    torch.set_num_threads(args.threads)
    names = ['mlp', 'blocks'] if args.case == 'all' else [args.case]
    log(f'torch {torch.__version__}, {torch.get_num_threads()} threads')
    if args.check:
        result = {'torch': torch.__version__, 'threads': args.threads,
                  'check': {name: check_case(name) for name in names}}
    else:
        cases = {name: time_case(name, args.steps, args.warmup) for name in names}
        result = {'torch': torch.__version__, 'threads': args.threads, 'cases': cases}
    # ru_maxrss is in KiB on Linux.
    result['peak_rss_mib'] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(result, separators=(',', ':')))


if __name__ == '__main__':
    main()
