"""PyTorch side of the unlearning benchmark: NPO with a retain NLL term on the GPT-2-124M shape,
the way the published framework (open-unlearning's NPO trainer) runs it: the frozen reference
model does a forward pass on every forget batch, every step.

Per step: reference forward on the forget batch (no grad), policy forward on the forget and the
retain batch, L = NPO(β = 0.1) + NLL(retain), backward, clip to 1.0, AdamW (lr 1e-5, wd 0.01).
Batches: B rows of T tokens, random ids from a fixed seed; the first `--prompt` positions of each
row are prompt (no loss), the rest target — the same shapes lethe's side runs.

Stderr: human-readable lines; last stdout line: {"torch": ver, "threads": N, "samples_per_second":
.., "seconds_per_step": median, "steps": n, "peak_rss_mib": ..}.
"""
import argparse
import json
import os
import resource
import statistics
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from models import build_model  # noqa: E402


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def seq_logp(logits, ids, mask):
    """Σ over target positions of log p(ids[t+1] | …), per row."""
    logp = F.log_softmax(logits[:, :-1], dim=-1).gather(-1, ids[:, 1:, None]).squeeze(-1)
    return (logp * mask[:, 1:]).sum(-1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--batch', type=int, default=4)
    ap.add_argument('--seq', type=int, default=128)
    ap.add_argument('--prompt', type=int, default=32)
    ap.add_argument('--batches', type=int, default=4, help='forget batches per epoch')
    ap.add_argument('--epochs', type=int, default=2)
    ap.add_argument('--threads', type=int, default=os.cpu_count())
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    cfg = dict(model_type='gpt2', vocab_size=50257, n_embd=768, n_layer=12, n_head=12, n_positions=1024,
               layer_norm_epsilon=1e-5, tie_word_embeddings=True, activation_function='gelu_new')
    policy = build_model(cfg)
    for p in policy.parameters():  # GPT-2's initialisation scale (the timing does not depend on it)
        torch.nn.init.normal_(p, std=0.02) if p.dim() > 1 else torch.nn.init.zeros_(p)
    reference = build_model(cfg)
    reference.load_state_dict(policy.state_dict())
    reference.eval()
    for p in reference.parameters():
        p.requires_grad_(False)
    opt = torch.optim.AdamW(policy.parameters(), lr=1e-5, weight_decay=0.01)
    B, T = args.batch, args.seq
    g = torch.Generator().manual_seed(1)
    forget = [torch.randint(0, 50257, (B, T), generator=g) for _ in range(args.batches)]
    retain = [torch.randint(0, 50257, (B, T), generator=g) for _ in range(args.batches)]
    mask = torch.zeros(B, T)
    mask[:, args.prompt:] = 1
    beta = 0.1
    times = []
    for epoch in range(args.epochs):
        for i in range(args.batches):
            t0 = time.perf_counter()
            f, r = forget[i], retain[(i * 7 + epoch) % args.batches]
            with torch.no_grad():
                ref = seq_logp(reference(f), f, mask)
            cur = seq_logp(policy(f), f, mask)
            npo = -(2 / beta) * F.logsigmoid(-beta * (cur - ref)).mean()
            logits = policy(r)
            nll = F.cross_entropy(logits[:, :-1].reshape(-1, logits.shape[-1]), r[:, 1:].reshape(-1), reduction='none')
            nll = (nll * mask[:, 1:].reshape(-1)).sum() / mask[:, 1:].sum()
            loss = npo + nll
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(policy.parameters(), 1.0)
            opt.step()
            times.append(time.perf_counter() - t0)
            log(f'step {len(times)}: {times[-1]:.2f} s, loss {loss.item():.4f}')
    total = sum(times)
    out = {
        'torch': torch.__version__, 'threads': args.threads,
        'samples_per_second': len(times) * B / total,
        'seconds_per_step': statistics.median(times), 'steps': len(times),
        'peak_rss_mib': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }
    log(f"torch {out['torch']}: {out['samples_per_second']:.3f} samples/s over {len(times)} steps")
    print(json.dumps(out))


if __name__ == '__main__':
    main()
