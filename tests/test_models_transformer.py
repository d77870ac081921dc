"""mlcourse.models.transformer: shapes, equality with PyTorch's attention, and what the masks promise."""

from __future__ import annotations

import math

import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from mlcourse.models import transformer as T  # noqa: E402

torch.set_num_threads(1)


def _seed(s=0):
    torch.manual_seed(s)


def test_masks():
    m = T.causal_mask(4)
    assert m.dtype == torch.bool and m.shape == (4, 4)
    assert m[3].all() and not m[0, 1:].any() and m.diagonal().all()      # row = query, column = key
    tokens = torch.tensor([[5, 6, 0, 0], [7, 0, 0, 0]])
    p = T.padding_mask(tokens, pad_id=0)
    assert p.shape == (2, 1, 4) and p.tolist() == [[[True, True, False, False]], [[True, False, False, False]]]


def test_attention_shapes_and_rows_sum_to_one():
    _seed()
    q, k, v = torch.randn(2, 3, 5, 8), torch.randn(2, 3, 7, 8), torch.randn(2, 3, 7, 4)
    out, w = T.scaled_dot_product_attention(q, k, v)
    assert out.shape == (2, 3, 5, 4) and w.shape == (2, 3, 5, 7)
    torch.testing.assert_close(w.sum(-1), torch.ones(2, 3, 5))


@pytest.mark.parametrize("kind", ["none", "causal", "padding", "both"])
def test_attention_equals_torch_sdpa(kind):
    _seed(1)
    B, H, L, D = 3, 2, 6, 8
    q, k, v = (torch.randn(B, H, L, D, dtype=torch.float64) for _ in range(3))
    lengths = torch.tensor([6, 4, 2])
    pad = (torch.arange(L)[None, :] < lengths[:, None])[:, None, None, :]        # (B, 1, 1, L)
    mask = {"none": None, "causal": T.causal_mask(L), "padding": pad,
            "both": pad & T.causal_mask(L)}[kind]
    ours, _ = T.scaled_dot_product_attention(q, k, v, mask)
    ref = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    torch.testing.assert_close(ours, ref, atol=1e-12, rtol=1e-12)


def test_a_fully_masked_row_gives_no_nan():
    q = k = v = torch.randn(1, 3, 4)
    out, w = T.scaled_dot_product_attention(q, k, v, torch.zeros(3, 3, dtype=torch.bool))
    assert torch.isfinite(out).all() and torch.allclose(w, torch.full_like(w, 1 / 3))


def _torch_mha_with_our_weights(ours: T.MultiHeadAttention) -> nn.MultiheadAttention:
    ref = nn.MultiheadAttention(ours.d_model, ours.n_heads, batch_first=True, dtype=torch.float64)
    with torch.no_grad():
        ref.in_proj_weight.copy_(torch.cat([ours.q_proj.weight, ours.k_proj.weight, ours.v_proj.weight]))
        ref.in_proj_bias.copy_(torch.cat([ours.q_proj.bias, ours.k_proj.bias, ours.v_proj.bias]))
        ref.out_proj.weight.copy_(ours.out_proj.weight)
        ref.out_proj.bias.copy_(ours.out_proj.bias)
    return ref.eval()


def test_multi_head_attention_equals_nn_multiheadattention():
    _seed(2)
    B, Lq, Lk, D, H = 3, 5, 7, 16, 4
    ours = T.MultiHeadAttention(D, H).double().eval()
    ref = _torch_mha_with_our_weights(ours)
    x, ctx = torch.randn(B, Lq, D, dtype=torch.float64), torch.randn(B, Lk, D, dtype=torch.float64)
    keep = torch.arange(Lk)[None, :] < torch.tensor([7, 5, 1])[:, None]           # (B, Lk), True = real
    ours.keep_weights = True
    out = ours(x, ctx, mask=keep[:, None, :])
    # nn.MultiheadAttention's masks say the opposite: True = blocked
    want, w = ref(x, ctx, ctx, key_padding_mask=~keep, average_attn_weights=False)
    torch.testing.assert_close(out, want, atol=1e-10, rtol=1e-10)
    torch.testing.assert_close(ours.weights, w, atol=1e-10, rtol=1e-10)
    # self-attention with a causal mask
    out = ours(x, mask=T.causal_mask(Lq))
    want, _ = ref(x, x, x, attn_mask=~T.causal_mask(Lq))
    torch.testing.assert_close(out, want, atol=1e-10, rtol=1e-10)


def test_fused_path_equals_explicit_path():
    _seed(3)
    mha = T.MultiHeadAttention(32, 4).eval()
    x = torch.randn(2, 9, 32)
    mask = T.causal_mask(9) & torch.tensor([[True] * 9, [True] * 6 + [False] * 3])[:, None, :]
    slow = mha(x, mask=mask)
    mha.fused = True
    torch.testing.assert_close(mha(x, mask=mask), slow, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("fused", [False, True])
def test_causal_self_attention_never_reads_the_future(fused):
    _seed(4)
    attn = T.CausalSelfAttention(32, 4).eval()
    attn.fused = fused
    x = torch.randn(2, 10, 32)
    y = attn(x)
    assert y.shape == (2, 10, 32)
    for t in range(10):
        x2 = x.clone()
        x2[:, t:] = torch.randn(2, 10 - t, 32)             # change position t and everything after it
        y2 = attn(x2)
        torch.testing.assert_close(y2[:, :t], y[:, :t], atol=1e-6, rtol=1e-6)
        assert not torch.allclose(y2[:, t], y[:, t])
    # equals MultiHeadAttention given the causal mask explicitly
    mha = T.MultiHeadAttention(32, 4).eval()
    mha.load_state_dict(attn.state_dict())
    torch.testing.assert_close(mha(x, mask=T.causal_mask(10)), y, atol=1e-5, rtol=1e-5)


def test_positional_encoding():
    pe = T.sinusoidal_positional_encoding(50, 16)
    assert pe.shape == (50, 16) and pe.dtype == torch.float32
    assert torch.allclose(pe[0, 0::2], torch.zeros(8)) and torch.allclose(pe[0, 1::2], torch.ones(8))
    p, i = 7, 3
    assert math.isclose(pe[p, 2 * i].item(), math.sin(p / 10000 ** (2 * i / 16)), rel_tol=1e-5)
    assert math.isclose(pe[p, 2 * i + 1].item(), math.cos(p / 10000 ** (2 * i / 16)), rel_tol=1e-5)
    layer = T.PositionalEncoding(16, max_len=50)
    x = torch.zeros(2, 5, 16)
    torch.testing.assert_close(layer(x), pe[:5].expand(2, 5, 16))
    with pytest.raises(ValueError, match="longer than max_len"):
        layer(torch.zeros(1, 51, 16))


def _small_model(**kw):
    _seed(5)
    return T.Transformer(src_vocab=20, tgt_vocab=15, d_model=32, n_heads=4, n_layers=2, d_ff=64,
                         dropout=0.0, max_len=16, **kw).eval()


def test_transformer_shapes_and_greedy_decode():
    model = _small_model()
    src = torch.randint(3, 20, (4, 9))
    src[1, 6:] = 0
    tgt_in = torch.randint(3, 15, (4, 5))
    assert model(src, tgt_in).shape == (4, 5, 15)
    out = model.greedy_decode(src, bos_id=1, eos_id=2, max_len=6)
    assert out.dtype == torch.long and out.shape[0] == 4 and out.shape[1] <= 7 and (out[:, 0] == 1).all()
    # greedy decoding = repeatedly taking the argmax of the full forward pass
    for t in range(1, out.shape[1]):
        step = model(src, out[:, :t])[:, -1].argmax(-1)
        finished = (out[:, 1:t] == 2).any(1) if t > 1 else torch.zeros(4, dtype=torch.bool)
        assert (out[~finished, t] == step[~finished]).all()
    w = model.cross_attention(src, tgt_in)
    assert w.shape == (2, 4, 4, 5, 9)
    torch.testing.assert_close(w.sum(-1), torch.ones(2, 4, 4, 5))
    assert (w[:, 1, :, :, 6:] == 0).all()                       # nobody reads the source's padding


def test_decoder_is_causal_and_padding_is_ignored():
    model = _small_model()
    src = torch.randint(3, 20, (2, 8))
    tgt = torch.randint(3, 15, (2, 6))
    logits = model(src, tgt)
    tgt2 = tgt.clone()
    tgt2[:, 4] = (tgt[:, 4] + 1 - 3) % 12 + 3                  # change a later target token
    logits2 = model(src, tgt2)
    torch.testing.assert_close(logits2[:, :4], logits[:, :4])
    assert not torch.allclose(logits2[:, 4], logits[:, 4])
    # more padding at the end of the source changes nothing
    padded = torch.cat([src, torch.zeros(2, 5, dtype=torch.long)], dim=1)
    torch.testing.assert_close(model(padded, tgt), logits, atol=1e-5, rtol=1e-5)
    # the values of padded source positions do not matter either
    src_pad = src.clone()
    src_pad[0, 5:] = 0
    other = src_pad.clone()
    base = model(src_pad, tgt)
    model.src_embed.weight.data[0] += 3.0                     # what a pad token "says" is irrelevant
    torch.testing.assert_close(model(other, tgt), base, atol=1e-5, rtol=1e-5)


def test_encoder_padding_does_not_change_real_positions():
    _seed(6)
    layer = T.EncoderLayer(32, 4, 64).eval()
    x = torch.randn(1, 5, 32)
    junk = torch.cat([x, torch.randn(1, 3, 32) * 10], dim=1)
    mask = torch.tensor([[True] * 5 + [False] * 3])[:, None, :]
    torch.testing.assert_close(layer(junk, mask)[:, :5], layer(x), atol=1e-5, rtol=1e-5)


def test_transformer_learns_to_copy():
    """A few hundred steps are enough to copy short sequences: the pieces fit together."""
    _seed(7)
    model = T.Transformer(src_vocab=12, tgt_vocab=12, d_model=32, n_heads=2, n_layers=1, d_ff=64,
                          dropout=0.0, max_len=10)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    for _ in range(300):
        src = torch.randint(3, 12, (64, 5))
        tgt = torch.cat([torch.ones(64, 1, dtype=torch.long), src, torch.full((64, 1), 2)], dim=1)
        logits = model(src, tgt[:, :-1])
        loss = F.cross_entropy(logits.reshape(-1, 12), tgt[:, 1:].reshape(-1))
        opt.zero_grad()
        loss.backward()
        opt.step()
    src = torch.randint(3, 12, (100, 5))
    out = model.greedy_decode(src, 1, 2, max_len=6)
    assert (out[:, 1:6] == src).all(1).float().mean() > 0.9
