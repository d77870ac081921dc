"""Day 08, Section 11: the notebook's online-only transfer-learning cells, run offline.

The cells are taken from the notebook itself (by their "# Transfer learning, step" comment)
and executed in a fresh Python process, as the notebook runs them -- with two changes: the
network check says "online", and MobileNetV2 is built with ``weights=None`` (random weights,
the same architecture, nothing downloaded). A few dozen random images stand in for
Fashion-MNIST. So the online path is tested without the internet: the base builds and is
frozen, the head trains, the top layers unfreeze, and the predictions have the right shape.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "08_cnns_and_alexnet.ipynb"
MARKER = "# Transfer learning, step"


def _cells() -> list[str]:
    book = json.loads(NOTEBOOK.read_text("utf-8"))
    code = ["".join(c["source"]) for c in book["cells"] if c["cell_type"] == "code"]
    keras_import = [c for c in code if 'frameworks=["keras"]' in c]
    steps = [c for c in code if c.startswith(MARKER)]
    assert len(keras_import) == 1, "one cell imports Keras through mlcourse.setup"
    assert [s.splitlines()[0][len(MARKER):].split(" ")[1] for s in steps] == ["1", "2", "3", "4"], "steps 1 to 4, in order"
    return keras_import + steps


# Runs in a child process: Keras picks its backend once per process, and the cells seed and
# configure things (mlcourse.setup) that must not leak into the other tests.
DRIVER = r'''
import json, sys, types
import numpy as np
import mlcourse, mlcourse.net

cells = json.loads(sys.stdin.read())
mlcourse.net.skip_offline = lambda *a, **k: False            # take the online path
rng = np.random.default_rng(0)
ds = types.SimpleNamespace(x_train=rng.integers(0, 256, (120, 28, 28), dtype=np.uint8), y_train=np.arange(120) % 10,
                           x_test=rng.integers(0, 256, (60, 28, 28), dtype=np.uint8), y_test=np.arange(60) % 10)
ns = {"np": np, "mlcourse": mlcourse, "ds": ds}
exec(cells[0], ns)                                            # mlcourse.setup(..., frameworks=["keras"]); import keras
keras = ns["keras"]
real = keras.applications.MobileNetV2
calls = []
def offline_mobilenet(*args, **kwargs):
    calls.append(kwargs.get("weights"))
    return real(*args, **{**kwargs, "weights": None})
keras.applications.MobileNetV2 = offline_mobilenet
n_params = lambda ws: sum(int(np.prod(w.shape)) for w in ws)
out = {"backend": keras.backend.backend(), "keras": keras.__version__}

exec(cells[1], ns)                                            # step 1: the data
out["x_train"] = [list(ns["xt_train"].shape), str(ns["xt_train"].dtype), float(ns["xt_train"].min()), float(ns["xt_train"].max())]
out["y_train"] = sorted(set(ns["yt_train"].tolist())); out["x_test"] = list(ns["xt_test"].shape)

exec(cells[2], ns)                                            # step 2: frozen base + head
base, model = ns["base"], ns["tl_model"]
out["weights_asked"] = calls
out["stage1"] = [n_params(model.trainable_weights), n_params(model.non_trainable_weights), base.count_params()]
out["base_frozen"] = (not base.trainable) and not any(l.trainable_weights for l in base.layers)
before = [np.array(v) for v in base.weights]

exec(cells[3], ns)                                            # step 3: train the head
out["head_loss"] = [float(v) for v in ns["hist_tl"].history["loss"]]
out["acc_head"] = float(ns["acc_head"])
out["base_unchanged"] = all(np.array_equal(a, np.array(v)) for a, v in zip(before, base.weights))

exec(cells[4], ns)                                            # step 4: fine-tune the top layers
top = base.layers[-ns["N_TOP"]:]
out["stage2"] = [n_params(model.trainable_weights), n_params(model.non_trainable_weights)]
out["expected_stage2"] = n_params([w for l in top for w in l.trainable_weights]) + out["stage1"][0]
out["below_frozen"] = not any(l.trainable for l in base.layers[:-ns["N_TOP"]])
out["top_names"] = [top[0].name, top[-1].name]
out["pred"] = [list(ns["pred_tl"].shape), bool(np.isfinite(ns["pred_tl"]).all())]
out["acc_tuned"] = float(ns["acc_tuned"])
print("RESULT " + json.dumps(out))
'''


@pytest.fixture(scope="module")
def run():
    if importlib.util.find_spec("keras") is None:  # (not imported here: the child process does it)
        pytest.skip("keras is not installed")
    env = {**os.environ, "MLCOURSE_PROFILE": "smoke", "MLCOURSE_OFFLINE": "1", "TF_CPP_MIN_LOG_LEVEL": "3",
           "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    env.pop("KERAS_BACKEND", None)  # as in the notebook: Keras' default backend
    proc = subprocess.run([sys.executable, "-c", DRIVER], input=json.dumps(_cells()), text=True,
                          capture_output=True, env=env, timeout=600, cwd=ROOT)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    assert proc.returncode == 0 and lines, f"the cells failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return json.loads(lines[-1][len("RESULT "):])


def test_data_is_96x96_colour_in_minus_one_to_one(run):
    shape, dtype, lo, hi = run["x_train"]
    assert shape[1:] == [96, 96, 3] and dtype == "float32" and -1.0 <= lo < hi <= 1.0
    # the fake set has 12 images of each class: 48 of the four tops, labelled 0..3
    assert shape[0] == 48 and run["y_train"] == [0, 1, 2, 3] and run["x_test"] == [24, 96, 96, 3]


def test_base_is_pretrained_then_frozen_and_only_the_head_trains(run):
    assert run["weights_asked"] == ["imagenet"], "the notebook asks for the ImageNet weights"
    trainable, frozen, base_total = run["stage1"]
    assert trainable == 1280 * 4 + 4 == 5124          # the head: the numbers the prose quotes
    assert frozen == base_total == 410_208
    assert run["base_frozen"] and run["base_unchanged"], "training the head must not change the base"


def test_head_training_runs(run):
    assert len(run["head_loss"]) == 1 and all(0 < v < 10 for v in run["head_loss"])
    assert 0.0 <= run["acc_head"] <= 1.0


def test_fine_tuning_unfreezes_exactly_the_top_layers(run):
    trainable, frozen = run["stage2"]
    assert trainable == run["expected_stage2"] == 254_196 and frozen == 161_136   # quoted in the prose
    assert trainable + frozen == 410_208 + 5124
    assert run["below_frozen"] and run["top_names"] == ["block_15_expand", "out_relu"]
    assert run["pred"] == [[24, 4], True] and 0.0 <= run["acc_tuned"] <= 1.0
