"""The ``gpu`` profile, exercised without a GPU.

A learner who picks a T4 on Colab gets the ``gpu`` profile, which no GPU has run here. Two
kinds of test keep its sizes honest on a CPU:

* **a gpu-shaped run** of every notebook that has gpu-only sizes: the notebook runs top to
  bottom with ``MLCOURSE_PROFILE=gpu`` (so ``setup()``, every ``pick`` and every branch see the
  gpu profile), but with the *budgets* (steps, rounds, samples) of the smoke profile, a tenth
  of its optimisation steps (at least 2) and one evaluation batch, so it takes a minute or two:
  every model, batch and data pipeline is built at the gpu sizes and trained for a few steps.
  Bars are not checked in that run (a few steps cannot reach them);
* **one training step at the gpu sizes** of the day's largest models, with the memory the
  backward pass keeps per batch, against a T4's 15 GiB.

Days whose ``pick`` calls give no gpu value run their cpu sizes on a GPU too: ``make bench``
runs those in full.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from conftest import ROOT

NOTEBOOKS = {p.name[:2]: p for p in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))}
# The keys of a gpu config that are budgets (how long), not sizes (how big): the shaped run takes
# them from the smoke profile. Everything else (widths, depths, batch and block sizes) is gpu's.
BUDGETS = {"vae_steps", "gan_rounds", "gan_round_steps", "toy_steps", "toy_T", "toy_ddpm_steps",
           "ddpm_steps", "ddpm_T", "latent_steps", "n_judge", "art_steps", "dream_steps", "p2p_steps", "cyc_steps",
           "sound_judge_steps", "wave_steps", "n_sounds", "judge_images", "max_iters", "eval_every", "eval_iters", "ft_steps"}
# Of those, the optimisation steps, which the shaped run cuts to a tenth of smoke's (at least 2: a step at the gpu
# sizes takes seconds on one CPU thread, and two steps show that training runs and resumes).
STEPS = {"vae_steps", "gan_round_steps", "toy_steps", "toy_ddpm_steps", "ddpm_steps", "latent_steps", "art_steps",
         "dream_steps", "p2p_steps", "cyc_steps", "sound_judge_steps", "wave_steps", "max_iters", "ft_steps"}
T4_BYTES = 15 * 2**30

SHAPED_STARTUP = f'''
# gpu-shaped run (tests/test_gpu_profile.py): gpu sizes, smoke budgets, bars reported only.
import mlcourse, mlcourse.profiles as _profiles
_BUDGETS = {sorted(BUDGETS)!r}

_STEPS = set({sorted(STEPS)!r})

def _shaped_pick(*, smoke, cpu, gpu=None, profile=None):
    big = cpu if gpu is None else gpu
    if not isinstance(big, dict):
        return smoke   # a bare number or tuple is a budget (characters to sample, merges, ...)
    cfg = {{**big, **{{k: v for k, v in smoke.items() if k in _BUDGETS}}}}
    for k in _STEPS & set(cfg):             # shapes need a few steps, not the smoke run's dozens
        cfg[k] = max(2, smoke[k] // 10)
    if "eval_iters" in cfg:
        cfg["eval_iters"] = 1
    if "eval_every" in cfg:
        cfg["eval_every"] = max(2, cfg["max_iters"] // 2)
    return cfg

def _report(name, value, **kwargs):
    print(f"[gpu-shaped run] {{name}} = {{value!r}} (not checked: smoke budgets)")
    return value

mlcourse.pick = _profiles.pick = _shaped_pick
mlcourse.expect = _report
'''


def _source(path: Path) -> list[str]:
    return ["".join(c["source"]) for c in json.loads(path.read_text("utf-8"))["cells"] if c["cell_type"] == "code"]


def _days_with_gpu_sizes() -> set[str]:
    return {day for day, p in NOTEBOOKS.items()
            if any(re.search(r"mlcourse\.pick\((?:[^()]|\([^()]*\))*\bgpu=", s, re.S) for s in _source(p))}


def _gpu_cfg(day: str) -> dict:
    """The notebook's own ``cfg = mlcourse.pick(...)`` evaluated in the gpu profile."""
    cell = next(s for s in _source(NOTEBOOKS[day]) if re.search(r"^cfg = mlcourse\.pick\(", s, re.M))
    code = cell[cell.index("cfg = mlcourse.pick("):]
    code = code[: code.index("\n)\n") + 3]

    class Shim:
        @staticmethod
        def pick(*, smoke, cpu, gpu=None):
            return cpu if gpu is None else gpu

    ns: dict = {"mlcourse": Shim}
    exec(code, ns)
    return ns["cfg"]


def test_every_budget_of_a_gpu_config_is_known():
    """A new ``*_steps`` (or rounds, iters) key must be a budget, or the gpu-shaped run trains it in full."""
    for day in sorted(_days_with_gpu_sizes()):
        unknown = {k for k in _gpu_cfg(day) if re.search(r"_(steps|rounds|iters)$", k)} - BUDGETS
        assert not unknown, f"day {day}: add {sorted(unknown)} to BUDGETS (and to STEPS if they are optimisation steps)"


def test_days_with_gpu_sizes_are_the_shaped_ones():
    assert _days_with_gpu_sizes() == {"11", "12"}, (
        "a notebook gained (or lost) gpu-only sizes: add it to the gpu-shaped runs below")


@pytest.mark.skipif(__import__("os").environ.get("MLCOURSE_COLAB_SIM") == "1",
                    reason="run by `make test`; the Colab leg spends its time on the Colab simulation")
@pytest.mark.parametrize("day", ["11", "12"])
def test_gpu_shaped_run(day, tmp_path):
    """The notebook, alone in a folder, in the gpu profile with smoke budgets, on the CPU."""
    import os

    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    path = NOTEBOOKS[day]
    work = tmp_path / "work"
    work.mkdir()
    shutil.copy(path, work / path.name)
    startup = tmp_path / "ipython" / "profile_default" / "startup"
    startup.mkdir(parents=True)
    (startup / "00-gpu-shaped.py").write_text(SHAPED_STARTUP)
    env = {**os.environ, "MLCOURSE_PROFILE": "gpu", "IPYTHONDIR": str(tmp_path / "ipython"),
           "MLCOURSE_CHECKPOINTS": str(tmp_path / "checkpoints")}
    env.pop("MLCOURSE_RESULTS", None)
    nb = nbformat.read(work / path.name, as_version=4)
    try:
        NotebookClient(nb, timeout=600, kernel_name="python3",
                       resources={"metadata": {"path": str(work)}}).execute(env=env)
    except CellExecutionError as exc:
        pytest.fail(f"{path.name} fails at gpu sizes:\n{str(exc)[-3000:]}", pytrace=False)
    text = "\n".join(o.get("text", "") for c in nb.cells for o in c.get("outputs", []) if "text" in o)
    assert "profile: gpu" in text and "GPU sizes on the CPU" in text
    sizes = {k: v for k, v in _gpu_cfg(day).items() if k not in BUDGETS}
    assert sizes and "[gpu-shaped run]" in text
    shown = text[text.index("{"):]  # the printed cfg: gpu sizes, smoke budgets
    for key, value in sizes.items():
        assert f"'{key}': {value!r}" in shown, f"{key} is not at its gpu size {value!r}"


def _saved_bytes(step) -> int:
    """Bytes of the tensors autograd keeps for the backward pass of ``step()`` (activations)."""
    import torch

    total, seen = 0, set()

    def pack(t):
        nonlocal total
        key = (t.untyped_storage().data_ptr(), t.dtype)
        if key not in seen:
            seen.add(key)
            total += t.untyped_storage().nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        step()
    return total


def _one_step_fits_a_t4(model, batch_fn, capsys) -> None:
    import torch

    opt = torch.optim.AdamW(model.parameters(), 1e-3)
    params = sum(p.numel() for p in model.parameters())
    holder = {}

    def step():
        holder["loss"] = batch_fn(model)

    act = _saved_bytes(step)
    holder["loss"].backward()
    opt.step()
    assert torch.isfinite(holder["loss"])
    static = params * 4 * 4            # weights, gradients and AdamW's two moments, float32
    with capsys.disabled():
        print(f"\n  {type(model).__name__}: {params:,} parameters, {act / 2**20:.0f} MiB of activations "
              f"per batch, {static / 2**20:.0f} MiB of weights+optimizer")
    assert act + static < T4_BYTES / 4, "one gpu-profile batch would not fit a T4 with room to spare"


def day12_models(cfg: dict) -> list:
    """Day 12's GPT and Llama at the sizes of ``cfg``, built as the notebook builds them."""
    from mlcourse.models import gpt as G, llama as L

    V, T, H, C, n = 65, cfg["block_size"], cfg["n_head"], cfg["n_embd"], cfg["n_layer"]
    hidden = int(8 * C / 3) // 8 * 8                       # the notebook's SwiGLU width
    return [G.GPT(G.GPTConfig(vocab_size=V, block_size=T, n_layer=n, n_head=H, n_embd=C)),
            L.Llama(L.LlamaConfig(vocab_size=V, block_size=T, n_layer=n, n_head=H, n_kv_head=max(1, H // 2),
                                  n_embd=C, hidden_dim=hidden, tie_embeddings=True))]


def test_day12_models_one_step_at_gpu_sizes(capsys):
    import torch

    cfg = _gpu_cfg("12")
    torch.manual_seed(0)
    for model in day12_models(cfg):
        x = torch.randint(0, model.cfg.vocab_size, (cfg["batch_size"], cfg["block_size"] + 1))
        _one_step_fits_a_t4(model, lambda m: m(x[:, :-1], x[:, 1:])[1], capsys)


def test_day11_ddpm_unet_one_step_at_gpu_sizes(capsys):
    import torch

    from mlcourse.models import diffusion as D

    cfg = _gpu_cfg("11")
    torch.manual_seed(0)
    unet = D.ConditionalUNet(1, 1, base=cfg["ddpm_base"], depth=2, time_dim=32, num_classes=10, patch=2)
    sched = D.Schedule(cfg["ddpm_T"], "linear")
    x, y = torch.rand(128, 1, 28, 28) * 2 - 1, torch.randint(0, 11, (128,))
    _one_step_fits_a_t4(unet, lambda m: sched.loss(m, x, y), capsys)
