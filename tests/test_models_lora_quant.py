"""LoRA adapters and int8 weight quantisation (mlcourse.models.lora, mlcourse.models.quant)."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from mlcourse.models.gpt import GPT, GPTConfig  # noqa: E402
from mlcourse.models.llama import Llama, LlamaConfig  # noqa: E402
from mlcourse.models.lora import LoRALinear, add_lora, merge_lora, trainable_parameters  # noqa: E402
from mlcourse.models.quant import (Int8Linear, quantize_linear_layers, quantize_per_channel,  # noqa: E402
                                   weight_bytes)


def _llama():
    torch.manual_seed(0)
    return Llama(LlamaConfig(vocab_size=40, block_size=32, n_layer=2, n_head=4, n_kv_head=2, n_embd=32,
                             hidden_dim=64))


def _train(model, steps=30, lr=1e-2):
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=lr)
    g = torch.Generator().manual_seed(1)
    x = torch.randint(0, 40, (8, 16), generator=g)
    losses = []
    for _ in range(steps):
        _, loss = model(x[:, :-1], x[:, 1:])
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses


# -- LoRA -------------------------------------------------------------------------------------

def test_lora_starts_as_the_original_and_trains_only_the_adapters():
    model = _llama().eval()
    x = torch.randint(0, 40, (2, 12))
    with torch.no_grad():
        before, _ = model(x)
    frozen = {k: v.clone() for k, v in model.state_dict().items()}
    names = add_lora(model, ("q_proj", "v_proj"), r=4, alpha=8)
    assert names == ["layers.0.self_attn.q_proj", "layers.0.self_attn.v_proj",
                     "layers.1.self_attn.q_proj", "layers.1.self_attn.v_proj"]
    with torch.no_grad():
        after, _ = model(x)
    assert torch.equal(before, after)                      # B = 0: exactly the original model
    # trainable: per layer A (4, 32) and B (out, 4); q_proj out 32, v_proj out 2 heads * 8 = 16
    assert trainable_parameters(model) == 2 * (4 * 32 + 32 * 4 + 4 * 32 + 16 * 4)
    losses = _train(model.train())
    assert losses[-1] < losses[0] - 0.1
    for k, v in frozen.items():                            # the base weights did not move
        assert torch.equal(model.state_dict()[k.replace("q_proj.", "q_proj.base.").replace("v_proj.", "v_proj.base.")], v)


def test_merging_gives_plain_linear_layers_and_the_same_logits():
    model = _llama()
    add_lora(model, ("q_proj", "k_proj", "v_proj", "o_proj"), r=2, alpha=4)
    _train(model.train(), steps=10)
    model.eval()
    x = torch.randint(0, 40, (3, 20))
    with torch.no_grad():
        adapted, _ = model(x)
        merge_lora(model)
        merged, _ = model(x)
    assert not any(isinstance(m, LoRALinear) for m in model.modules())
    assert set(model.state_dict()) == set(_llama().state_dict())   # a plain Llama again
    torch.testing.assert_close(merged, adapted, atol=1e-5, rtol=0)
    assert not torch.allclose(merged, _llama().eval()(x)[0])        # and not the original one


def test_lora_layer_math_and_errors():
    base = torch.nn.Linear(6, 5)
    lora = LoRALinear(base, r=3, alpha=6.0)
    with torch.no_grad():
        lora.lora_B.normal_()
    x = torch.randn(4, 6)
    want = base(x) + 2.0 * x @ lora.lora_A.T @ lora.lora_B.T         # alpha / r = 2
    torch.testing.assert_close(lora(x), want)
    torch.testing.assert_close(lora.merged()(x), want, atol=1e-6, rtol=0)
    assert lora.delta_weight().shape == (5, 6)
    with pytest.raises(ValueError, match="rank r must be between 1 and min"):
        LoRALinear(torch.nn.Linear(6, 5), r=6)
    with pytest.raises(ValueError, match=r"no nn.Linear layer ends with .*'q_proj'"):
        add_lora(_llama(), ("query",))


def test_lora_on_the_gpt_fused_attention():
    torch.manual_seed(0)
    gpt = GPT(GPTConfig(vocab_size=40, block_size=32, n_layer=2, n_head=2, n_embd=16))
    full = trainable_parameters(gpt)
    add_lora(gpt, ("attn.c_attn",), r=2)
    assert trainable_parameters(gpt) == 2 * (2 * 16 + 48 * 2) < full // 20
    assert gpt.lm_head.weight is gpt.wte.weight                     # tying untouched


# -- int8 -------------------------------------------------------------------------------------

@pytest.mark.skipif(not hasattr(torch, "quantize_per_channel"), reason="this torch has no quantize_per_channel")
@pytest.mark.filterwarnings("ignore:torch.quantize_per_tensor:UserWarning")  # deprecated, still the reference
def test_per_channel_int8_equals_pytorchs_own_quantisation():
    g = torch.Generator().manual_seed(0)
    w = torch.randn(64, 48, generator=g) * torch.linspace(0.01, 3, 64)[:, None]   # rows of very different sizes
    w[5] = 0.0                                                                        # and an all-zero row
    q, scale = quantize_per_channel(w)
    assert q.dtype == torch.int8 and q.shape == (64, 48) and scale.shape == (64,)
    ref = torch.quantize_per_channel(w, scale.double(), torch.zeros(64, dtype=torch.long), 0, torch.qint8)
    assert torch.equal(q, ref.int_repr())
    torch.testing.assert_close(q.float() * scale[:, None], ref.dequantize())
    err = (q.float() * scale[:, None] - w).abs()
    assert bool((err <= scale[:, None] / 2 + 1e-7).all())                            # at most half a step
    assert q.abs().max() == 127 and bool((q[5] == 0).all())


def test_quantised_llama_is_smaller_and_close():
    model = _llama().eval()
    x = torch.randint(0, 40, (2, 16))
    with torch.no_grad():
        want, _ = model(x)
    before = weight_bytes(model)
    names = quantize_linear_layers(model)
    assert "lm_head" not in names and len(names) == 2 * 7           # q, k, v, o, gate, up, down per layer
    assert all(isinstance(model.get_submodule(n), Int8Linear) for n in names)
    with torch.no_grad():
        got, _ = model(x)
    linear = sum(m.weight_int8.numel() for m in model.modules() if isinstance(m, Int8Linear))
    scales = sum(m.scale.numel() for m in model.modules() if isinstance(m, Int8Linear))
    assert before - weight_bytes(model) == 3 * linear - 4 * scales  # 4 bytes -> 1 byte per weight, plus the scales
    assert (got - want).abs().max() < 0.05 * want.abs().max()
    assert (got.argmax(-1) == want.argmax(-1)).float().mean() > 0.95      # the same next token almost always
    with pytest.raises(ValueError, match=r"shape \(out_features, in_features\)"):
        quantize_per_channel(torch.zeros(3))
