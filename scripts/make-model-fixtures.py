#!/usr/bin/env python3
"""Writes test/fixtures/models/<case>/: small random HF-format models (and llama2.c checkpoints)
with golden logits, loss and gradients from the plain-PyTorch references in bench/peers/models.py
(GPT-2, Llama, Qwen2, Mistral, llama2.c) and the ones written below from the Hugging Face modeling
code (RoPE scaling, Qwen 3, OLMo 2, Gemma 1/2/3 text, Phi-3, GPT-NeoX, Phi-1.5/2, OPT).

Run from anywhere with a Python that has torch and numpy (Debian: python3-torch, python3-numpy):
    python3 scripts/make-model-fixtures.py
Deterministic: fixed seeds, so a re-run writes byte-identical files. See
test/fixtures/models/README.md for what each file holds.

The references run in float64 on float32 (or f16/bf16-rounded) weights; goldens are stored as
F32. The safetensors writer and reader are here (no safetensors package needed).
"""
import json
import math
import os
import struct
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parent.parent
sys.dont_write_bytecode = True  # no __pycache__ left in bench/peers
sys.path.insert(0, str(ROOT / 'bench' / 'peers'))
from models import build_model, gelu_new, llama2c_forward, next_token_loss, repeat_kv  # noqa: E402

OUT = ROOT / 'test' / 'fixtures' / 'models'
VOCAB, BATCH, SEQ = 96, 2, 12

# ---------------------------------------------------------------------------------------------
# safetensors: u64 LE header length, JSON header {name: {dtype, shape, data_offsets}} padded with
# spaces to 8 bytes, then the raw little-endian data in header order.

NP_DTYPE = {'F32': '<f4', 'F16': '<f2', 'I64': '<i8', 'BF16': '<u2'}


def to_bytes(t, dtype):
    """torch tensor -> (raw bytes, dtype) in the safetensors dtype asked for."""
    t = t.detach().cpu()
    if dtype == 'BF16':
        bits = t.to(torch.bfloat16).view(torch.int16).numpy().astype('<i2')
        return bits.tobytes(), dtype
    if dtype == 'I64':
        return t.to(torch.int64).numpy().astype('<i8').tobytes(), dtype
    return t.to(torch.float64).numpy().astype(NP_DTYPE[dtype]).tobytes(), dtype


def write_safetensors(path, tensors):
    """tensors: {name: (torch tensor, dtype)}; data laid out in sorted-name order."""
    header, chunks, offset = {'__metadata__': {'format': 'pt'}}, [], 0
    for name in sorted(tensors):
        t, dtype = tensors[name]
        data, _ = to_bytes(t, dtype)
        header[name] = {'dtype': dtype, 'shape': list(t.shape), 'data_offsets': [offset, offset + len(data)]}
        chunks.append(data)
        offset += len(data)
    h = json.dumps(header, separators=(',', ':')).encode()
    h += b' ' * (-len(h) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(h)))
        f.write(h)
        for c in chunks:
            f.write(c)
    return offset


def read_safetensors(path):
    """{name: float64/int64 torch tensor}, checking the offsets tile the data exactly."""
    raw = Path(path).read_bytes()
    (n,) = struct.unpack('<Q', raw[:8])
    header = json.loads(raw[8:8 + n])
    assert header.pop('__metadata__') == {'format': 'pt'}
    data, out, end = raw[8 + n:], {}, 0
    for name, info in sorted(header.items(), key=lambda kv: kv[1]['data_offsets']):
        a, b = info['data_offsets']
        assert a == end, f'{path}: gap before {name}'
        end = b
        arr = np.frombuffer(data[a:b], dtype=NP_DTYPE[info['dtype']])
        if info['dtype'] == 'BF16':
            arr = (arr.astype(np.uint32) << 16).view(np.float32)
        t = torch.from_numpy(arr.copy()).reshape(info['shape'])
        out[name] = t if info['dtype'] == 'I64' else t.to(torch.float64)
    assert end == len(data), f'{path}: trailing bytes'
    return out


# ---------------------------------------------------------------------------------------------
# configs (valid HF configs for each class)

COMMON = {'vocab_size': VOCAB, 'bos_token_id': 1, 'eos_token_id': 2, 'torch_dtype': 'float32',
          'initializer_range': 0.2, 'use_cache': True}


def gpt2_config():
    return {**COMMON, 'architectures': ['GPT2LMHeadModel'], 'model_type': 'gpt2',
            'n_embd': 32, 'n_head': 4, 'n_layer': 2, 'n_positions': 32, 'n_ctx': 32, 'n_inner': None,
            'activation_function': 'gelu_new', 'layer_norm_epsilon': 1e-5, 'tie_word_embeddings': True,
            'attn_pdrop': 0.0, 'embd_pdrop': 0.0, 'resid_pdrop': 0.0, 'scale_attn_weights': True,
            'scale_attn_by_inverse_layer_idx': False, 'reorder_and_upcast_attn': False,
            'summary_activation': None, 'summary_first_dropout': 0.1, 'summary_proj_to_labels': True,
            'summary_type': 'cls_index', 'summary_use_proj': True}


def llama_config(model_type, hidden, inter, kv, theta, eps, tied, **extra):
    arch = {'llama': 'LlamaForCausalLM', 'qwen2': 'Qwen2ForCausalLM', 'mistral': 'MistralForCausalLM'}
    cfg = {**COMMON, 'architectures': [arch[model_type]], 'model_type': model_type,
           'hidden_size': hidden, 'intermediate_size': inter, 'num_hidden_layers': 2,
           'num_attention_heads': 4, 'num_key_value_heads': kv, 'hidden_act': 'silu',
           'max_position_embeddings': 64, 'rms_norm_eps': eps, 'rope_theta': theta,
           'rope_scaling': None, 'attention_dropout': 0.0, 'tie_word_embeddings': tied}
    if model_type == 'llama':
        cfg.update({'attention_bias': False, 'mlp_bias': False, 'pretraining_tp': 1})
    cfg.update(extra)
    return cfg


CASES = {
    'gpt2': gpt2_config(),
    'llama-gqa': llama_config('llama', 32, 64, 2, 10000.0, 1e-6, False),
    'llama-tied': llama_config('llama', 48, 64, 4, 10000.0, 1e-5, True),  # SmolLM-like
    'qwen2': llama_config('qwen2', 48, 80, 2, 1000000.0, 1e-6, False, use_sliding_window=False,
                          sliding_window=None, max_window_layers=2),
    'mistral': llama_config('mistral', 48, 96, 1, 1000000.0, 1e-5, False, sliding_window=None),
}

# ---------------------------------------------------------------------------------------------
# weights and goldens


def is_norm_weight(name):
    return name.endswith('.weight') and any(k in name for k in ('ln_', 'layernorm', 'norm.'))


def init_weights(model, seed):
    """std 0.2 matrices, std 0.1 biases, norm weights 1 + 0.1 N: large enough that a wrong
    formula (eps, GELU variant, RoPE layout) moves the logits well past float32 noise."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            z = torch.randn(p.shape, generator=g, dtype=torch.float32)
            p.copy_(1.0 + 0.1 * z if is_norm_weight(name) else (0.2 if p.dim() == 2 else 0.1) * z)


def input_ids(seed):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, VOCAB, (BATCH, SEQ), generator=g)


def golden(model, ids):
    """Forward + backward in float64: {input_ids, logits, loss, grad.<name>} for safetensors."""
    model.zero_grad(set_to_none=True)
    logits = model(ids)
    loss = next_token_loss(logits, ids)
    loss.backward()
    out = {'input_ids': (ids, 'I64'), 'logits': (logits, 'F32'), 'loss': (loss, 'F32')}
    for name, p in model.named_parameters():
        out['grad.' + name] = (p.grad, 'F32')
    return out, loss.item()


def write_case(case, cfg, weights, ids, dtype='F32', shards=1):
    """weights: {HF name: float32 tensor}. Rounds to dtype, writes model file(s), config and
    golden computed (float64) from the rounded weights. Returns the rounded weights."""
    d = OUT / case
    d.mkdir(parents=True, exist_ok=True)
    cfg = {**cfg, 'torch_dtype': {'F32': 'float32', 'F16': 'float16', 'BF16': 'bfloat16'}[dtype]}
    (d / 'config.json').write_text(json.dumps(cfg, indent=2, sort_keys=True) + '\n')
    tensors = {n: (w, dtype) for n, w in weights.items()}
    if shards == 1:
        write_safetensors(d / 'model.safetensors', tensors)
        loaded = read_safetensors(d / 'model.safetensors')
    else:
        names = list(weights)  # module order; split into contiguous halves like HF's sharding
        cut = (len(names) + 1) // 2
        weight_map, total, loaded = {}, 0, {}
        for i, part in enumerate([names[:cut], names[cut:]]):
            fname = f'model-{i + 1:05d}-of-{shards:05d}.safetensors'
            total += write_safetensors(d / fname, {n: tensors[n] for n in part})
            weight_map.update({n: fname for n in part})
            loaded.update(read_safetensors(d / fname))
        index = {'metadata': {'total_size': total}, 'weight_map': weight_map}
        (d / 'model.safetensors.index.json').write_text(json.dumps(index, indent=2, sort_keys=True) + '\n')

    # What a loader reads back must be exactly the weights rounded to the stored dtype.
    assert sorted(loaded) == sorted(weights), case
    for n, w in weights.items():
        expect, _ = to_bytes(w, dtype)
        got, _ = to_bytes(loaded[n].to(torch.float32), dtype)
        assert expect == got, f'{case}: {n} does not round-trip'

    model = build_model(cfg).double()
    with torch.no_grad():
        for n, p in model.named_parameters():
            p.copy_(loaded[n])
    gold, loss = golden(model, ids)
    write_safetensors(d / 'golden.safetensors', gold)
    print(f'{case}: loss {loss:.6f}, {sum(w.numel() for w in weights.values())} parameters')
    return loaded, gold


def check_gpt2_attention_row(model, ids):
    """One attention row of layer 0, head 0 recomputed by hand in numpy (float64)."""
    t = model.transformer
    T, hs = ids.shape[1], t.wte.weight.shape[1] // 4
    with torch.no_grad():
        x = (t.wte.weight[ids[0]] + t.wpe.weight[:T]).numpy()  # (T, C)
        ln = t.h[0].ln_1
        xn = (x - x.mean(-1, keepdims=True)) / np.sqrt(x.var(-1, keepdims=True) + ln.eps)
        xn = xn * ln.weight.numpy() + ln.bias.numpy()
        qkv = xn @ t.h[0].attn.c_attn.weight.numpy() + t.h[0].attn.c_attn.bias.numpy()
        C = x.shape[1]
        q, k, v = qkv[:, :hs], qkv[:, C:C + hs], qkv[:, 2 * C:2 * C + hs]  # head 0
        r = 5
        s = q[r] @ k[:r + 1].T / math.sqrt(hs)
        a = np.exp(s - s.max())
        a /= a.sum()
        by_hand = a @ v[:r + 1]
        ours = t.h[0].attn.heads(t.h[0].ln_1(torch.from_numpy(x)[None]))[0, 0, r].numpy()
    assert np.allclose(by_hand, ours, atol=1e-12), (by_hand, ours)


# ---------------------------------------------------------------------------------------------
# llama2.c


def permute_to_hf(w, n_heads):
    """llama2.c/Meta interleaved rows (pairs 2i, 2i+1 per head) -> HF rotate_half rows
    (first half of each head the even rows, second half the odd), as HF's converter does."""
    out_dim, in_dim = w.shape
    return w.view(n_heads, out_dim // n_heads // 2, 2, in_dim).transpose(1, 2).reshape(out_dim, in_dim)


def llama2c_tokenizer():
    """A made-up 96-token vocab in llama2.c's layout: <unk>, BOS, EOS, single characters
    (score -100 - i), then merges ranked by score (-rank; higher merges first)."""
    singles = list(" abcdefghijklmnopqrstuvwxyz.,!?'0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ")
    merges = ['th', 'he', 'in', 'er', 'an', ' t', ' a', 're', 'on', 'at', 'en', 'nd', 'ti',
              'es', 'or', 'te', 'of', 'ed', 'is', 'it', 'al', 'ar', 'st', 'to', 'nt']
    tokens = [('<unk>', 0.0), ('\n<s>\n', 0.0), ('\n</s>\n', 0.0)]
    tokens += [(c, -100.0 - i) for i, c in enumerate(singles)]
    tokens += [(m, -float(i)) for i, m in enumerate(merges)]
    assert len(tokens) == VOCAB and len({t for t, _ in tokens}) == VOCAB
    encoded = [(t.encode('utf-8'), s) for t, s in tokens]
    out = struct.pack('<i', max(len(b) for b, _ in encoded))
    for b, s in encoded:
        out += struct.pack('<fi', s, len(b)) + b
    return out


def write_llama2c(case, shared, n_kv, seed):
    dim, hidden, n_layers, n_heads, max_seq = 48, 80, 2, 4, 32
    hd = dim // n_heads
    kv_dim = n_kv * hd
    g = torch.Generator().manual_seed(seed)

    def rnd(*shape, std=0.2):
        return std * torch.randn(shape, generator=g, dtype=torch.float32)

    def norm():
        return 1.0 + rnd(dim, std=0.1)

    w = {'tok_embeddings': rnd(VOCAB, dim), 'layers': []}
    for _ in range(n_layers):
        w['layers'].append({'attention_norm': norm(), 'wq': rnd(dim, dim), 'wk': rnd(kv_dim, dim),
                            'wv': rnd(kv_dim, dim), 'wo': rnd(dim, dim), 'ffn_norm': norm(),
                            'w1': rnd(hidden, dim), 'w2': rnd(dim, hidden), 'w3': rnd(hidden, dim)})
    w['norm'] = norm()
    w['output'] = w['tok_embeddings'] if shared else rnd(VOCAB, dim)

    # The legacy (v0) export: 7 int32, then float32 tensors grouped by kind across layers.
    freqs = 1.0 / (10000.0 ** (torch.arange(0, hd, 2)[: hd // 2].float() / hd))
    angles = torch.outer(torch.arange(max_seq).float(), freqs)  # (max_seq, hd/2)
    blob = struct.pack('<7i', dim, hidden, n_layers, n_heads, n_kv, VOCAB if shared else -VOCAB, max_seq)
    parts = [w['tok_embeddings']]
    for kind in ('attention_norm', 'wq', 'wk', 'wv', 'wo', 'ffn_norm', 'w1', 'w2', 'w3'):
        parts += [L[kind] for L in w['layers']]
    parts += [w['norm'], torch.cos(angles), torch.sin(angles)]
    if not shared:
        parts.append(w['output'])
    blob += b''.join(p.contiguous().numpy().astype('<f4').tobytes() for p in parts)

    d = OUT / case
    d.mkdir(parents=True, exist_ok=True)
    (d / 'model.bin').write_bytes(blob)
    (d / 'tokenizer.bin').write_bytes(llama2c_tokenizer())

    ids = input_ids(seed + 1)
    w64 = {k: (v.double() if torch.is_tensor(v) else [{n: t.double() for n, t in L.items()} for L in v])
           for k, v in w.items()}
    p = {'dim': dim, 'n_heads': n_heads, 'n_kv_heads': n_kv}
    logits = llama2c_forward(w64, p, ids)
    loss = next_token_loss(logits, ids)

    # The same model converted to HF's layout (wq/wk rows permuted) must give the same logits
    # through the HF Llama reference: the check a TypeScript llama2.c loader repeats.
    cfg = llama_config('llama', dim, hidden, n_kv, 10000.0, 1e-5, shared, max_position_embeddings=max_seq)
    hf = build_model(cfg).double()
    with torch.no_grad():
        sd = dict(hf.named_parameters())
        sd['model.embed_tokens.weight'].copy_(w64['tok_embeddings'])
        sd['model.norm.weight'].copy_(w64['norm'])
        if not shared:
            sd['lm_head.weight'].copy_(w64['output'])
        for i, L in enumerate(w64['layers']):
            pre = f'model.layers.{i}.'
            pairs = {'input_layernorm.weight': L['attention_norm'],
                     'self_attn.q_proj.weight': permute_to_hf(L['wq'], n_heads),
                     'self_attn.k_proj.weight': permute_to_hf(L['wk'], n_kv),
                     'self_attn.v_proj.weight': L['wv'], 'self_attn.o_proj.weight': L['wo'],
                     'post_attention_layernorm.weight': L['ffn_norm'],
                     'mlp.gate_proj.weight': L['w1'], 'mlp.down_proj.weight': L['w2'],
                     'mlp.up_proj.weight': L['w3']}
            for n, t in pairs.items():
                sd[pre + n].copy_(t)
        assert torch.allclose(hf(ids), logits, atol=1e-10), f'{case}: HF-layout logits differ'

    write_safetensors(d / 'golden.safetensors',
                      {'input_ids': (ids, 'I64'), 'logits': (logits, 'F32'), 'loss': (loss, 'F32')})
    print(f'{case}: loss {loss.item():.6f}, {len(blob)} bytes')


# ---------------------------------------------------------------------------------------------
# RoPE scaling and the other decoders (Qwen 3, OLMo 2, Gemma 1/2/3 text, Phi-3), written here in
# plain torch from the Hugging Face modeling code (modeling_rope_utils.py, modeling_qwen3.py,
# modeling_olmo2.py, modeling_gemma*.py, modeling_phi3.py): a functional forward over a dict of
# HF-named float64 tensors.

GEMMA = ('gemma', 'gemma2', 'gemma3_text')


def rope_inv_freq(rotary_dim, theta, scaling, seq_len, max_pos, cfg):
    """(inv_freq [R/2], attention_factor) as transformers computes them for a call whose longest
    position is seq_len - 1 (dynamic and longrope depend on it)."""
    R = rotary_dim
    base = lambda th: 1.0 / (th ** (torch.arange(0, R, 2, dtype=torch.float64) / R))
    kind = None if scaling is None else scaling.get('rope_type', scaling.get('type'))
    if kind in (None, 'default'):
        return base(theta), 1.0
    if kind == 'linear':
        return base(theta) / scaling['factor'], 1.0
    if kind == 'dynamic':
        orig = scaling.get('original_max_position_embeddings', max_pos)
        if seq_len > orig:
            f = scaling['factor']
            theta = theta * ((f * seq_len / orig) - (f - 1)) ** (R / (R - 2))
        return base(theta), 1.0
    if kind == 'llama3':
        inv = base(theta)
        f, lo, hi, old = (scaling[k] for k in ('factor', 'low_freq_factor', 'high_freq_factor', 'original_max_position_embeddings'))
        wavelen = 2 * math.pi / inv
        scaled = torch.where(wavelen > old / lo, inv / f, inv)
        smooth = (old / wavelen - lo) / (hi - lo)
        smoothed = (1 - smooth) * scaled / f + smooth * scaled
        medium = (wavelen >= old / hi) & (wavelen <= old / lo)
        return torch.where(medium, smoothed, scaled), 1.0
    if kind == 'yarn':
        f = scaling['factor']
        orig = scaling.get('original_max_position_embeddings') or max_pos
        att = scaling.get('attention_factor') or (0.1 * math.log(f) + 1.0)
        fast, slow = scaling.get('beta_fast') or 32, scaling.get('beta_slow') or 1
        corr = lambda rot: (R * math.log(orig / (rot * 2 * math.pi))) / (2 * math.log(theta))
        low, high = max(math.floor(corr(fast)), 0), min(math.ceil(corr(slow)), R - 1)
        if low == high:
            high += 0.001
        ramp = torch.clamp((torch.arange(R // 2, dtype=torch.float64) - low) / (high - low), 0, 1)
        extra = 1 - ramp
        inv = base(theta)
        return (inv / f) * (1 - extra) + inv * extra, att
    if kind in ('longrope', 'su'):
        orig = cfg['original_max_position_embeddings']
        f = cfg['max_position_embeddings'] / orig
        att = scaling.get('attention_factor') or math.sqrt(1 + math.log(f) / math.log(orig))
        ext = torch.tensor(scaling['long_factor'] if seq_len > orig else scaling['short_factor'], dtype=torch.float64)
        return base(theta) / ext, att
    raise ValueError(kind)


def decoder_names(cfg):
    """HF tensor names and shapes ([out, in] for linears) of a Llama-family decoder."""
    t = cfg['model_type']
    C, I, V, L = cfg['hidden_size'], cfg['intermediate_size'], cfg['vocab_size'], cfg['num_hidden_layers']
    H, G = cfg['num_attention_heads'], cfg['num_key_value_heads']
    D = cfg.get('head_dim') or C // H
    out = {'model.embed_tokens.weight': (V, C)}
    for i in range(L):
        p = f'model.layers.{i}.'
        if t != 'olmo2':
            out[p + 'input_layernorm.weight'] = (C,)
        if t == 'phi3':
            out[p + 'self_attn.qkv_proj.weight'] = ((H + 2 * G) * D, C)
        else:
            out[p + 'self_attn.q_proj.weight'] = (H * D, C)
            out[p + 'self_attn.k_proj.weight'] = (G * D, C)
            out[p + 'self_attn.v_proj.weight'] = (G * D, C)
        out[p + 'self_attn.o_proj.weight'] = (C, H * D)
        if t in ('qwen3', 'gemma3_text'):
            out[p + 'self_attn.q_norm.weight'] = (D,)
            out[p + 'self_attn.k_norm.weight'] = (D,)
        if t == 'olmo2':
            out[p + 'self_attn.q_norm.weight'] = (H * D,)
            out[p + 'self_attn.k_norm.weight'] = (G * D,)
        out[p + 'post_attention_layernorm.weight'] = (C,)
        if t in ('gemma2', 'gemma3_text'):
            out[p + 'pre_feedforward_layernorm.weight'] = (C,)
        if t in ('gemma2', 'gemma3_text', 'olmo2'):
            out[p + 'post_feedforward_layernorm.weight'] = (C,)
        if t == 'phi3':
            out[p + 'mlp.gate_up_proj.weight'] = (2 * I, C)
        else:
            out[p + 'mlp.gate_proj.weight'] = (I, C)
            out[p + 'mlp.up_proj.weight'] = (I, C)
        out[p + 'mlp.down_proj.weight'] = (C, I)
    out['model.norm.weight'] = (C,)
    if not cfg['tie_word_embeddings']:
        out['lm_head.weight'] = (V, C)
    return out


def decoder_forward(cfg, w, ids):
    """Logits [B, T, V] of the decoder `cfg` with HF-named weights `w` (float64)."""
    t = cfg['model_type']
    B, T = ids.shape
    C, H, G = cfg['hidden_size'], cfg['num_attention_heads'], cfg['num_key_value_heads']
    D = cfg.get('head_dim') or C // H
    eps = cfg['rms_norm_eps']
    gemma = t in GEMMA

    def rms(x, weight):
        y = x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps)
        return y * (1.0 + weight) if gemma else y * weight

    def act(x):
        return F.gelu(x, approximate='tanh') if gemma else F.silu(x)

    R = int(D * cfg.get('partial_rotary_factor', 1.0))
    pos = torch.arange(T, dtype=torch.float64)

    def cos_sin(theta, scaling):
        inv, att = rope_inv_freq(R, theta, scaling, T, cfg['max_position_embeddings'], cfg)
        emb = torch.outer(pos, inv)
        emb = torch.cat([emb, emb], -1)
        return emb.cos() * att, emb.sin() * att

    def rotate(x, cs):  # x (B, heads, T, D): first R dims rotated (rotate_half), the rest passed
        cos, sin = cs
        xr, xp = x[..., :R], x[..., R:]
        h = R // 2
        rot = torch.cat([-xr[..., h:], xr[..., :h]], -1)
        return torch.cat([xr * cos + rot * sin, xp], -1)

    global_rope = cos_sin(cfg['rope_theta'], cfg.get('rope_scaling'))
    local_rope = cos_sin(cfg['rope_local_base_freq'], None) if t == 'gemma3_text' else global_rope
    n = cfg['num_hidden_layers']
    if t == 'gemma2':
        sliding = [i % 2 == 0 for i in range(n)]
    elif t == 'gemma3_text':
        sliding = [bool((i + 1) % cfg['sliding_window_pattern']) for i in range(n)]
    elif t == 'phi3' and cfg.get('sliding_window'):
        sliding = [True] * n
    else:
        sliding = [False] * n
    q_idx = torch.arange(T)[:, None]
    k_idx = torch.arange(T)[None, :]
    causal = k_idx <= q_idx
    windowed = causal & (q_idx - k_idx < (cfg.get('sliding_window') or T + 1))
    scale = cfg['query_pre_attn_scalar'] ** -0.5 if t in ('gemma2', 'gemma3_text') else D ** -0.5
    cap = cfg.get('attn_logit_softcapping') if t in ('gemma2', 'gemma3_text') else None

    x = w['model.embed_tokens.weight'][ids]
    if gemma:
        x = x * (C ** 0.5)
    for i in range(n):
        p = f'model.layers.{i}.'
        lin = lambda h, name: h @ w[p + name + '.weight'].T
        h = x if t == 'olmo2' else rms(x, w[p + 'input_layernorm.weight'])
        if t == 'phi3':
            qkv = lin(h, 'self_attn.qkv_proj')
            q, k, v = qkv.split([H * D, G * D, G * D], -1)
        else:
            q, k, v = lin(h, 'self_attn.q_proj'), lin(h, 'self_attn.k_proj'), lin(h, 'self_attn.v_proj')
        if t == 'olmo2':
            q, k = rms(q, w[p + 'self_attn.q_norm.weight']), rms(k, w[p + 'self_attn.k_norm.weight'])
        q = q.view(B, T, H, D)
        k = k.view(B, T, G, D)
        v = v.view(B, T, G, D).transpose(1, 2)
        if t in ('qwen3', 'gemma3_text'):
            q, k = rms(q, w[p + 'self_attn.q_norm.weight']), rms(k, w[p + 'self_attn.k_norm.weight'])
        q, k = q.transpose(1, 2), k.transpose(1, 2)
        cs = local_rope if sliding[i] else global_rope
        q, k = rotate(q, cs), rotate(k, cs)
        k, v = repeat_kv(k, H // G), repeat_kv(v, H // G)
        s = (q @ k.transpose(-2, -1)) * scale
        if cap:
            s = torch.tanh(s / cap) * cap
        s = s.masked_fill(~(windowed if sliding[i] else causal), float('-inf'))
        y = torch.softmax(s, -1) @ v
        y = lin(y.transpose(1, 2).reshape(B, T, H * D), 'self_attn.o_proj')
        if t in ('olmo2', 'gemma2', 'gemma3_text'):
            y = rms(y, w[p + 'post_attention_layernorm.weight'])
        x = x + y
        if t == 'olmo2':
            h = x
        elif t in ('gemma2', 'gemma3_text'):
            h = rms(x, w[p + 'pre_feedforward_layernorm.weight'])
        else:
            h = rms(x, w[p + 'post_attention_layernorm.weight'])
        if t == 'phi3':
            gate, up = lin(h, 'mlp.gate_up_proj').chunk(2, -1)
        else:
            gate, up = lin(h, 'mlp.gate_proj'), lin(h, 'mlp.up_proj')
        m = lin(act(gate) * up, 'mlp.down_proj')
        if t in ('olmo2', 'gemma2', 'gemma3_text'):
            m = rms(m, w[p + 'post_feedforward_layernorm.weight'])
        x = x + m
    x = rms(x, w['model.norm.weight'])
    head = w['model.embed_tokens.weight'] if cfg['tie_word_embeddings'] else w['lm_head.weight']
    logits = x @ head.T
    final = cfg.get('final_logit_softcapping') if t in ('gemma2', 'gemma3_text') else None
    if final:
        logits = torch.tanh(logits / final) * final
    return logits


def decoder_config(model_type, arch, **extra):
    cfg = {**COMMON, 'architectures': [arch], 'model_type': model_type, 'hidden_size': 32,
           'intermediate_size': 48, 'num_hidden_layers': 2, 'num_attention_heads': 4,
           'num_key_value_heads': 2, 'hidden_act': 'silu', 'max_position_embeddings': 64,
           'rms_norm_eps': 1e-6, 'rope_theta': 10000.0, 'rope_scaling': None,
           'attention_dropout': 0.0, 'attention_bias': False, 'tie_word_embeddings': False}
    cfg.update(extra)
    return cfg


def gemma_config(model_type, arch, **extra):
    return decoder_config(model_type, arch, **{'hidden_act': 'gelu_pytorch_tanh', 'hidden_activation': 'gelu_pytorch_tanh',
                                               'head_dim': 8, 'tie_word_embeddings': True, **extra})


HALF = [1.0, 1.5, 2.5, 4.0]  # longrope factors for R/2 = 4 rotated pairs
DECODER_CASES = {
    # RoPE scaling on a Llama (θ 100 so that llama3's three bands all occur with head size 8).
    'rope-llama3': decoder_config('llama', 'LlamaForCausalLM', rope_theta=100.0, max_position_embeddings=256, mlp_bias=False,
                                  rope_scaling={'rope_type': 'llama3', 'factor': 8.0, 'low_freq_factor': 1.0,
                                                'high_freq_factor': 4.0, 'original_max_position_embeddings': 32}),
    'rope-linear': decoder_config('llama', 'LlamaForCausalLM', mlp_bias=False, rope_scaling={'type': 'linear', 'factor': 4.0}),
    # T = 12 > 6: the NTK base grows with the sequence, as transformers does per call; lethe's
    # context is 6 x 2 = 12 positions, the length its tables take as the sequence length.
    'rope-dynamic': decoder_config('llama', 'LlamaForCausalLM', mlp_bias=False, max_position_embeddings=6,
                                   rope_scaling={'rope_type': 'dynamic', 'factor': 2.0}),
    'rope-yarn': decoder_config('llama', 'LlamaForCausalLM', mlp_bias=False, max_position_embeddings=16,
                                rope_scaling={'rope_type': 'yarn', 'factor': 4.0, 'original_max_position_embeddings': 16}),
    # Phi-3 with longrope past its original 8 positions (long factors), partial rotary (R = 4 of 8).
    'phi3': decoder_config('phi3', 'Phi3ForCausalLM', rms_norm_eps=1e-5, max_position_embeddings=64, original_max_position_embeddings=8,
                           partial_rotary_factor=0.5, sliding_window=None,
                           rope_scaling={'type': 'longrope', 'short_factor': HALF[:2], 'long_factor': HALF[2:]}),
    'qwen3': decoder_config('qwen3', 'Qwen3ForCausalLM', head_dim=16, rope_theta=1000000.0, use_sliding_window=False, sliding_window=None),
    'olmo2': decoder_config('olmo2', 'Olmo2ForCausalLM', rms_norm_eps=1e-5, rope_theta=500000.0),
    'gemma': gemma_config('gemma', 'GemmaForCausalLM', num_key_value_heads=1, head_dim=16),
    # Window 4 < T = 12 on the even layer; soft-caps small enough to bite.
    'gemma2': gemma_config('gemma2', 'Gemma2ForCausalLM', sliding_window=4, query_pre_attn_scalar=12,
                           attn_logit_softcapping=5.0, final_logit_softcapping=3.0),
    'gemma3': gemma_config('gemma3_text', 'Gemma3ForCausalLM', sliding_window=4, sliding_window_pattern=2,
                           query_pre_attn_scalar=8, rope_theta=1000000.0, rope_local_base_freq=100.0,
                           attn_logit_softcapping=None, final_logit_softcapping=None,
                           rope_scaling={'rope_type': 'linear', 'factor': 2.0}),
}


def write_decoder_case(case, cfg, seed):
    g = torch.Generator().manual_seed(seed)
    weights = {}
    for name, shape in decoder_names(cfg).items():
        z = torch.randn(shape, generator=g, dtype=torch.float32)
        if len(shape) == 1:  # norm weights: Gemma's sit around 0 (· (1 + w)), the others around 1
            weights[name] = (0.0 if cfg['model_type'] in GEMMA else 1.0) + 0.1 * z
        else:
            weights[name] = 0.2 * z
    d = OUT / case
    d.mkdir(parents=True, exist_ok=True)
    (d / 'config.json').write_text(json.dumps(cfg, indent=2, sort_keys=True) + '\n')
    write_safetensors(d / 'model.safetensors', {n: (t, 'F32') for n, t in weights.items()})
    ids = input_ids(seed + 1)
    w64 = {n: t.double().requires_grad_(True) for n, t in weights.items()}
    logits = decoder_forward(cfg, w64, ids)
    loss = next_token_loss(logits, ids)
    loss.backward()
    gold = {'input_ids': (ids, 'I64'), 'logits': (logits, 'F32'), 'loss': (loss, 'F32')}
    for n, t in w64.items():
        gold['grad.' + n] = (t.grad, 'F32')
    write_safetensors(d / 'golden.safetensors', gold)
    print(f'{case}: loss {loss.item():.6f}, {sum(t.numel() for t in weights.values())} parameters')


# GPT-NeoX / Pythia, Phi-1.5/2 and OPT (modeling_gpt_neox.py, modeling_phi.py, modeling_opt.py).

LN_LAYOUT = {
    'gpt_neox': dict(embed='gpt_neox.embed_in', layer='gpt_neox.layers.{}.', n1='input_layernorm', n2='post_attention_layernorm',
                     qkv='attention.query_key_value', out='attention.dense', up='mlp.dense_h_to_4h', down='mlp.dense_4h_to_h',
                     final='gpt_neox.final_layer_norm', head='embed_out'),
    'phi': dict(embed='model.embed_tokens', layer='model.layers.{}.', n1='input_layernorm', n2=None,
                qkv=('self_attn.q_proj', 'self_attn.k_proj', 'self_attn.v_proj'), out='self_attn.dense', up='mlp.fc1',
                down='mlp.fc2', final='model.final_layernorm', head='lm_head'),
    'opt': dict(embed='model.decoder.embed_tokens', layer='model.decoder.layers.{}.', n1='self_attn_layer_norm', n2='final_layer_norm',
                qkv=('self_attn.q_proj', 'self_attn.k_proj', 'self_attn.v_proj'), out='self_attn.out_proj', up='fc1', down='fc2',
                final='model.decoder.final_layer_norm', head='lm_head'),
}


def ln_names(cfg):
    t = cfg['model_type']
    L = LN_LAYOUT[t]
    C, V, H = cfg['hidden_size'], cfg['vocab_size'], cfg['num_attention_heads']
    I = cfg['ffn_dim'] if t == 'opt' else cfg['intermediate_size']
    out = {L['embed'] + '.weight': (V, C)}
    if t == 'opt':
        out['model.decoder.embed_positions.weight'] = (cfg['max_position_embeddings'] + 2, C)

    def lin(name, o, i, bias=True):
        out[name + '.weight'] = (o, i)
        if bias:
            out[name + '.bias'] = (o,)

    def norm(name):
        out[name + '.weight'] = (C,)
        out[name + '.bias'] = (C,)

    for i in range(cfg['num_hidden_layers']):
        p = L['layer'].format(i)
        norm(p + L['n1'])
        if isinstance(L['qkv'], str):
            lin(p + L['qkv'], 3 * C, C)
        else:
            for name in L['qkv']:
                lin(p + name, C, C)
        lin(p + L['out'], C, C)
        if L['n2']:
            norm(p + L['n2'])
        lin(p + L['up'], I, C)
        lin(p + L['down'], C, I)
    norm(L['final'])
    if not cfg['tie_word_embeddings']:
        lin(L['head'], V, C, bias=(t == 'phi'))
    return out


def ln_forward(cfg, w, ids):
    t = cfg['model_type']
    L = LN_LAYOUT[t]
    B, T = ids.shape
    C, H = cfg['hidden_size'], cfg['num_attention_heads']
    D = C // H
    eps = cfg.get('layer_norm_eps', 1e-5)
    act = {'gpt_neox': lambda x: F.gelu(x), 'phi': gelu_new, 'opt': F.relu}[t]
    lin = lambda h, name: h @ w[name + '.weight'].T + (w[name + '.bias'] if name + '.bias' in w else 0)
    ln = lambda h, name: F.layer_norm(h, (C,), w[name + '.weight'], w[name + '.bias'], eps)
    x = w[L['embed'] + '.weight'][ids]
    if t == 'opt':
        x = x + w['model.decoder.embed_positions.weight'][torch.arange(T) + 2]
        cos = sin = None
        R = D
    else:
        R = int(D * (cfg['rotary_pct'] if t == 'gpt_neox' else cfg['partial_rotary_factor']))
        theta = cfg['rotary_emb_base'] if t == 'gpt_neox' else cfg['rope_theta']
        inv, att = rope_inv_freq(R, theta, cfg.get('rope_scaling'), T, cfg['max_position_embeddings'], cfg)
        emb = torch.outer(torch.arange(T, dtype=torch.float64), inv)
        emb = torch.cat([emb, emb], -1)
        cos, sin = emb.cos() * att, emb.sin() * att

    def rotate(x):
        if cos is None:
            return x
        xr, xp = x[..., :R], x[..., R:]
        h = R // 2
        return torch.cat([xr * cos + torch.cat([-xr[..., h:], xr[..., :h]], -1) * sin, xp], -1)

    causal = torch.ones(T, T, dtype=torch.bool).tril()
    for i in range(cfg['num_hidden_layers']):
        p = L['layer'].format(i)
        h = ln(x, p + L['n1'])
        if isinstance(L['qkv'], str):  # per head [q, k, v]
            q, k, v = lin(h, p + L['qkv']).view(B, T, H, 3 * D).transpose(1, 2).chunk(3, dim=-1)
        else:
            q, k, v = (lin(h, p + n).view(B, T, H, D).transpose(1, 2) for n in L['qkv'])
        q, k = rotate(q), rotate(k)
        s = (q @ k.transpose(-2, -1)) / math.sqrt(D)
        y = torch.softmax(s.masked_fill(~causal, float('-inf')), -1) @ v
        a = lin(y.transpose(1, 2).reshape(B, T, C), p + L['out'])
        mlp = lambda z: lin(act(lin(z, p + L['up'])), p + L['down'])
        if t == 'phi':
            x = x + a + mlp(h)
        elif t == 'gpt_neox' and cfg['use_parallel_residual']:
            x = x + a + mlp(ln(x, p + L['n2']))
        else:
            x = x + a
            x = x + mlp(ln(x, p + L['n2']))
    x = ln(x, L['final'])
    if cfg['tie_word_embeddings']:
        return x @ w[L['embed'] + '.weight'].T
    return lin(x, L['head'])


LN_COMMON = {**COMMON, 'hidden_size': 32, 'num_hidden_layers': 2, 'num_attention_heads': 4, 'max_position_embeddings': 64}
LN_CASES = {
    # Pythia-like: parallel residual, rotary on half of each 8-wide head (Pythia's 25% of 8 would be 2).
    'gpt-neox': {**LN_COMMON, 'architectures': ['GPTNeoXForCausalLM'], 'model_type': 'gpt_neox', 'intermediate_size': 64,
                 'rotary_pct': 0.5, 'rotary_emb_base': 10000, 'rope_scaling': None, 'layer_norm_eps': 1e-5,
                 'use_parallel_residual': True, 'hidden_act': 'gelu', 'attention_bias': True, 'tie_word_embeddings': False},
    'gpt-neox-sequential': {**LN_COMMON, 'architectures': ['GPTNeoXForCausalLM'], 'model_type': 'gpt_neox', 'intermediate_size': 64,
                            'rotary_pct': 1.0, 'rotary_emb_base': 10000, 'rope_scaling': {'rope_type': 'linear', 'factor': 2.0},
                            'layer_norm_eps': 1e-5, 'use_parallel_residual': False, 'hidden_act': 'gelu', 'attention_bias': True,
                            'tie_word_embeddings': False},
    'phi': {**LN_COMMON, 'architectures': ['PhiForCausalLM'], 'model_type': 'phi', 'intermediate_size': 64,
            'num_key_value_heads': 4, 'partial_rotary_factor': 0.5, 'rope_theta': 10000.0, 'rope_scaling': None,
            'layer_norm_eps': 1e-5, 'hidden_act': 'gelu_new', 'qk_layernorm': False, 'tie_word_embeddings': False},
    'opt': {**LN_COMMON, 'architectures': ['OPTForCausalLM'], 'model_type': 'opt', 'ffn_dim': 64, 'word_embed_proj_dim': 32,
            'do_layer_norm_before': True, 'activation_function': 'relu', 'enable_bias': True, 'tie_word_embeddings': True,
            'max_position_embeddings': 32},
}


def write_ln_case(case, cfg, seed):
    g = torch.Generator().manual_seed(seed)
    weights = {}
    for name, shape in ln_names(cfg).items():
        z = torch.randn(shape, generator=g, dtype=torch.float32)
        norm = ('norm' in name) and name.endswith('.weight')
        weights[name] = 1.0 + 0.1 * z if norm else (0.2 if len(shape) == 2 else 0.1) * z
    d = OUT / case
    d.mkdir(parents=True, exist_ok=True)
    (d / 'config.json').write_text(json.dumps(cfg, indent=2, sort_keys=True) + '\n')
    write_safetensors(d / 'model.safetensors', {n: (t, 'F32') for n, t in weights.items()})
    ids = input_ids(seed + 1)
    w64 = {n: t.double().requires_grad_(True) for n, t in weights.items()}
    logits = ln_forward(cfg, w64, ids)
    loss = next_token_loss(logits, ids)
    loss.backward()
    gold = {'input_ids': (ids, 'I64'), 'logits': (logits, 'F32'), 'loss': (loss, 'F32')}
    for n, t in w64.items():
        gold['grad.' + n] = (t.grad, 'F32')
    write_safetensors(d / 'golden.safetensors', gold)
    print(f'{case}: loss {loss.item():.6f}, {sum(t.numel() for t in weights.values())} parameters')


def check_decoder_reference():
    """The plain decoder agrees with bench/peers' Llama on a Llama config (no scaling)."""
    cfg = decoder_config('llama', 'LlamaForCausalLM', mlp_bias=False)
    model = build_model(cfg).double()
    init_weights(model, 900)
    ids = input_ids(901)
    w = {n: p.detach() for n, p in model.named_parameters()}
    assert torch.allclose(decoder_forward(cfg, w, ids), model(ids), atol=1e-12)


# ---------------------------------------------------------------------------------------------


def main():
    torch.set_num_threads(1)  # thread count can change float64 reduction order
    seeds = {'gpt2': 100, 'llama-gqa': 200, 'llama-tied': 300, 'qwen2': 400, 'mistral': 500}
    for case, cfg in CASES.items():
        model = build_model(cfg)
        init_weights(model, seeds[case])
        weights = {n: p.detach().clone() for n, p in model.named_parameters()}
        ids = input_ids(seeds[case] + 1)
        loaded, gold = write_case(case, cfg, weights, ids)
        if case == 'gpt2':
            m = build_model(cfg).double()
            with torch.no_grad():
                for n, p in m.named_parameters():
                    p.copy_(loaded[n])
            check_gpt2_attention_row(m, ids)
        if case == 'llama-gqa':
            write_case('llama-gqa-f16', cfg, weights, ids, dtype='F16')
            write_case('llama-gqa-bf16', cfg, weights, ids, dtype='BF16')
            _, sharded = write_case('llama-gqa-sharded', cfg, weights, ids, shards=2)
            for n in gold:  # same weights, same golden
                assert torch.equal(gold[n][0], sharded[n][0]), n
    check_decoder_reference()
    for i, (case, cfg) in enumerate(DECODER_CASES.items()):
        write_decoder_case(case, cfg, 1000 + 10 * i)
    for i, (case, cfg) in enumerate(LN_CASES.items()):
        write_ln_case(case, cfg, 2000 + 10 * i)
    write_llama2c('llama2c-shared', shared=True, n_kv=4, seed=600)
    write_llama2c('llama2c-unshared', shared=False, n_kv=2, seed=700)
    total = sum(f.stat().st_size for f in OUT.rglob('*') if f.is_file())
    print(f'{OUT.relative_to(ROOT)}: {total / 1e6:.2f} MB')


if __name__ == '__main__':
    main()
