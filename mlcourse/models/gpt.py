"""A GPT (GPT-2 architecture, nanoGPT-style), as built on Day 12.

Token and position embeddings, ``n_layer`` pre-LayerNorm blocks of causal multi-head
self-attention and a GELU MLP with residual connections, a final LayerNorm, and a language-model
head tied to the token embedding. Parameter names follow GPT-2 (``c_attn``, ``c_proj``, ``c_fc``)
so that Hugging Face ``GPT2LMHeadModel`` weights load with :meth:`GPT.from_hf`.

Shapes: token ids ``idx`` are ``(B, T)`` int64 with ``T <= block_size``; logits are
``(B, T, vocab_size)`` float32.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F


@dataclass
class GPTConfig:
    """Sizes of a GPT. ``n_embd`` must be divisible by ``n_head``."""

    vocab_size: int = 65
    block_size: int = 128
    n_layer: int = 4
    n_head: int = 4
    n_embd: int = 128
    dropout: float = 0.0
    bias: bool = True
    layer_norm_eps: float = 1e-5

    def __post_init__(self) -> None:
        if self.n_embd % self.n_head:
            raise ValueError(f"n_embd ({self.n_embd}) must be divisible by n_head ({self.n_head})")


class CausalSelfAttention(nn.Module):
    """Multi-head self-attention where position t only sees positions <= t.

    ``(B, T, C) -> (B, T, C)``. One linear layer ``c_attn`` makes queries, keys and values.
    """

    def __init__(self, cfg: GPTConfig) -> None:
        super().__init__()
        self.n_head, self.n_embd = cfg.n_head, cfg.n_embd
        self.c_attn = nn.Linear(cfg.n_embd, 3 * cfg.n_embd, bias=cfg.bias)
        self.c_proj = nn.Linear(cfg.n_embd, cfg.n_embd, bias=cfg.bias)
        self.dropout = cfg.dropout
        self.resid_dropout = nn.Dropout(cfg.dropout)

    def forward(self, x: torch.Tensor, cache: dict | None = None) -> torch.Tensor:
        B, T, C = x.shape
        q, k, v = self.c_attn(x).split(self.n_embd, dim=2)
        # (B, T, C) -> (B, n_head, T, head_dim)
        q, k, v = (t.view(B, T, self.n_head, C // self.n_head).transpose(1, 2) for t in (q, k, v))
        if cache is None:
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True,
                                               dropout_p=self.dropout if self.training else 0.0)
        else:
            y = cached_attention(q, *extend_cache(cache, k, v))
        y = y.transpose(1, 2).contiguous().view(B, T, C)
        return self.resid_dropout(self.c_proj(y))


class MLP(nn.Module):
    """``(B, T, C) -> (B, T, C)``: expand to 4C, GELU (tanh approximation, as GPT-2), project back."""

    def __init__(self, cfg: GPTConfig) -> None:
        super().__init__()
        self.c_fc = nn.Linear(cfg.n_embd, 4 * cfg.n_embd, bias=cfg.bias)
        self.c_proj = nn.Linear(4 * cfg.n_embd, cfg.n_embd, bias=cfg.bias)
        self.dropout = nn.Dropout(cfg.dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dropout(self.c_proj(F.gelu(self.c_fc(x), approximate="tanh")))


class Block(nn.Module):
    """A pre-norm Transformer block: ``x + attn(ln(x))``, then ``x + mlp(ln(x))``."""

    def __init__(self, cfg: GPTConfig) -> None:
        super().__init__()
        self.ln_1 = nn.LayerNorm(cfg.n_embd, eps=cfg.layer_norm_eps, bias=cfg.bias)
        self.attn = CausalSelfAttention(cfg)
        self.ln_2 = nn.LayerNorm(cfg.n_embd, eps=cfg.layer_norm_eps, bias=cfg.bias)
        self.mlp = MLP(cfg)

    def forward(self, x: torch.Tensor, cache: dict | None = None) -> torch.Tensor:
        x = x + self.attn(self.ln_1(x), cache)
        return x + self.mlp(self.ln_2(x))


class GPT(nn.Module):
    """The GPT language model.

    ``forward(idx, targets=None, caches=None, start=0) -> (logits, loss or None)``; with
    ``caches`` (one dict per layer, see :meth:`new_cache`) only the new tokens ``idx`` are
    processed, at positions ``start, start + 1, ...``, their keys and values appended to the cache.
    """

    def __init__(self, cfg: GPTConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.wte = nn.Embedding(cfg.vocab_size, cfg.n_embd)
        self.wpe = nn.Embedding(cfg.block_size, cfg.n_embd)
        self.drop = nn.Dropout(cfg.dropout)
        self.h = nn.ModuleList(Block(cfg) for _ in range(cfg.n_layer))
        self.ln_f = nn.LayerNorm(cfg.n_embd, eps=cfg.layer_norm_eps, bias=cfg.bias)
        self.lm_head = nn.Linear(cfg.n_embd, cfg.vocab_size, bias=False)
        self.lm_head.weight = self.wte.weight  # weight tying
        self.apply(self._init_weights)
        for name, p in self.named_parameters():  # GPT-2: scale the residual projections
            if name.endswith("c_proj.weight"):
                nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * cfg.n_layer))

    @staticmethod
    def _init_weights(m: nn.Module) -> None:
        if isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, mean=0.0, std=0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Embedding):
            nn.init.normal_(m.weight, mean=0.0, std=0.02)

    def num_params(self, non_embedding: bool = True) -> int:
        """Number of parameters (without the position embedding by default, as nanoGPT)."""
        n = sum(p.numel() for p in self.parameters())
        return n - self.wpe.weight.numel() if non_embedding else n

    def new_cache(self) -> list[dict]:
        """An empty KV cache: one dict per layer, filled by :meth:`forward`."""
        return [{} for _ in self.h]

    def forward(self, idx: torch.Tensor, targets: torch.Tensor | None = None,
                caches: list[dict] | None = None, start: int = 0):
        if idx.dim() != 2:
            raise ValueError(f"idx must have shape (B, T), got {tuple(idx.shape)}")
        B, T = idx.shape
        if start + T > self.cfg.block_size:
            raise ValueError(f"sequence length {start + T} exceeds block_size {self.cfg.block_size}"
                             + (f" ({start} cached + {T} new tokens)" if start else ""))
        pos = torch.arange(start, start + T, device=idx.device)
        x = self.drop(self.wte(idx) + self.wpe(pos))
        for i, block in enumerate(self.h):
            x = block(x, None if caches is None else caches[i])
        logits = self.lm_head(self.ln_f(x))
        loss = None
        if targets is not None:
            loss = F.cross_entropy(logits.reshape(-1, logits.size(-1)), targets.reshape(-1))
        return logits, loss

    @torch.no_grad()
    def generate(self, idx: torch.Tensor, max_new_tokens: int, temperature: float = 1.0,
                 top_k: int | None = None, top_p: float | None = None, use_cache: bool = False,
                 generator: torch.Generator | None = None) -> torch.Tensor:
        """Append ``max_new_tokens`` sampled tokens to ``idx`` ``(B, T)``; temperature 0 is greedy.

        Without the cache the context is cropped to the last ``block_size`` tokens, so any
        length can be generated. With ``use_cache=True`` each step processes one token; the
        prompt plus the new tokens must then fit in ``block_size`` (learned positions end there).
        """
        if use_cache:
            return generate_with_cache(self, idx, max_new_tokens, temperature, top_k, top_p, generator)
        for _ in range(max_new_tokens):
            logits, _ = self(idx[:, -self.cfg.block_size:])
            idx = torch.cat([idx, sample_next(logits[:, -1, :], temperature, top_k, generator, top_p)], dim=1)
        return idx

    @classmethod
    def from_hf(cls, hf_model) -> "GPT":
        """Build a GPT with the weights of a Hugging Face ``GPT2LMHeadModel``.

        GPT-2 stores its linear layers as ``Conv1D`` with weights of shape (in, out): they are
        transposed into ``nn.Linear``'s (out, in).
        """
        c = hf_model.config
        problems = []
        if c.activation_function not in ("gelu_new", "gelu_pytorch_tanh"):
            problems.append(f"activation_function={c.activation_function!r} (the MLP here uses tanh-GELU)")
        if not getattr(c, "tie_word_embeddings", True):
            problems.append("tie_word_embeddings=False (the output layer here is the token embedding)")
        if getattr(c, "scale_attn_by_inverse_layer_idx", False):
            problems.append("scale_attn_by_inverse_layer_idx=True (scores are divided by sqrt(head size) only)")
        if not getattr(c, "scale_attn_weights", True):
            problems.append("scale_attn_weights=False (scores here are always divided by sqrt(head size))")
        if problems:
            raise ValueError("this Hugging Face GPT-2 config cannot be represented by mlcourse's GPT: "
                             + "; ".join(problems))
        cfg = GPTConfig(vocab_size=c.vocab_size, block_size=c.n_positions, n_layer=c.n_layer,
                        n_head=c.n_head, n_embd=c.n_embd, layer_norm_eps=c.layer_norm_epsilon)
        model = cls(cfg)
        sd = hf_model.state_dict()
        conv1d = ("attn.c_attn.weight", "attn.c_proj.weight", "mlp.c_fc.weight", "mlp.c_proj.weight")
        with torch.no_grad():
            for name, p in model.named_parameters():
                if name == "lm_head.weight":
                    continue
                src = sd["transformer." + name]
                p.copy_(src.t() if name.endswith(conv1d) else src)
        return model


def extend_cache(cache: dict, k: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Append the new keys/values ``(B, H, T, d)`` to ``cache`` (a dict, empty at first); return all of them."""
    if "k" in cache:
        k = torch.cat([cache["k"], k], dim=2)
        v = torch.cat([cache["v"], v], dim=2)
    cache["k"], cache["v"] = k, v
    return k, v


def cached_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Causal attention of ``T`` new queries ``(B, H, T, d)`` to ``S >= T`` keys/values ``(B, H, S, d)``.

    The queries are the last ``T`` positions: query ``i`` sees keys ``0 .. S - T + i``.
    """
    T, S = q.shape[2], k.shape[2]
    if T == 1:
        return F.scaled_dot_product_attention(q, k, v)  # one new query sees every key
    mask = torch.ones(T, S, dtype=torch.bool, device=q.device).tril(diagonal=S - T)
    return F.scaled_dot_product_attention(q, k, v, attn_mask=mask)


@torch.no_grad()
def generate_with_cache(model: nn.Module, idx: torch.Tensor, max_new_tokens: int, temperature: float = 1.0,
                        top_k: int | None = None, top_p: float | None = None,
                        generator: torch.Generator | None = None) -> torch.Tensor:
    """Generation with a KV cache for a model with ``new_cache()`` and ``forward(idx, caches=, start=)``.

    The prompt ``idx`` ``(B, T)`` is processed once, then one token per step.
    """
    if idx.shape[1] + max_new_tokens > model.cfg.block_size:
        raise ValueError(f"{idx.shape[1]} + {max_new_tokens} tokens exceed block_size {model.cfg.block_size}")
    caches = model.new_cache()
    logits, _ = model(idx, caches=caches, start=0)  # the prompt, all at once
    for step in range(max_new_tokens):
        nxt = sample_next(logits[:, -1], temperature, top_k, generator, top_p)
        idx = torch.cat([idx, nxt], dim=1)
        if step < max_new_tokens - 1:  # the last token needs no forward pass
            logits, _ = model(nxt, caches=caches, start=idx.shape[1] - 1)
    return idx


def top_p_filter(logits: torch.Tensor, top_p: float) -> torch.Tensor:
    """Nucleus filtering of ``logits`` ``(B, V)``: keep the smallest set of most likely tokens
    whose probabilities sum to at least ``top_p``; the others get ``-inf``. Same shape."""
    if not 0 < top_p <= 1:
        raise ValueError(f"top_p must be in (0, 1], got {top_p}")
    sorted_logits, order = torch.sort(logits, dim=-1, descending=True)
    probs = F.softmax(sorted_logits, dim=-1)
    drop = probs.cumsum(dim=-1) - probs >= top_p   # the more likely tokens already hold top_p
    drop[..., 0] = False                            # the most likely token always stays
    return logits.masked_fill(torch.zeros_like(drop).scatter(-1, order, drop), float("-inf"))


def sample_next(logits: torch.Tensor, temperature: float = 1.0, top_k: int | None = None,
                generator: torch.Generator | None = None, top_p: float | None = None) -> torch.Tensor:
    """Pick the next token from ``logits`` ``(B, V)``: greedy if ``temperature == 0``; returns ``(B, 1)``.

    Otherwise: divide by ``temperature``, keep the ``top_k`` largest logits, then the nucleus of
    probability ``top_p`` (either may be ``None``), and sample from the softmax of what is left.
    """
    if temperature == 0:
        return logits.argmax(dim=-1, keepdim=True)
    logits = logits / temperature
    if top_k is not None:
        v, _ = torch.topk(logits, min(top_k, logits.size(-1)))
        logits = logits.masked_fill(logits < v[:, [-1]], float("-inf"))
    if top_p is not None:
        logits = top_p_filter(logits, top_p)
    probs = F.softmax(logits, dim=-1)
    return torch.multinomial(probs, num_samples=1, generator=generator)
