"""PyTorch side of one scale-suite case (bench/scale.ts), in its own process:
`scale.py CASE MODEL_DIR BATCHES_JSON STEPS WARMUP THREADS`.

Reads the same BF16 checkpoint lethe reads (HF folder, one model.safetensors; parsed here since
Debian's PyTorch 1.13 comes without the safetensors package) and the same batches. Frozen weights
stay in bf16 and are upcast to fp32 for each matmul (in backward too: the upcast copy is not kept
for it), as lethe computes in fp32; trainable weights and AdamW state are fp32 (with
optimizerState "bf16" in the batches file, the moments are kept in bf16 as lethe's
--optimizer-state bf16 keeps them: updated in fp32, stored with stochastic rounding).

    lora_npo   LoRA r 8, alpha 32 on every linear layer of the blocks (PEFT's layout:
               B(A(dropout(x))) * alpha/r), NPO (beta 0.1) on a forget batch + NLL on a retain
               batch, clip 1, AdamW (lr 1e-4, wd 0.01). The reference log-probs come from the
               frozen model once per forget batch before the timed steps, as lethe computes them.
    full_npo   the same objective on every parameter (fp32 copies; lr 1e-5); the bf16 weights
               give the reference log-probs first and are then dropped.
    scoring    forward, log p of the answer tokens (positions P..T-1), no grad.
    generate   greedy decoding with a KV cache, the first P tokens of each row as prompt.

Tokens per second: forget + retain tokens per training step, B*T per scoring pass, new tokens
per generation; over the steps after WARMUP. Last stdout line: {"torch", "tokens_per_second",
"step_seconds", "setup_seconds", "check", "peak_rss_mib"}
(check: scoring's mean answer log-prob of the first pass, which lethe's side computes too) (peak: getrusage of this process).
"""
import json
import math
import os
import resource
import sys
import time

import torch
import torch.nn.functional as F
from torch.utils.checkpoint import checkpoint


def log(msg):
    print(f'torch {sys.argv[1]}: {msg}', file=sys.stderr, flush=True)


def load_safetensors(path):
    """name -> tensor views on one buffer holding the whole file (BF16/F32 only)."""
    with open(path, 'rb') as f:
        n = int.from_bytes(f.read(8), 'little')
        header = json.loads(f.read(n))
        data = bytearray(os.fstat(f.fileno()).st_size - 8 - n)  # read into place: one copy of the weights, not two
        f.readinto(data)
    dtypes = {'BF16': torch.bfloat16, 'F32': torch.float32, 'F16': torch.float16}
    out = {}
    for name, m in header.items():
        if name == '__metadata__':
            continue
        dt = dtypes[m['dtype']]
        begin, end = m['data_offsets']
        count = (end - begin) // torch.tensor([], dtype=dt).element_size()
        out[name] = torch.frombuffer(data, dtype=dt, count=count, offset=begin).view(m['shape']) if count else torch.empty(m['shape'], dtype=dt)
    return out


class UpcastMatmul(torch.autograd.Function):
    """x @ w.float().T for a frozen low-precision w; backward upcasts w again instead of keeping it."""

    @staticmethod
    def forward(ctx, x, w):
        ctx.save_for_backward(w)
        return x @ w.float().t()

    @staticmethod
    def backward(ctx, g):
        (w,) = ctx.saved_tensors
        return g @ w.float(), None


def matmul(x, w):
    if w.dtype == torch.float32:
        return F.linear(x, w)
    return UpcastMatmul.apply(x, w)


def rope(T0, T, hd, theta):
    inv = 1.0 / (theta ** (torch.arange(0, hd, 2, dtype=torch.float64) / hd))
    ang = torch.outer(torch.arange(T0, T0 + T, dtype=torch.float64), inv)
    emb = torch.cat([ang, ang], -1)
    return emb.cos().float(), emb.sin().float()


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat([-x[..., h:], x[..., :h]], -1)


class Llama:
    """Functional Llama forward on a weight dict (HF names); LoRA adapters and a KV cache optional."""

    def __init__(self, cfg, W):
        self.cfg, self.W = cfg, W
        self.nh, self.nkv = cfg['num_attention_heads'], cfg['num_key_value_heads']
        self.hd = cfg['hidden_size'] // self.nh
        self.eps = cfg['rms_norm_eps']
        self.lora = {}
        self.lora_scale = 0.0
        self.dropout = 0.0
        self.training = False
        self.checkpointing = False  # torch.utils.checkpoint per block while training

    def lin(self, x, name):
        y = matmul(x, self.W[name + '.weight'])
        ab = self.lora.get(name)
        if ab is not None:
            xa = F.dropout(x, self.dropout, self.training) if self.dropout > 0 else x
            y = y + (xa @ ab[0]) @ ab[1] * self.lora_scale
        return y

    def rms(self, x, name):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.W[name].float()

    def forward(self, ids, cache=None, start=0):
        W, B, T = self.W, ids.shape[0], ids.shape[1]
        emb = W['model.embed_tokens.weight']
        x = F.embedding(ids, emb).float()
        cos, sin = rope(start, T, self.hd, self.cfg['rope_theta'])
        causal = torch.ones(T, start + T, dtype=torch.bool).triu(start + 1)
        for i in range(self.cfg['num_hidden_layers']):
            if self.checkpointing and self.training and cache is None:
                x = checkpoint(self.block, x, i, cos, sin, causal, None, use_reentrant=False)
            else:
                x = self.block(x, i, cos, sin, causal, cache)
        return matmul(self.rms(x, 'model.norm.weight'), emb)  # tied head

    def block(self, x, i, cos, sin, causal, cache):
        B, T = x.shape[0], x.shape[1]
        p = f'model.layers.{i}.'
        h = self.rms(x, p + 'input_layernorm.weight')
        q = self.lin(h, p + 'self_attn.q_proj').view(B, T, self.nh, self.hd).transpose(1, 2)
        k = self.lin(h, p + 'self_attn.k_proj').view(B, T, self.nkv, self.hd).transpose(1, 2)
        v = self.lin(h, p + 'self_attn.v_proj').view(B, T, self.nkv, self.hd).transpose(1, 2)
        q, k = q * cos + rotate_half(q) * sin, k * cos + rotate_half(k) * sin
        if cache is not None:
            if i in cache:
                k, v = torch.cat([cache[i][0], k], 2), torch.cat([cache[i][1], v], 2)
            cache[i] = (k, v)
        rep = self.nh // self.nkv
        k, v = k.repeat_interleave(rep, 1), v.repeat_interleave(rep, 1)
        s = (q @ k.transpose(-2, -1)) / math.sqrt(self.hd)
        y = s.masked_fill(causal, float('-inf')).softmax(-1) @ v
        x = x + self.lin(y.transpose(1, 2).reshape(B, T, self.nh * self.hd), p + 'self_attn.o_proj')
        h = self.rms(x, p + 'post_attention_layernorm.weight')
        x = x + self.lin(F.silu(self.lin(h, p + 'mlp.gate_proj')) * self.lin(h, p + 'mlp.up_proj'), p + 'mlp.down_proj')
        return x


def answer_logp(logits, ids, P):
    """log p(ids[:, t]) for t in [P, T), (B, T-P)."""
    return F.log_softmax(logits[:, P - 1:-1], -1).gather(-1, ids[:, P:, None]).squeeze(-1)


def stochastic_bf16(x):
    """x (fp32) rounded to bf16 stochastically: random low 16 bits added to its bit pattern, then truncated."""
    bits = x.view(torch.int32) + torch.randint(0, 65536, x.shape, dtype=torch.int32)
    return (bits & -65536).view(torch.float32).to(torch.bfloat16)


class Bf16StateAdamW:
    """torch.optim.AdamW's update (decoupled decay, bias corrections) with m and v kept in bf16."""

    def __init__(self, params, lr, weight_decay, betas=(0.9, 0.999), eps=1e-8):
        self.params, self.lr, self.wd, self.betas, self.eps, self.t = params, lr, weight_decay, betas, eps, 0
        self.m = [torch.zeros_like(p, dtype=torch.bfloat16) for p in params]
        self.v = [torch.zeros_like(p, dtype=torch.bfloat16) for p in params]

    def zero_grad(self, set_to_none=True):
        for p in self.params:
            p.grad = None

    @torch.no_grad()
    def step(self):
        self.t += 1
        b1, b2 = self.betas
        bc1, bc2 = 1 - b1 ** self.t, 1 - b2 ** self.t
        for p, m, v in zip(self.params, self.m, self.v):
            g = p.grad
            m32 = m.float().mul_(b1).add_(g, alpha=1 - b1)
            v32 = v.float().mul_(b2).addcmul_(g, g, value=1 - b2)
            p.mul_(1 - self.lr * self.wd)
            p.addcdiv_(m32, v32.sqrt().div_(math.sqrt(bc2)).add_(self.eps), value=-self.lr / bc1)
            m.copy_(stochastic_bf16(m32))
            v.copy_(stochastic_bf16(v32))


def main():
    which, model_dir, batches_file = sys.argv[1:4]
    steps, warmup, threads = int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    with open(batches_file) as f:
        data = json.load(f)
    B, T, P = data['B'], data['T'], data['P']
    batch = lambda rows, i: torch.tensor(rows[i % len(rows)], dtype=torch.long).view(B, T)  # noqa: E731
    with open(os.path.join(model_dir, 'config.json')) as f:
        cfg = json.load(f)
    t0 = time.perf_counter()
    W = load_safetensors(os.path.join(model_dir, 'model.safetensors'))
    log(f'loaded in {time.perf_counter() - t0:.1f} s')
    model = Llama(cfg, W)
    times, tokens, setup, check = [], 0, 0.0, None
    n = warmup + steps

    if which in ('lora_npo', 'full_npo'):
        start = time.perf_counter()
        with torch.no_grad():
            refs = [answer_logp(model.forward(batch(data['forget'], i)), batch(data['forget'], i), P).sum(-1) for i in range(n)]
        if which == 'lora_npo':
            r, alpha = 8, 32
            for name in [k[:-len('.weight')] for k in W if '.layers.' in k and k.endswith('proj.weight')]:
                out_dim, in_dim = W[name + '.weight'].shape
                a = torch.empty(in_dim, r)
                torch.nn.init.kaiming_uniform_(a.t(), a=math.sqrt(5))  # PEFT's A initialisation
                model.lora[name] = (a.requires_grad_(), torch.zeros(r, out_dim, requires_grad=True))
            model.lora_scale, model.dropout = alpha / r, data['loraDropout']
            params = [t for ab in model.lora.values() for t in ab]
            lr = 1e-4
        else:
            for k in list(W):  # trainable fp32 copies; the bf16 file buffer is released with the last view
                W[k] = W[k].float().requires_grad_()
            params = list(W.values())
            lr = 1e-5
        model.training = True
        model.checkpointing = bool(data.get('gradientCheckpointing'))
        bf16_state = data.get('optimizerState') == 'bf16'
        opt = Bf16StateAdamW(params, lr=lr, weight_decay=0.01) if bf16_state else torch.optim.AdamW(params, lr=lr, weight_decay=0.01)
        beta = 0.1
        for i in range(n):
            s = time.perf_counter()
            f, rt = batch(data['forget'], i), batch(data['retain'], i)
            cur = answer_logp(model.forward(f), f, P).sum(-1)
            npo = -(2 / beta) * F.logsigmoid(-beta * (cur - refs[i])).mean()
            nll = -answer_logp(model.forward(rt), rt, P).mean()
            loss = npo + nll
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
            dt = time.perf_counter() - s
            log(f'step {i + 1}/{n} {dt:.2f} s, loss {loss.item():.4f}')
            if i >= warmup:
                times.append(dt)
                tokens += 2 * B * T
        setup = time.perf_counter() - start - sum(times)
    elif which == 'scoring':
        with torch.no_grad():
            for i in range(n):
                ids = batch(data['forget'], i)
                s = time.perf_counter()
                logp = answer_logp(model.forward(ids), ids, P)
                dt = time.perf_counter() - s
                log(f'pass {i}: {dt:.2f} s, mean answer log p {logp.mean().item():.4f}')
                check = logp.mean().item() if check is None else check
                if i < warmup:
                    setup += dt
                else:
                    times.append(dt)
                    tokens += B * T
    elif which == 'generate':
        with torch.no_grad():
            for i in range(n):
                ids = batch(data['forget'], i)[:, :P]
                s = time.perf_counter()
                cache = {}
                logits = model.forward(ids, cache, 0)
                made = []
                for j in range(data['newTokens']):
                    nxt = logits[:, -1].argmax(-1, keepdim=True)
                    made.append(nxt)
                    if j + 1 < data['newTokens']:
                        logits = model.forward(nxt, cache, P + j)
                dt = time.perf_counter() - s
                log(f'generation {i}: {B * len(made)} tokens in {dt:.2f} s')
                if i < warmup:
                    setup += dt
                else:
                    times.append(dt)
                    tokens += B * len(made)
    else:
        raise SystemExit(f'unknown case {which}')
    print(json.dumps({
        'torch': torch.__version__, 'threads': threads, 'tokens_per_second': tokens / sum(times),
        'step_seconds': times, 'setup_seconds': setup, 'check': check,
        'peak_rss_mib': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }))


if __name__ == '__main__':
    main()
