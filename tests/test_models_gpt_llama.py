"""The course's GPT and Llama equal Hugging Face's reference implementations (no download)."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from mlcourse.models.gpt import GPT, GPTConfig, sample_next, top_p_filter  # noqa: E402
from mlcourse.models.llama import Llama, LlamaConfig, RMSNorm, apply_rope, rope_cache  # noqa: E402


@pytest.fixture(autouse=True)
def _quiet():
    transformers.logging.set_verbosity_error()
    torch.manual_seed(0)


def _hf_gpt2():
    cfg = transformers.GPT2Config(vocab_size=61, n_positions=32, n_embd=48, n_layer=3, n_head=4,
                                  resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0,
                                  bos_token_id=0, eos_token_id=0)
    model = transformers.GPT2LMHeadModel(cfg).eval()
    with torch.no_grad():  # make biases and norms non-trivial so that every weight matters
        for name, p in model.named_parameters():
            if "ln" in name or name.endswith("bias"):
                p.add_(0.1 * torch.randn_like(p))
    return model


def _hf_llama(n_kv_head=2, tie=False):
    cfg = transformers.LlamaConfig(vocab_size=61, hidden_size=48, intermediate_size=96,
                                   num_hidden_layers=3, num_attention_heads=6,
                                   num_key_value_heads=n_kv_head, max_position_embeddings=64,
                                   rms_norm_eps=1e-6, tie_word_embeddings=tie,
                                   bos_token_id=0, eos_token_id=0, pad_token_id=0)
    model = transformers.LlamaForCausalLM(cfg).eval()
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "norm" in name:
                p.add_(0.1 * torch.randn_like(p))
    return model


def test_gpt_logits_equal_hugging_face():
    hf = _hf_gpt2()
    ours = GPT.from_hf(hf).eval()
    idx = torch.randint(0, 61, (3, 32))
    with torch.no_grad():
        want = hf(idx).logits
        got, _ = ours(idx)
    assert got.shape == (3, 32, 61)
    torch.testing.assert_close(got, want, atol=1e-4, rtol=0)


@pytest.mark.parametrize("n_kv_head,tie", [(2, False), (6, False), (1, True)])
def test_llama_logits_equal_hugging_face(n_kv_head, tie):
    hf = _hf_llama(n_kv_head, tie)
    ours = Llama.from_hf(hf).eval()
    assert ours.cfg.n_kv_head == n_kv_head
    idx = torch.randint(0, 61, (2, 40))
    with torch.no_grad():
        want = hf(idx).logits
        got, _ = ours(idx)
    torch.testing.assert_close(got, want, atol=1e-4, rtol=0)


_CACHED = [
    lambda: GPT(GPTConfig(vocab_size=50, block_size=48, n_layer=2, n_head=4, n_embd=32)),
    lambda: Llama(LlamaConfig(vocab_size=50, block_size=48, n_layer=2, n_head=4, n_kv_head=2,
                              n_embd=32, hidden_dim=64)),
    lambda: Llama(LlamaConfig(vocab_size=50, block_size=48, n_layer=2, n_head=4, n_kv_head=1,
                              n_embd=32, hidden_dim=64)),
]


@pytest.mark.parametrize("make", _CACHED, ids=["gpt", "llama-gqa", "llama-mqa"])
def test_kv_cache_greedy_equals_full_recompute(make):
    model = make().eval()
    prompt = torch.randint(0, 50, (2, 7))
    fast = model.generate(prompt, 30, temperature=0, use_cache=True)
    slow = model.generate(prompt, 30, temperature=0, use_cache=False)
    assert fast.shape == (2, 37)
    assert torch.equal(fast, slow)


@pytest.mark.parametrize("make", _CACHED, ids=["gpt", "llama-gqa", "llama-mqa"])
def test_kv_cache_logits_match_step_by_step(make):
    model = make().eval()
    idx = torch.randint(0, 50, (2, 20))
    with torch.no_grad():
        full, _ = model(idx)
        caches = model.new_cache()
        first, _ = model(idx[:, :12], caches=caches)          # a prompt of 12 ...
        rest = [model(idx[:, t:t + 1], caches=caches, start=t)[0] for t in range(12, 16)]  # ... 4 single tokens
        last, _ = model(idx[:, 16:], caches=caches, start=16)  # ... and a chunk of 4 after a cache
    torch.testing.assert_close(torch.cat([first, *rest, last], dim=1), full, atol=1e-5, rtol=0)
    assert caches[0]["k"].shape[2] == 20                       # every position's keys are kept


def test_gpt_cache_refuses_positions_beyond_the_block():
    model = _CACHED[0]().eval()
    with pytest.raises(ValueError, match="exceed block_size 48"):
        model.generate(torch.zeros(1, 40, dtype=torch.long), 9, use_cache=True)
    with pytest.raises(ValueError, match=r"sequence length 49 exceeds block_size 48 \(47 cached \+ 2 new"):
        model(torch.zeros(1, 2, dtype=torch.long), caches=model.new_cache(), start=47)
    assert model.generate(torch.zeros(1, 40, dtype=torch.long), 20).shape == (1, 60)  # no cache: cropped context


@pytest.mark.parametrize("make", [
    lambda: GPT(GPTConfig(vocab_size=40, block_size=16, n_layer=2, n_head=2, n_embd=32)),
    lambda: Llama(LlamaConfig(vocab_size=40, block_size=16, n_layer=2, n_head=4, n_kv_head=2, n_embd=32, hidden_dim=64)),
])
def test_causality_future_tokens_never_change_earlier_logits(make):
    model = make().eval()
    idx = torch.randint(0, 40, (1, 16))
    changed = idx.clone()
    changed[0, 10:] = (changed[0, 10:] + 7) % 40
    with torch.no_grad():
        a, _ = model(idx)
        b, _ = model(changed)
    torch.testing.assert_close(a[:, :10], b[:, :10], atol=0, rtol=0)
    assert not torch.allclose(a[:, 10:], b[:, 10:])


def test_loss_and_shapes_and_errors():
    model = GPT(GPTConfig(vocab_size=40, block_size=16, n_layer=1, n_head=2, n_embd=16))
    idx = torch.randint(0, 40, (4, 16))
    logits, loss = model(idx, idx)
    assert logits.shape == (4, 16, 40) and loss.item() == pytest.approx(torch.log(torch.tensor(40.0)).item(), rel=0.1)
    assert model.lm_head.weight is model.wte.weight
    with pytest.raises(ValueError, match="exceeds block_size"):
        model(torch.zeros(1, 17, dtype=torch.long))
    with pytest.raises(ValueError, match=r"shape \(B, T\)"):
        model(torch.zeros(16, dtype=torch.long))
    with pytest.raises(ValueError, match="divisible"):
        GPTConfig(n_embd=30, n_head=4)
    with pytest.raises(ValueError, match="multiple of n_kv_head"):
        LlamaConfig(n_head=4, n_kv_head=3)
    out = model.generate(idx[:, :3], 5, temperature=0.8, top_k=5)
    assert out.shape == (4, 8) and torch.equal(out[:, :3], idx[:, :3])


def test_rope_rotates_pairs_and_keeps_norms():
    cos, sin = rope_cache(8, 10)
    assert cos.shape == sin.shape == (10, 8)
    x = torch.randn(1, 1, 10, 8)
    y = apply_rope(x, cos, sin)
    torch.testing.assert_close(y.norm(dim=-1), x.norm(dim=-1))
    torch.testing.assert_close(y[..., 0, :], x[..., 0, :])  # position 0 is not rotated
    # relative property: <R_m q, R_n k> depends only on m - n
    q, k = torch.randn(8), torch.randn(8)
    def rot(v, m):
        return apply_rope(v.view(1, 1, 1, 8), cos[m:m + 1], sin[m:m + 1]).flatten()
    assert torch.dot(rot(q, 5), rot(k, 2)).item() == pytest.approx(torch.dot(rot(q, 7), rot(k, 4)).item(), abs=1e-5)


def test_rmsnorm_and_sampling():
    n = RMSNorm(6)
    x = torch.randn(3, 6) * 10
    torch.testing.assert_close(n(x).pow(2).mean(-1), torch.ones(3), atol=1e-4, rtol=0)
    logits = torch.tensor([[0.0, 5.0, 1.0]])
    assert sample_next(logits, temperature=0).item() == 1
    g = torch.Generator().manual_seed(0)
    picks = {sample_next(logits, 1.0, top_k=2, generator=g).item() for _ in range(50)}
    assert picks <= {1, 2}


def test_top_p_keeps_the_smallest_nucleus_as_hugging_face_does():
    from transformers.generation.logits_process import TopPLogitsWarper

    probs = torch.tensor([[0.5, 0.3, 0.15, 0.05]])
    logits = probs.log()
    for p, kept in [(0.4, 1), (0.5, 1), (0.7, 2), (0.9, 3), (0.99, 4), (1.0, 4)]:
        got = top_p_filter(logits, p)
        assert int(torch.isfinite(got).sum()) == kept, (p, got)
        torch.testing.assert_close(got[torch.isfinite(got)], logits[0, :kept])
    g = torch.Generator().manual_seed(0)
    for _ in range(20):                         # random rows, shuffled order: same as the reference
        x = torch.randn(8, 50, generator=g) * 3
        for p in (0.1, 0.5, 0.8, 0.95):
            want = TopPLogitsWarper(top_p=p)(None, x.clone())
            assert torch.equal(torch.isfinite(top_p_filter(x, p)), torch.isfinite(want)), p
    picks = {sample_next(logits, 1.0, top_p=0.7, generator=g).item() for _ in range(100)}
    assert picks == {0, 1}
    with pytest.raises(ValueError, match="top_p must be in"):
        top_p_filter(logits, 0.0)


def _smollm2_like(**over):
    """A transformers LlamaConfig with SmolLM2-135M's published fields (tiny sizes)."""
    from transformers import LlamaConfig as HFConfig

    fields = dict(vocab_size=61, hidden_size=48, intermediate_size=128, num_hidden_layers=2,
                  num_attention_heads=6, num_key_value_heads=2, max_position_embeddings=64,
                  rms_norm_eps=1e-5, tie_word_embeddings=True, hidden_act="silu", rope_theta=100000.0)
    fields.update(over)
    return HFConfig(**fields)


def test_llama_config_reads_a_hugging_face_config():
    cfg = LlamaConfig.from_hf_config(_smollm2_like())
    assert (cfg.n_embd, cfg.n_head, cfg.n_kv_head, cfg.hidden_dim) == (48, 6, 2, 128)
    assert cfg.rope_theta == 100000.0 and cfg.tie_embeddings is True  # not the 10000 default


@pytest.mark.parametrize("over,why", [
    (dict(attention_bias=True), "attention_bias"),
    (dict(mlp_bias=True), "mlp_bias"),
    (dict(hidden_act="gelu"), "hidden_act='gelu'"),
    (dict(rope_scaling={"rope_type": "linear", "factor": 2.0}), "RoPE type 'linear'"),
])
def test_llama_config_refuses_what_it_cannot_represent(over, why):
    with pytest.raises(ValueError, match=why.replace("(", r"\(")):
        LlamaConfig.from_hf_config(_smollm2_like(**over))


@pytest.mark.parametrize("make", [
    lambda: GPT(GPTConfig(vocab_size=50, block_size=16, n_layer=1, n_head=2, n_embd=16)),
    lambda: Llama(LlamaConfig(vocab_size=50, block_size=16, n_layer=1, n_head=2, n_kv_head=1, n_embd=16, hidden_dim=32)),
])
def test_targets_may_be_a_slice_of_the_batch(make):
    """m(b[:, :-1], b[:, 1:]): the targets are a non-contiguous view of the batch."""
    torch.manual_seed(0)
    model, b = make(), torch.randint(0, 50, (3, 17))
    _, loss = model(b[:, :-1], b[:, 1:])
    _, want = model(b[:, :-1].contiguous(), b[:, 1:].contiguous())
    assert torch.isfinite(loss) and torch.equal(loss, want)


@pytest.mark.parametrize("over,why", [
    (dict(tie_word_embeddings=False), "tie_word_embeddings=False"),
    (dict(scale_attn_by_inverse_layer_idx=True), "scale_attn_by_inverse_layer_idx=True"),
    (dict(scale_attn_weights=False), "scale_attn_weights=False"),
    (dict(activation_function="relu"), "activation_function='relu'"),
])
def test_gpt_from_hf_refuses_what_it_cannot_represent(over, why):
    """A GPT-2 variant whose logits would silently differ is refused, with the reason."""
    cfg = transformers.GPT2Config(vocab_size=61, n_positions=32, n_embd=48, n_layer=2, n_head=4, **over)
    with pytest.raises(ValueError, match=why):
        GPT.from_hf(transformers.GPT2LMHeadModel(cfg))


@pytest.mark.parametrize("n_kv_head,tie", [(2, False), (1, True)])
def test_llama_exports_to_hugging_face_and_back(tmp_path, n_kv_head, tie):
    """Course Llama -> LlamaForCausalLM (config.json + safetensors) -> reloaded by transformers:
    the same logits and the same greedy tokens; and back again to identical weights."""
    ours = Llama(LlamaConfig(vocab_size=61, block_size=64, n_layer=2, n_head=4, n_kv_head=n_kv_head,
                             n_embd=32, hidden_dim=88, rope_theta=500.0, norm_eps=1e-6,
                             tie_embeddings=tie)).eval()
    with torch.no_grad():
        for name, p in ours.named_parameters():
            if "norm" in name:
                p.add_(0.1 * torch.randn_like(p))
    ours.to_hf().save_pretrained(tmp_path)
    assert (tmp_path / "config.json").exists() and (tmp_path / "model.safetensors").exists()
    hf = transformers.LlamaForCausalLM.from_pretrained(tmp_path).eval()
    idx = torch.randint(0, 61, (2, 24))
    with torch.no_grad():
        torch.testing.assert_close(hf(idx).logits, ours(idx)[0], atol=1e-5, rtol=0)
        want = ours.generate(idx[:1, :8], 20, temperature=0)
        got = hf.generate(idx[:1, :8], attention_mask=torch.ones(1, 8, dtype=torch.long),
                          max_new_tokens=20, do_sample=False, pad_token_id=0)
    assert torch.equal(got, want)
    back = Llama.from_hf(hf)
    assert back.cfg == ours.cfg
    assert all(torch.equal(a, b) for a, b in zip(back.state_dict().values(), ours.state_dict().values()))
