import random
import sys

import numpy as np
import pytest

import mlcourse


def test_setup_seeds_and_prints(capsys, monkeypatch):
    monkeypatch.setenv("MLCOURSE_PROFILE", "smoke")
    ctx = mlcourse.setup("99_test", seed=3)
    line = capsys.readouterr().out.strip()
    assert line.startswith("mlcourse ") and "profile: smoke" in line and "device: cpu" in line
    assert "\n" not in line
    assert (ctx.profile, ctx.device, ctx.seed, ctx.notebook) == ("smoke", "cpu", 3, "99_test")
    a = (random.random(), np.random.rand(), ctx.rng.normal())
    ctx2 = mlcourse.setup("99_test", seed=3, quiet=True)
    assert a == (random.random(), np.random.rand(), ctx2.rng.normal())


def test_setup_seeds_torch(monkeypatch):
    torch = pytest.importorskip("torch")
    monkeypatch.setenv("MLCOURSE_PROFILE", "cpu")
    mlcourse.setup("99_test", seed=5, frameworks=["torch"], quiet=True)
    a = torch.rand(3)
    mlcourse.setup("99_test", seed=5, quiet=True)  # torch is imported now: seeded again
    assert torch.equal(a, torch.rand(3))
    assert "torch" in mlcourse.session.summary_line("cpu", "cpu", 5)


def test_setup_rejects_unknown_framework():
    with pytest.raises(ValueError, match="torch, tensorflow, keras, jax"):
        mlcourse.setup("99_test", frameworks=["caffe"], quiet=True)


def test_unknown_profile_env(monkeypatch):
    monkeypatch.setenv("MLCOURSE_PROFILE", "huge")
    with pytest.raises(mlcourse.ProfileError):
        mlcourse.setup("99_test", quiet=True)


def test_timer_and_throughput(capsys):
    from mlcourse.timing import Timer, throughput

    with Timer("work") as t:
        sum(range(1000))
    assert t.seconds >= 0 and "work:" in capsys.readouterr().out
    assert throughput(10, 2.0) == 5.0 and throughput(1, 0) == float("inf")


def test_keras_on_jax_does_not_import_tensorflow():
    import subprocess

    code = ("import os; os.environ['KERAS_BACKEND']='jax'; os.environ['MLCOURSE_PROFILE']='cpu';"
            "import sys, mlcourse; mlcourse.setup('99_t', frameworks=['keras'], quiet=True);"
            "import keras; print(keras.backend.backend(), 'tensorflow' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split()[-2:] == ["jax", "False"]


def test_gpu_profile_without_cuda_says_so_in_one_line(capsys, monkeypatch):
    monkeypatch.setenv("MLCOURSE_PROFILE", "gpu")
    monkeypatch.setattr(mlcourse.profiles, "cuda_available", lambda: False)
    ctx = mlcourse.setup("99_test")
    lines = capsys.readouterr().out.strip().splitlines()
    assert ctx.device == "cpu" and len(lines) == 2
    assert "no CUDA GPU" in lines[0] and "GPU sizes on the CPU" in lines[0]
    assert "profile: gpu" in lines[1]


@pytest.fixture(scope="module")
def three_frameworks():
    """One fresh interpreter that sets up TensorFlow, JAX and torch together, as Days 06/07 do
    (one process for both tests below: each TensorFlow import costs seconds)."""
    import subprocess

    code = ("import os; os.environ['MLCOURSE_PROFILE']='cpu'; import mlcourse;"
            "mlcourse.setup('99_t', frameworks=['tensorflow', 'jax', 'torch'], quiet=True);"
            "print(os.environ['XLA_PYTHON_CLIENT_PREALLOCATE'], os.environ['TF_FORCE_GPU_ALLOW_GROWTH']);"
            "import torch; torch.optim.Adam(torch.nn.Linear(2, 2).parameters());"
            "import importlib.util; print('triton' if importlib.util.find_spec('triton') else 'no-triton', 'ok')")
    env = {k: v for k, v in __import__("os").environ.items()
           if k not in ("XLA_PYTHON_CLIENT_PREALLOCATE", "TF_FORCE_GPU_ALLOW_GROWTH")}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)


def test_frameworks_share_the_gpu(three_frameworks):
    """JAX must not pre-allocate the GPU and TensorFlow must grow its memory (Days 06/07 load both)."""
    out = three_frameworks
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split("\n")[-3].split() == ["false", "true"], out.stdout


def test_torch_and_tensorflow_load_together(three_frameworks):
    """setup() loads triton (if installed) before TensorFlow: the other order kills the kernel."""
    out = three_frameworks
    assert out.returncode == 0 and out.stdout.split()[-1] == "ok", out.stderr[-2000:]


