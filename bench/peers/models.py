"""Reference GPT-2 and Llama-family causal LMs in plain PyTorch, with Hugging Face semantics.

The module trees mirror transformers' classes, so `named_parameters()` yields exactly the tensor
names `save_pretrained` writes (`transformer.h.0.attn.c_attn.weight`, `model.layers.0.self_attn.
q_proj.weight`, ...). A tied head reuses the embedding matrix and has no parameter of its own,
so its gradient lands on the embedding. Used by scripts/make-model-fixtures.py for golden values.

    GPT2LMHeadModel  pre-LN blocks, Conv1D weights stored [in, out] (y = x @ W + b),
                     gelu_new (tanh approximation), learned positions, head tied to wte.
    Llama family     RMSNorm, grouped-query attention, RoPE in HF's rotate_half layout,
                     SwiGLU MLP; Qwen2 adds q/k/v biases (LlamaForCausalLM, Qwen2ForCausalLM,
                     MistralForCausalLM share this code).
    llama2c_forward  the same Llama maths on llama2.c's own layout: interleaved (complex-pair)
                     RoPE on unpermuted wq/wk, as llama2.c's model.py `apply_rotary_emb`.
"""
import math

import torch
import torch.nn.functional as F
from torch import nn


def gelu_new(x):
    """GPT-2's GELU: 0.5 x (1 + tanh(√(2/π) (x + 0.044715 x³)))."""
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x ** 3)))


def causal_softmax(scores):
    """softmax over keys with key > query masked out. scores: (B, nh, T, T)."""
    T = scores.shape[-1]
    future = torch.ones(T, T, dtype=torch.bool, device=scores.device).triu(1)
    return scores.masked_fill(future, float('-inf')).softmax(dim=-1)


def next_token_loss(logits, input_ids):
    """Mean cross-entropy of positions 0..T-2 predicting input_ids[:, 1:] (HF's shifted labels)."""
    V = logits.shape[-1]
    return F.cross_entropy(logits[:, :-1].reshape(-1, V), input_ids[:, 1:].reshape(-1))


# ---------------------------------------------------------------------------------------------
# GPT-2


class Conv1D(nn.Module):
    """HF's Conv1D: a linear layer whose weight is stored transposed, [in, out]."""

    def __init__(self, n_in, n_out):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(n_in, n_out))
        self.bias = nn.Parameter(torch.empty(n_out))

    def forward(self, x):
        return x @ self.weight + self.bias


class GPT2Attention(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.n_head = cfg['n_head']
        d = cfg['n_embd']
        self.c_attn = Conv1D(d, 3 * d)
        self.c_proj = Conv1D(d, d)

    def heads(self, x):
        """Per-head attention output before the heads are merged: (B, nh, T, hs)."""
        B, T, C = x.shape
        hs = C // self.n_head
        q, k, v = self.c_attn(x).split(C, dim=2)
        q, k, v = (t.view(B, T, self.n_head, hs).transpose(1, 2) for t in (q, k, v))
        return causal_softmax(q @ k.transpose(-2, -1) / math.sqrt(hs)) @ v

    def forward(self, x):
        B, T, C = x.shape
        return self.c_proj(self.heads(x).transpose(1, 2).reshape(B, T, C))


class GPT2MLP(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        d = cfg['n_embd']
        inner = cfg.get('n_inner') or 4 * d
        self.c_fc = Conv1D(d, inner)
        self.c_proj = Conv1D(inner, d)

    def forward(self, x):
        return self.c_proj(gelu_new(self.c_fc(x)))


class GPT2Block(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        d, eps = cfg['n_embd'], cfg['layer_norm_epsilon']
        self.ln_1 = nn.LayerNorm(d, eps=eps)
        self.attn = GPT2Attention(cfg)
        self.ln_2 = nn.LayerNorm(d, eps=eps)
        self.mlp = GPT2MLP(cfg)

    def forward(self, x):
        h = x + self.attn(self.ln_1(x))
        return h + self.mlp(self.ln_2(h))


class GPT2Transformer(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        d = cfg['n_embd']
        self.wte = nn.Embedding(cfg['vocab_size'], d)
        self.wpe = nn.Embedding(cfg['n_positions'], d)
        self.h = nn.ModuleList(GPT2Block(cfg) for _ in range(cfg['n_layer']))
        self.ln_f = nn.LayerNorm(d, eps=cfg['layer_norm_epsilon'])


class GPT2LMHeadModel(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        assert cfg.get('tie_word_embeddings', True), 'only the tied GPT-2 head is modelled'
        assert cfg['activation_function'] == 'gelu_new'
        self.transformer = GPT2Transformer(cfg)

    def forward(self, input_ids):
        t = self.transformer
        T = input_ids.shape[1]
        x = t.wte(input_ids) + t.wpe(torch.arange(T, device=input_ids.device))  # (B, T, C)
        for block in t.h:
            x = block(x)
        return t.ln_f(x) @ t.wte.weight.T  # (B, T, V): head tied to wte


# ---------------------------------------------------------------------------------------------
# Llama family (Llama, SmolLM, Qwen2, Mistral)


class RMSNorm(nn.Module):
    def __init__(self, d, eps):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(d))

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def rope_cos_sin(T, head_dim, theta, dtype):
    """HF layout: cos/sin of cat(freqs, freqs), each (T, head_dim), positions 0..T-1."""
    inv_freq = 1.0 / (theta ** (torch.arange(0, head_dim, 2, dtype=torch.float64) / head_dim))
    freqs = torch.outer(torch.arange(T, dtype=torch.float64), inv_freq)  # (T, hd/2)
    emb = torch.cat([freqs, freqs], dim=-1)
    return emb.cos().to(dtype), emb.sin().to(dtype)


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat([-x[..., half:], x[..., :half]], dim=-1)


def repeat_kv(x, n_rep):
    """(B, n_kv, T, hd) -> (B, n_kv * n_rep, T, hd); query head h reads kv head h // n_rep."""
    return x if n_rep == 1 else x.repeat_interleave(n_rep, dim=1)


class LlamaAttention(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        d = cfg['hidden_size']
        self.n_head = cfg['num_attention_heads']
        self.n_kv = cfg.get('num_key_value_heads') or self.n_head
        self.head_dim = d // self.n_head
        self.theta = cfg['rope_theta']
        qkv_bias = cfg['model_type'] == 'qwen2' or cfg.get('attention_bias', False)
        self.q_proj = nn.Linear(d, self.n_head * self.head_dim, bias=qkv_bias)
        self.k_proj = nn.Linear(d, self.n_kv * self.head_dim, bias=qkv_bias)
        self.v_proj = nn.Linear(d, self.n_kv * self.head_dim, bias=qkv_bias)
        self.o_proj = nn.Linear(self.n_head * self.head_dim, d, bias=False)

    def forward(self, x):
        B, T, _ = x.shape
        hd = self.head_dim
        q = self.q_proj(x).view(B, T, self.n_head, hd).transpose(1, 2)  # (B, nh, T, hd)
        k = self.k_proj(x).view(B, T, self.n_kv, hd).transpose(1, 2)  # (B, nkv, T, hd)
        v = self.v_proj(x).view(B, T, self.n_kv, hd).transpose(1, 2)
        cos, sin = rope_cos_sin(T, hd, self.theta, x.dtype)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        n_rep = self.n_head // self.n_kv
        k, v = repeat_kv(k, n_rep), repeat_kv(v, n_rep)
        y = causal_softmax(q @ k.transpose(-2, -1) / math.sqrt(hd)) @ v  # (B, nh, T, hd)
        return self.o_proj(y.transpose(1, 2).reshape(B, T, self.n_head * hd))


class LlamaMLP(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        d, inner = cfg['hidden_size'], cfg['intermediate_size']
        self.gate_proj = nn.Linear(d, inner, bias=False)
        self.up_proj = nn.Linear(d, inner, bias=False)
        self.down_proj = nn.Linear(inner, d, bias=False)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class LlamaDecoderLayer(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        d, eps = cfg['hidden_size'], cfg['rms_norm_eps']
        self.input_layernorm = RMSNorm(d, eps)
        self.self_attn = LlamaAttention(cfg)
        self.post_attention_layernorm = RMSNorm(d, eps)
        self.mlp = LlamaMLP(cfg)

    def forward(self, x):
        h = x + self.self_attn(self.input_layernorm(x))
        return h + self.mlp(self.post_attention_layernorm(h))


class LlamaModel(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.embed_tokens = nn.Embedding(cfg['vocab_size'], cfg['hidden_size'])
        self.layers = nn.ModuleList(LlamaDecoderLayer(cfg) for _ in range(cfg['num_hidden_layers']))
        self.norm = RMSNorm(cfg['hidden_size'], cfg['rms_norm_eps'])


class LlamaForCausalLM(nn.Module):
    """Also Qwen2ForCausalLM and MistralForCausalLM (no sliding window) by config."""

    def __init__(self, cfg):
        super().__init__()
        assert cfg['hidden_act'] == 'silu'
        self.tied = cfg.get('tie_word_embeddings', False)
        self.model = LlamaModel(cfg)
        if not self.tied:
            self.lm_head = nn.Linear(cfg['hidden_size'], cfg['vocab_size'], bias=False)

    def forward(self, input_ids):
        x = self.model.embed_tokens(input_ids)  # (B, T, C)
        for layer in self.model.layers:
            x = layer(x)
        x = self.model.norm(x)
        head = self.model.embed_tokens.weight if self.tied else self.lm_head.weight
        return x @ head.T  # (B, T, V)


def build_model(cfg):
    if cfg['model_type'] == 'gpt2':
        return GPT2LMHeadModel(cfg)
    if cfg['model_type'] in ('llama', 'qwen2', 'mistral'):
        return LlamaForCausalLM(cfg)
    raise ValueError(f"unknown model_type {cfg['model_type']!r}")


# ---------------------------------------------------------------------------------------------
# llama2.c


def llama2c_rotary(x, cos, sin):
    """llama2.c's apply_rotary_emb: dims (2i, 2i+1) form a complex pair rotated by position·freq_i.
    x: (B, T, nh, hd); cos/sin: (T, hd/2)."""
    xr, xi = x.reshape(x.shape[:-1] + (-1, 2)).unbind(-1)  # (B, T, nh, hd/2) each
    cos, sin = cos[None, :, None, :], sin[None, :, None, :]
    return torch.stack([xr * cos - xi * sin, xr * sin + xi * cos], dim=-1).flatten(3)


def llama2c_forward(w, p, input_ids, eps=1e-5, theta=10000.0):
    """Logits of a llama2.c checkpoint with llama2.c's own semantics (model.py), where
    w = {'tok_embeddings', 'layers': [{attention_norm, wq, wk, wv, wo, ffn_norm, w1, w2, w3}],
    'norm', 'output'} in nn.Linear [out, in] layout and p = {dim, n_heads, n_kv_heads}.
    llama2.c's run.c fixes eps = 1e-5 and theta = 10000; the file stores neither."""
    B, T = input_ids.shape
    nh, nkv = p['n_heads'], p['n_kv_heads']
    hd = p['dim'] // nh
    freqs = 1.0 / (theta ** (torch.arange(0, hd, 2, dtype=torch.float64) / hd))
    angles = torch.outer(torch.arange(T, dtype=torch.float64), freqs)  # (T, hd/2)
    dtype = w['tok_embeddings'].dtype
    cos, sin = angles.cos().to(dtype), angles.sin().to(dtype)

    def rms(x, weight):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * weight

    x = w['tok_embeddings'][input_ids]  # (B, T, C)
    for L in w['layers']:
        xn = rms(x, L['attention_norm'])
        q = llama2c_rotary((xn @ L['wq'].T).view(B, T, nh, hd), cos, sin)
        k = llama2c_rotary((xn @ L['wk'].T).view(B, T, nkv, hd), cos, sin)
        v = (xn @ L['wv'].T).view(B, T, nkv, hd)
        q, k, v = q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)  # (B, heads, T, hd)
        k, v = repeat_kv(k, nh // nkv), repeat_kv(v, nh // nkv)
        y = causal_softmax(q @ k.transpose(-2, -1) / math.sqrt(hd)) @ v
        x = x + y.transpose(1, 2).reshape(B, T, nh * hd) @ L['wo'].T
        xn = rms(x, L['ffn_norm'])
        x = x + (F.silu(xn @ L['w1'].T) * (xn @ L['w3'].T)) @ L['w2'].T
    return rms(x, w['norm']) @ w['output'].T  # (B, T, V)
