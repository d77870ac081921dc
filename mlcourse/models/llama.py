"""Llama, as Day 12 derives it from the GPT: RMSNorm, rotary position embeddings (RoPE),
a SwiGLU MLP, grouped-query attention (GQA), no biases, and a KV cache for generation.

Parameter names follow Hugging Face's ``LlamaForCausalLM`` so that its weights load with
:meth:`Llama.from_hf`. Shapes: token ids ``(B, T)`` int64, logits ``(B, T, vocab_size)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from .gpt import cached_attention, extend_cache, generate_with_cache, sample_next


@dataclass
class LlamaConfig:
    """Sizes of a Llama. ``n_head`` must be a multiple of ``n_kv_head`` (GQA groups)."""

    vocab_size: int = 65
    block_size: int = 128
    n_layer: int = 4
    n_head: int = 4
    n_kv_head: int = 2
    n_embd: int = 128
    hidden_dim: int = 344  # SwiGLU width; about 8/3 * n_embd keeps the MLP's size of a GPT's 4x
    rope_theta: float = 10000.0
    norm_eps: float = 1e-5
    tie_embeddings: bool = False

    @classmethod
    def from_hf_config(cls, c) -> "LlamaConfig":
        """The sizes of a Hugging Face Llama-family config (``transformers.LlamaConfig``).

        Works with both layouts of RoPE's settings (``rope_theta`` at the top level, or inside
        ``rope_parameters`` as in transformers 5). Refuses, with the reason, what this class
        cannot represent: scaled RoPE variants, biases in attention or MLP, an activation other
        than SiLU, or a head size other than ``hidden_size / num_attention_heads``.
        """
        rope = dict(getattr(c, "rope_parameters", None) or getattr(c, "rope_scaling", None) or {})
        theta = rope.get("rope_theta") or getattr(c, "rope_theta", None) or 10000.0
        problems = []
        if rope.get("rope_type", rope.get("type", "default")) != "default":
            problems.append(f"RoPE type {rope.get('rope_type', rope.get('type'))!r} (only the default is implemented)")
        if getattr(c, "attention_bias", False):
            problems.append("attention_bias=True")
        if getattr(c, "mlp_bias", False):
            problems.append("mlp_bias=True")
        if getattr(c, "hidden_act", "silu") != "silu":
            problems.append(f"hidden_act={c.hidden_act!r} (SwiGLU here uses silu)")
        head_dim = c.hidden_size // c.num_attention_heads
        if (getattr(c, "head_dim", None) or head_dim) != head_dim:
            problems.append(f"head_dim={c.head_dim} != hidden_size / num_attention_heads = {head_dim}")
        if problems:
            raise ValueError("this Hugging Face config cannot be represented by mlcourse's Llama: "
                             + "; ".join(problems))
        return cls(vocab_size=c.vocab_size, block_size=c.max_position_embeddings,
                   n_layer=c.num_hidden_layers, n_head=c.num_attention_heads,
                   n_kv_head=getattr(c, "num_key_value_heads", None) or c.num_attention_heads,
                   n_embd=c.hidden_size, hidden_dim=c.intermediate_size, rope_theta=float(theta),
                   norm_eps=c.rms_norm_eps, tie_embeddings=bool(getattr(c, "tie_word_embeddings", False)))

    def to_hf_config(self):
        """The same sizes as a Hugging Face ``transformers.LlamaConfig`` (imports transformers)."""
        import transformers

        return transformers.LlamaConfig(
            vocab_size=self.vocab_size, max_position_embeddings=self.block_size,
            num_hidden_layers=self.n_layer, num_attention_heads=self.n_head,
            num_key_value_heads=self.n_kv_head, hidden_size=self.n_embd,
            intermediate_size=self.hidden_dim, rope_theta=self.rope_theta, rms_norm_eps=self.norm_eps,
            tie_word_embeddings=self.tie_embeddings, hidden_act="silu", attention_bias=False,
            mlp_bias=False, attention_dropout=0.0, bos_token_id=None, eos_token_id=None,
            pad_token_id=None)

    def __post_init__(self) -> None:
        if self.n_embd % self.n_head:
            raise ValueError(f"n_embd ({self.n_embd}) must be divisible by n_head ({self.n_head})")
        if self.n_head % self.n_kv_head:
            raise ValueError(f"n_head ({self.n_head}) must be a multiple of n_kv_head ({self.n_kv_head})")

    @property
    def head_dim(self) -> int:
        return self.n_embd // self.n_head


class RMSNorm(nn.Module):
    """``x / sqrt(mean(x**2) + eps) * weight`` over the last axis (no mean subtraction, no bias)."""

    def __init__(self, dim: int, eps: float = 1e-5) -> None:
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x32 = x.float()
        x32 = x32 * torch.rsqrt(x32.pow(2).mean(-1, keepdim=True) + self.eps)
        return self.weight * x32.to(x.dtype)


def rope_cache(head_dim: int, length: int, theta: float = 10000.0,
               device: torch.device | str | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Cosines and sines of the rotation angles: two ``(length, head_dim)`` float32 tensors.

    Pair ``i`` (dimensions ``i`` and ``i + head_dim/2``) turns by ``position * theta**(-2i/head_dim)``.
    """
    inv_freq = 1.0 / theta ** (torch.arange(0, head_dim, 2, device=device).float() / head_dim)
    angles = torch.outer(torch.arange(length, device=device).float(), inv_freq)  # (L, hd/2)
    angles = torch.cat([angles, angles], dim=-1)                                  # (L, hd)
    return angles.cos(), angles.sin()


def rotate_half(x: torch.Tensor) -> torch.Tensor:
    """``(x1, x2) -> (-x2, x1)`` on the two halves of the last axis."""
    x1, x2 = x.chunk(2, dim=-1)
    return torch.cat([-x2, x1], dim=-1)


def apply_rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotate queries or keys ``(B, H, T, hd)`` by the angles of their positions ``(T, hd)``."""
    return (x * cos + rotate_half(x) * sin).to(x.dtype)


class Attention(nn.Module):
    """Grouped-query self-attention with RoPE and an optional KV cache.

    ``n_kv_head`` key/value heads are shared by groups of ``n_head / n_kv_head`` query heads.
    """

    def __init__(self, cfg: LlamaConfig) -> None:
        super().__init__()
        self.n_head, self.n_kv_head, self.hd = cfg.n_head, cfg.n_kv_head, cfg.head_dim
        self.q_proj = nn.Linear(cfg.n_embd, cfg.n_head * self.hd, bias=False)
        self.k_proj = nn.Linear(cfg.n_embd, cfg.n_kv_head * self.hd, bias=False)
        self.v_proj = nn.Linear(cfg.n_embd, cfg.n_kv_head * self.hd, bias=False)
        self.o_proj = nn.Linear(cfg.n_head * self.hd, cfg.n_embd, bias=False)

    def forward(self, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor,
                cache: dict | None = None) -> torch.Tensor:
        B, T, _ = x.shape
        q = self.q_proj(x).view(B, T, self.n_head, self.hd).transpose(1, 2)
        k = self.k_proj(x).view(B, T, self.n_kv_head, self.hd).transpose(1, 2)
        v = self.v_proj(x).view(B, T, self.n_kv_head, self.hd).transpose(1, 2)
        q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
        if cache is not None:  # append the new keys/values to those of earlier positions
            k, v = extend_cache(cache, k, v)
        rep = self.n_head // self.n_kv_head
        k, v = k.repeat_interleave(rep, dim=1), v.repeat_interleave(rep, dim=1)
        y = cached_attention(q, k, v)  # causal: new query i sees the past and new keys up to i
        return self.o_proj(y.transpose(1, 2).reshape(B, T, self.n_head * self.hd))


class SwiGLU(nn.Module):
    """``down(silu(gate(x)) * up(x))``: a gated MLP ``(B, T, C) -> (B, T, C)``."""

    def __init__(self, cfg: LlamaConfig) -> None:
        super().__init__()
        self.gate_proj = nn.Linear(cfg.n_embd, cfg.hidden_dim, bias=False)
        self.up_proj = nn.Linear(cfg.n_embd, cfg.hidden_dim, bias=False)
        self.down_proj = nn.Linear(cfg.hidden_dim, cfg.n_embd, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class LlamaBlock(nn.Module):
    """``x + attn(rmsnorm(x))``, then ``x + mlp(rmsnorm(x))``."""

    def __init__(self, cfg: LlamaConfig) -> None:
        super().__init__()
        self.input_layernorm = RMSNorm(cfg.n_embd, cfg.norm_eps)
        self.self_attn = Attention(cfg)
        self.post_attention_layernorm = RMSNorm(cfg.n_embd, cfg.norm_eps)
        self.mlp = SwiGLU(cfg)

    def forward(self, x, cos, sin, cache=None):
        x = x + self.self_attn(self.input_layernorm(x), cos, sin, cache)
        return x + self.mlp(self.post_attention_layernorm(x))


class Llama(nn.Module):
    """The Llama language model.

    ``forward(idx, targets=None, caches=None, start=0) -> (logits, loss or None)``; with
    ``caches`` (one dict per layer, see :meth:`new_cache`) only the new tokens ``idx`` are
    processed, at positions ``start, start + 1, ...``.
    """

    def __init__(self, cfg: LlamaConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.embed_tokens = nn.Embedding(cfg.vocab_size, cfg.n_embd)
        self.layers = nn.ModuleList(LlamaBlock(cfg) for _ in range(cfg.n_layer))
        self.norm = RMSNorm(cfg.n_embd, cfg.norm_eps)
        self.lm_head = nn.Linear(cfg.n_embd, cfg.vocab_size, bias=False)
        if cfg.tie_embeddings:
            self.lm_head.weight = self.embed_tokens.weight
        for m in self.modules():
            if isinstance(m, (nn.Linear, nn.Embedding)):
                nn.init.normal_(m.weight, mean=0.0, std=0.02)
        cos, sin = rope_cache(cfg.head_dim, cfg.block_size, cfg.rope_theta)
        self.register_buffer("rope_cos", cos, persistent=False)
        self.register_buffer("rope_sin", sin, persistent=False)

    def num_params(self) -> int:
        """Number of parameters (tied weights counted once)."""
        return sum(p.numel() for p in self.parameters())

    def new_cache(self) -> list[dict]:
        """An empty KV cache: one dict per layer, filled by :meth:`forward`."""
        return [{} for _ in self.layers]

    def forward(self, idx: torch.Tensor, targets: torch.Tensor | None = None,
                caches: list[dict] | None = None, start: int = 0):
        if idx.dim() != 2:
            raise ValueError(f"idx must have shape (B, T), got {tuple(idx.shape)}")
        T = idx.shape[1]
        if start + T > self.cfg.block_size:
            raise ValueError(f"positions up to {start + T} exceed block_size {self.cfg.block_size}")
        cos, sin = self.rope_cos[start:start + T], self.rope_sin[start:start + T]
        x = self.embed_tokens(idx)
        for i, layer in enumerate(self.layers):
            x = layer(x, cos, sin, None if caches is None else caches[i])
        logits = self.lm_head(self.norm(x))
        loss = None
        if targets is not None:
            loss = F.cross_entropy(logits.reshape(-1, logits.size(-1)), targets.reshape(-1))
        return logits, loss

    @torch.no_grad()
    def generate(self, idx: torch.Tensor, max_new_tokens: int, temperature: float = 1.0,
                 top_k: int | None = None, use_cache: bool = True,
                 generator: torch.Generator | None = None, top_p: float | None = None) -> torch.Tensor:
        """Append ``max_new_tokens`` tokens to ``idx`` ``(B, T)``.

        With the KV cache each step processes one token; without it, the whole sequence is
        recomputed every step (same result, much slower). The total length must fit in
        ``block_size``.
        """
        if idx.shape[1] + max_new_tokens > self.cfg.block_size:
            raise ValueError(f"{idx.shape[1]} + {max_new_tokens} tokens exceed block_size {self.cfg.block_size}")
        if use_cache:
            return generate_with_cache(self, idx, max_new_tokens, temperature, top_k, top_p, generator)
        for _ in range(max_new_tokens):
            logits, _ = self(idx)
            idx = torch.cat([idx, sample_next(logits[:, -1], temperature, top_k, generator, top_p)], 1)
        return idx

    def to_hf(self):
        """This model as a Hugging Face ``LlamaForCausalLM`` with the same weights (in eval mode).

        Save it with ``.save_pretrained(folder)`` (a ``config.json`` and ``model.safetensors``)
        and any tool of the ecosystem can load it: ``LlamaForCausalLM.from_pretrained(folder)``.
        """
        import transformers

        hf = transformers.LlamaForCausalLM(self.cfg.to_hf_config())
        sd = hf.state_dict()
        with torch.no_grad():
            for name, p in self.named_parameters():
                dst = name if name.startswith("lm_head") else "model." + name
                sd[dst].copy_(p)
        if self.cfg.tie_embeddings:
            hf.tie_weights()
        return hf.eval()

    @classmethod
    def from_hf(cls, hf_model) -> "Llama":
        """Build a Llama with the weights of a Hugging Face ``LlamaForCausalLM``."""
        cfg = LlamaConfig.from_hf_config(hf_model.config)
        model = cls(cfg)
        sd = hf_model.state_dict()
        with torch.no_grad():
            for name, p in model.named_parameters():
                src = name if name.startswith("lm_head") else "model." + name
                if src not in sd and name == "lm_head.weight":
                    src = "model.embed_tokens.weight"
                p.copy_(sd[src])
        return model
