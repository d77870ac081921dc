"""The Transformer's building blocks, as derived on Day 10 (and reused by Day 12's GPT and Llama).

Everything here is plain PyTorch, written to be read. Shapes use these letters:

* ``B`` batch size, ``L`` sequence length (``Lq`` queries, ``Lk`` keys/values),
* ``D`` = ``d_model`` the width of the model, ``H`` heads, ``Dh = D // H`` the width of a head,
* ``V`` vocabulary size.

**Masks are boolean and True means "may attend"** -- the convention of
:func:`torch.nn.functional.scaled_dot_product_attention`. (Careful: ``nn.MultiheadAttention``'s
``attn_mask`` and ``key_padding_mask`` use the opposite, True = blocked.) A mask broadcasts
against the attention scores: give :func:`scaled_dot_product_attention` anything that
broadcasts to ``(..., Lq, Lk)``; give :class:`MultiHeadAttention` anything that broadcasts to
``(B, Lq, Lk)`` -- e.g. ``(L, L)`` from :func:`causal_mask` or ``(B, 1, Lk)`` from
:func:`padding_mask` -- and it adds the head axis itself. Combine masks with ``&``.

The layers are *pre-norm* (LayerNorm before each sub-layer, as in GPT-2 and Llama), which
trains without the long warm-up the original post-norm Transformer needs.

Example::

    from mlcourse.models.transformer import Transformer
    model = Transformer(src_vocab=70, tgt_vocab=70, d_model=128, n_heads=4, n_layers=2)
    logits = model(src, tgt_in)                           # (B, T, V)
    out = model.greedy_decode(src, bos_id=1, eos_id=2, max_len=11)   # (B, 12) with <bos>
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = [
    "causal_mask", "padding_mask", "scaled_dot_product_attention", "MultiHeadAttention",
    "CausalSelfAttention", "sinusoidal_positional_encoding", "PositionalEncoding", "FeedForward",
    "EncoderLayer", "DecoderLayer", "Transformer",
]


# --- masks ---------------------------------------------------------------------------------

def causal_mask(length: int, device: torch.device | str | None = None) -> Tensor:
    """``(L, L)`` bool, True on and below the diagonal: query ``i`` may read keys ``j <= i``."""
    return torch.ones(length, length, dtype=torch.bool, device=device).tril()


def padding_mask(tokens: Tensor, pad_id: int = 0) -> Tensor:
    """``(B, 1, L)`` bool from ``(B, L)`` token ids: True at real tokens, False at padding.

    The middle axis of length 1 broadcasts over the queries: no query may read a padded key.
    """
    return (tokens != pad_id).unsqueeze(-2)


# --- attention -----------------------------------------------------------------------------

def scaled_dot_product_attention(
    q: Tensor, k: Tensor, v: Tensor, mask: Tensor | None = None, dropout_p: float = 0.0
) -> tuple[Tensor, Tensor]:
    r"""``softmax(q k^T / sqrt(d) + mask) v``: every query takes a weighted average of the values.

    Args:
        q: queries ``(..., Lq, Dk)``.
        k: keys ``(..., Lk, Dk)``.
        v: values ``(..., Lk, Dv)``.
        mask: bool, broadcastable to ``(..., Lq, Lk)``; True = may attend. A row with no True
            at all gets uniform weights (never NaN).
        dropout_p: dropout on the attention weights (pass 0.0 at evaluation time).

    Returns:
        ``(out, weights)``: ``out`` is ``(..., Lq, Dv)``; ``weights`` is ``(..., Lq, Lk)``, each
        row a probability distribution over the keys.
    """
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.size(-1))          # (..., Lq, Lk)
    if mask is not None:
        scores = scores.masked_fill(~mask, torch.finfo(scores.dtype).min)
    weights = scores.softmax(dim=-1)
    if dropout_p > 0.0:
        weights = F.dropout(weights, dropout_p)
    return weights @ v, weights


class MultiHeadAttention(nn.Module):
    """``H`` attention heads in parallel, each on its own ``Dh = D / H``-wide projection.

    Self-attention when ``context`` is None (queries, keys and values all from ``x``);
    cross-attention otherwise (queries from ``x``, keys and values from ``context``).

    Attributes:
        q_proj, k_proj, v_proj, out_proj: the four ``D x D`` linear maps.
        keep_weights: when True, the last attention weights are kept in ``self.weights``
            ``(B, H, Lq, Lk)`` (detached) -- for drawing them.
        fused: when True (and ``keep_weights`` is False), use PyTorch's fused kernel
            :func:`torch.nn.functional.scaled_dot_product_attention` (same result, faster).
    """

    def __init__(self, d_model: int, n_heads: int, dropout: float = 0.0, bias: bool = True) -> None:
        super().__init__()
        if d_model % n_heads:
            raise ValueError(f"d_model={d_model} is not divisible by n_heads={n_heads}")
        self.d_model, self.n_heads, self.d_head = d_model, n_heads, d_model // n_heads
        self.dropout = dropout
        self.q_proj = nn.Linear(d_model, d_model, bias=bias)
        self.k_proj = nn.Linear(d_model, d_model, bias=bias)
        self.v_proj = nn.Linear(d_model, d_model, bias=bias)
        self.out_proj = nn.Linear(d_model, d_model, bias=bias)
        self.keep_weights = False
        self.fused = False
        self.weights: Tensor | None = None

    def split_heads(self, x: Tensor) -> Tensor:
        """``(B, L, D)`` -> ``(B, H, L, Dh)``."""
        B, L, _ = x.shape
        return x.view(B, L, self.n_heads, self.d_head).transpose(1, 2)

    def merge_heads(self, x: Tensor) -> Tensor:
        """``(B, H, L, Dh)`` -> ``(B, L, D)``."""
        B, _, L, _ = x.shape
        return x.transpose(1, 2).reshape(B, L, self.d_model)

    def attend(self, q: Tensor, k: Tensor, v: Tensor, mask: Tensor | None,
               is_causal: bool = False) -> Tensor:
        """Attention on split heads ``(B, H, L, Dh)``; ``mask`` broadcastable to ``(B, H, Lq, Lk)``."""
        p = self.dropout if self.training else 0.0
        if self.fused and not self.keep_weights:
            return F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=p,
                                                  is_causal=is_causal and mask is None)
        if is_causal:
            causal = causal_mask(q.size(-2), q.device)
            mask = causal if mask is None else mask & causal
        out, weights = scaled_dot_product_attention(q, k, v, mask, p)
        self.weights = weights.detach() if self.keep_weights else None
        return out

    def forward(self, x: Tensor, context: Tensor | None = None, mask: Tensor | None = None) -> Tensor:
        """Args: ``x`` ``(B, Lq, D)``; ``context`` ``(B, Lk, D)`` or None (self-attention);
        ``mask`` bool broadcastable to ``(B, Lq, Lk)``, True = may attend.

        Returns: ``(B, Lq, D)``.
        """
        context = x if context is None else context
        q = self.split_heads(self.q_proj(x))          # (B, H, Lq, Dh)
        k = self.split_heads(self.k_proj(context))    # (B, H, Lk, Dh)
        v = self.split_heads(self.v_proj(context))    # (B, H, Lk, Dh)
        if mask is not None:
            mask = mask.unsqueeze(-3)                 # add the head axis: (B, 1, Lq, Lk)
        return self.out_proj(self.merge_heads(self.attend(q, k, v, mask)))


class CausalSelfAttention(MultiHeadAttention):
    """Masked self-attention for language models: position ``i`` reads positions ``0 .. i`` only.

    ``forward(x, mask=None)``: ``x`` ``(B, L, D)`` -> ``(B, L, D)``; an optional extra ``mask``
    (e.g. padding, broadcastable to ``(B, L, L)``) is combined with the causal one.
    """

    def forward(self, x: Tensor, mask: Tensor | None = None) -> Tensor:  # type: ignore[override]
        q, k, v = (self.split_heads(p(x)) for p in (self.q_proj, self.k_proj, self.v_proj))
        if mask is not None:
            mask = mask.unsqueeze(-3) & causal_mask(x.size(1), x.device)
        out = self.attend(q, k, v, mask, is_causal=mask is None)
        return self.out_proj(self.merge_heads(out))


# --- positions and the other sub-layers ----------------------------------------------------

def sinusoidal_positional_encoding(max_len: int, d_model: int) -> Tensor:
    r"""``(max_len, d_model)`` float32: ``PE[p, 2i] = sin(p / 10000^{2i/D})``, ``PE[p, 2i+1] = cos(...)``."""
    if d_model % 2:
        raise ValueError(f"d_model must be even, got {d_model}")
    pos = torch.arange(max_len, dtype=torch.float64)[:, None]                 # (L, 1)
    freq = 10000.0 ** (-torch.arange(0, d_model, 2, dtype=torch.float64) / d_model)  # (D/2,)
    pe = torch.zeros(max_len, d_model, dtype=torch.float64)
    pe[:, 0::2] = torch.sin(pos * freq)
    pe[:, 1::2] = torch.cos(pos * freq)
    return pe.float()


class PositionalEncoding(nn.Module):
    """Adds the sinusoidal position code to ``(B, L, D)`` embeddings (then dropout); ``L <= max_len``."""

    def __init__(self, d_model: int, max_len: int = 512, dropout: float = 0.0) -> None:
        super().__init__()
        self.register_buffer("pe", sinusoidal_positional_encoding(max_len, d_model), persistent=False)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: Tensor) -> Tensor:
        if x.size(1) > self.pe.size(0):
            raise ValueError(f"sequence of length {x.size(1)} is longer than max_len={self.pe.size(0)}")
        return self.drop(x + self.pe[: x.size(1)])


class FeedForward(nn.Module):
    """Position-wise MLP ``(B, L, D)`` -> ``(B, L, D)``: Linear(D, d_ff), ReLU (or GELU), Linear(d_ff, D)."""

    def __init__(self, d_model: int, d_ff: int, dropout: float = 0.0, activation: str = "relu") -> None:
        super().__init__()
        act = {"relu": nn.ReLU(), "gelu": nn.GELU()}[activation]
        self.net = nn.Sequential(nn.Linear(d_model, d_ff), act, nn.Dropout(dropout),
                                 nn.Linear(d_ff, d_model))

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)


class EncoderLayer(nn.Module):
    """Pre-norm encoder layer: ``x + SelfAttn(LN(x))``, then ``x + FF(LN(x))``. ``(B, S, D)`` -> ``(B, S, D)``."""

    def __init__(self, d_model: int, n_heads: int, d_ff: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.norm1, self.norm2 = nn.LayerNorm(d_model), nn.LayerNorm(d_model)
        self.self_attn = MultiHeadAttention(d_model, n_heads, dropout)
        self.ff = FeedForward(d_model, d_ff, dropout)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: Tensor, src_mask: Tensor | None = None) -> Tensor:
        """``src_mask``: bool broadcastable to ``(B, S, S)``, usually :func:`padding_mask` ``(B, 1, S)``."""
        x = x + self.drop(self.self_attn(self.norm1(x), mask=src_mask))
        return x + self.drop(self.ff(self.norm2(x)))


class DecoderLayer(nn.Module):
    """Pre-norm decoder layer: masked self-attention, cross-attention to the encoder, feed-forward.

    ``forward(y, memory, tgt_mask, src_mask)``: ``y`` ``(B, T, D)``, ``memory`` ``(B, S, D)``,
    ``tgt_mask`` broadcastable to ``(B, T, T)`` (causal & target padding), ``src_mask`` to
    ``(B, T, S)`` (source padding) -> ``(B, T, D)``.
    """

    def __init__(self, d_model: int, n_heads: int, d_ff: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.norm1, self.norm2, self.norm3 = (nn.LayerNorm(d_model) for _ in range(3))
        self.self_attn = MultiHeadAttention(d_model, n_heads, dropout)
        self.cross_attn = MultiHeadAttention(d_model, n_heads, dropout)
        self.ff = FeedForward(d_model, d_ff, dropout)
        self.drop = nn.Dropout(dropout)

    def forward(self, y: Tensor, memory: Tensor, tgt_mask: Tensor | None = None,
                src_mask: Tensor | None = None) -> Tensor:
        y = y + self.drop(self.self_attn(self.norm1(y), mask=tgt_mask))
        y = y + self.drop(self.cross_attn(self.norm2(y), context=memory, mask=src_mask))
        return y + self.drop(self.ff(self.norm3(y)))


# --- the whole model -----------------------------------------------------------------------

class Transformer(nn.Module):
    """An encoder-decoder Transformer for sequence-to-sequence tasks (pre-norm).

    Args:
        src_vocab, tgt_vocab: vocabulary sizes.
        d_model, n_heads, n_layers, d_ff, dropout: the usual sizes (``n_layers`` encoder
            layers and as many decoder layers).
        max_len: longest source or target sequence.
        pad_id: the padding token id (masked everywhere).

    Shapes: ``src`` ``(B, S)`` int64, ``tgt_in`` ``(B, T)`` int64 (the target shifted right,
    starting with ``<bos>``: teacher forcing) -> logits ``(B, T, tgt_vocab)``.
    """

    def __init__(self, src_vocab: int, tgt_vocab: int, d_model: int = 128, n_heads: int = 4,
                 n_layers: int = 2, d_ff: int = 256, dropout: float = 0.1, max_len: int = 64,
                 pad_id: int = 0) -> None:
        super().__init__()
        self.pad_id = pad_id
        self.src_embed = nn.Embedding(src_vocab, d_model)
        self.tgt_embed = nn.Embedding(tgt_vocab, d_model)
        self.pos = PositionalEncoding(d_model, max_len, dropout)
        self.encoder = nn.ModuleList(EncoderLayer(d_model, n_heads, d_ff, dropout) for _ in range(n_layers))
        self.decoder = nn.ModuleList(DecoderLayer(d_model, n_heads, d_ff, dropout) for _ in range(n_layers))
        self.enc_norm, self.dec_norm = nn.LayerNorm(d_model), nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, tgt_vocab)

    def encode(self, src: Tensor) -> tuple[Tensor, Tensor]:
        """``src`` ``(B, S)`` -> ``memory`` ``(B, S, D)`` and ``src_mask`` ``(B, 1, S)``."""
        src_mask = padding_mask(src, self.pad_id)
        x = self.pos(self.src_embed(src))
        for layer in self.encoder:
            x = layer(x, src_mask)
        return self.enc_norm(x), src_mask

    def decode(self, tgt_in: Tensor, memory: Tensor, src_mask: Tensor) -> Tensor:
        """``tgt_in`` ``(B, T)``, ``memory`` ``(B, S, D)`` -> logits ``(B, T, V)``."""
        tgt_mask = padding_mask(tgt_in, self.pad_id) & causal_mask(tgt_in.size(1), tgt_in.device)
        y = self.pos(self.tgt_embed(tgt_in))
        for layer in self.decoder:
            y = layer(y, memory, tgt_mask, src_mask)
        return self.head(self.dec_norm(y))

    def forward(self, src: Tensor, tgt_in: Tensor) -> Tensor:
        memory, src_mask = self.encode(src)
        return self.decode(tgt_in, memory, src_mask)

    @torch.no_grad()
    def greedy_decode(self, src: Tensor, bos_id: int, eos_id: int, max_len: int) -> Tensor:
        """Translate by always taking the most likely next token.

        Returns ``(B, <= max_len + 1)`` int64 starting with ``<bos>``; rows that finished early
        are padded with ``pad_id`` after their ``<eos>``.
        """
        was_training = self.training
        self.eval()
        memory, src_mask = self.encode(src)
        out = torch.full((src.size(0), 1), bos_id, dtype=torch.long, device=src.device)
        done = torch.zeros(src.size(0), dtype=torch.bool, device=src.device)
        for _ in range(max_len):
            nxt = self.decode(out, memory, src_mask)[:, -1].argmax(-1)      # (B,)
            nxt = nxt.masked_fill(done, self.pad_id)
            out = torch.cat([out, nxt[:, None]], dim=1)
            done |= nxt == eos_id
            if bool(done.all()):
                break
        self.train(was_training)
        return out

    @torch.no_grad()
    def cross_attention(self, src: Tensor, tgt_in: Tensor) -> Tensor:
        """Cross-attention weights of every decoder layer: ``(n_layers, B, H, T, S)``."""
        was_training = self.training
        self.eval()
        for layer in self.decoder:
            layer.cross_attn.keep_weights = True
        try:
            self(src, tgt_in)
            return torch.stack([layer.cross_attn.weights for layer in self.decoder])
        finally:
            for layer in self.decoder:
                layer.cross_attn.keep_weights = False
            self.train(was_training)
