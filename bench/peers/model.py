"""PyTorch side of the model benchmark, on the GPT-2-124M shape (random weights, std 0.02):

  train_step  forward, backward, clip 1.0, AdamW on B×T tokens (mean next-token loss)
  scoring     forward only, log-probs of every token (log_softmax + gather), no grad
  generate    greedy decoding of N new tokens after a P-token prompt, B = 1, with a KV cache

One case per process (`--case`), so peak resident memory is the case's own. Stderr: readable
lines; last stdout line: {"torch": ver, "threads": N, "case": name, "tokens_per_second": ..,
"seconds": median, "peak_rss_mib": ..}.
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

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from models import build_model, gelu_new, next_token_loss  # noqa: E402

CFG = dict(model_type='gpt2', vocab_size=50257, n_embd=768, n_layer=12, n_head=12, n_positions=1024,
           layer_norm_epsilon=1e-5, tie_word_embeddings=True, activation_function='gelu_new')


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def model():
    torch.manual_seed(0)
    m = build_model(CFG)
    for p in m.parameters():
        torch.nn.init.normal_(p, std=0.02) if p.dim() > 1 else torch.nn.init.zeros_(p)
    return m


def cached_step(m, ids, cache, pos):
    """GPT-2 forward of `ids` (B, T) at positions pos.. with a per-layer (k, v) cache; returns last logits."""
    t = m.transformer
    B, T = ids.shape
    x = t.wte(ids) + t.wpe(torch.arange(pos, pos + T))
    for i, block in enumerate(t.h):
        a = block.attn
        h = block.ln_1(x)
        C = h.shape[-1]
        hs = C // a.n_head
        q, k, v = a.c_attn(h).split(C, dim=2)
        q, k, v = (z.view(B, T, a.n_head, hs).transpose(1, 2) for z in (q, k, v))
        if cache[i] is not None:
            k = torch.cat([cache[i][0], k], dim=2)
            v = torch.cat([cache[i][1], v], dim=2)
        cache[i] = (k, v)
        scores = q @ k.transpose(-2, -1) / math.sqrt(hs)
        if T > 1:
            S = k.shape[2]
            future = torch.ones(T, S, dtype=torch.bool).triu(S - T + 1)
            scores = scores.masked_fill(future, float('-inf'))
        y = (scores.softmax(-1) @ v).transpose(1, 2).reshape(B, T, C)
        x = x + a.c_proj(y)
        x = x + block.mlp(block.ln_2(x))
    return t.ln_f(x[:, -1]) @ t.wte.weight.T


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--case', required=True, choices=['train_step', 'scoring', 'generate'])
    ap.add_argument('--batch', type=int, default=8)
    ap.add_argument('--seq', type=int, default=128)
    ap.add_argument('--prompt', type=int, default=16)
    ap.add_argument('--new-tokens', type=int, default=128)
    ap.add_argument('--steps', type=int, default=3)
    ap.add_argument('--threads', type=int, default=os.cpu_count())
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    m = model()
    g = torch.Generator().manual_seed(1)
    times = []
    if args.case == 'train_step':
        ids = torch.randint(0, 50257, (args.batch, args.seq), generator=g)
        opt = torch.optim.AdamW(m.parameters(), lr=1e-4, weight_decay=0.01)
        for i in range(args.steps + 1):
            t0 = time.perf_counter()
            loss = next_token_loss(m(ids), ids)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(m.parameters(), 1.0)
            opt.step()
            times.append(time.perf_counter() - t0)
            log(f'train step {i}: {times[-1]:.2f} s, loss {loss.item():.4f}')
        tokens = args.batch * args.seq
    elif args.case == 'scoring':
        ids = torch.randint(0, 50257, (args.batch, args.seq), generator=g)
        with torch.no_grad():
            for i in range(args.steps + 1):
                t0 = time.perf_counter()
                logp = F.log_softmax(m(ids)[:, :-1], -1).gather(-1, ids[:, 1:, None])
                times.append(time.perf_counter() - t0)
                log(f'scoring pass {i}: {times[-1]:.2f} s, mean logp {logp.mean().item():.3f}')
        tokens = args.batch * args.seq
    else:
        prompt = torch.randint(0, 50257, (1, args.prompt), generator=g)
        with torch.no_grad():
            for i in range(args.steps + 1):
                t0 = time.perf_counter()
                cache = [None] * len(m.transformer.h)
                logits = cached_step(m, prompt, cache, 0)
                pos = args.prompt
                for _ in range(args.new_tokens):
                    nxt = logits.argmax(-1, keepdim=True)
                    logits = cached_step(m, nxt, cache, pos)
                    pos += 1
                times.append(time.perf_counter() - t0)
                log(f'generation {i}: {times[-1]:.2f} s for {args.new_tokens} tokens')
        tokens = args.new_tokens
    med = statistics.median(times[1:])  # the first run warms up
    out = {'torch': torch.__version__, 'threads': args.threads, 'case': args.case, 'tokens_per_second': tokens / med,
           'seconds': med, 'peak_rss_mib': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
    print(json.dumps(out))


if __name__ == '__main__':
    main()
