#!/usr/bin/env python3
"""Writes test/fixtures/models/<case>/: small random HF-format models (and llama2.c checkpoints)
with golden logits, loss and gradients from the plain-PyTorch references in bench/peers/models.py.

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

ROOT = Path(__file__).resolve().parent.parent
sys.dont_write_bytecode = True  # no __pycache__ left in bench/peers
sys.path.insert(0, str(ROOT / 'bench' / 'peers'))
from models import build_model, llama2c_forward, next_token_loss  # noqa: E402

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
    write_llama2c('llama2c-shared', shared=True, n_kv=4, seed=600)
    write_llama2c('llama2c-unshared', shared=False, n_kv=2, seed=700)
    total = sum(f.stat().st_size for f in OUT.rglob('*') if f.is_file())
    print(f'{OUT.relative_to(ROOT)}: {total / 1e6:.2f} MB')


if __name__ == '__main__':
    main()
