import json
import math

import numpy as np
import pytest

import mlcourse
from mlcourse.expect import ExpectationError


def test_pass_prints_and_returns(capsys):
    v = mlcourse.expect("acc", np.float32(0.995), at_least=0.99, profile="cpu")
    assert v == pytest.approx(0.995)
    out = capsys.readouterr().out
    assert "acc" in out and "0.995" in out and "cpu" in out


def test_miss_fails_loudly():
    with pytest.raises(ExpectationError, match="acc = 0.5 misses its bar"):
        mlcourse.expect("acc", 0.5, at_least=0.99, profile="cpu")
    with pytest.raises(ExpectationError):
        mlcourse.expect("err", 0.1, at_most=1e-3, profile="cpu")


def test_bar_per_profile():
    bar = {"smoke": 0.5, "cpu": 0.99}
    mlcourse.expect("acc", 0.6, at_least=bar, profile="smoke")
    with pytest.raises(ExpectationError):
        mlcourse.expect("acc", 0.6, at_least=bar, profile="cpu")
    with pytest.raises(ExpectationError):  # gpu falls back to the cpu bar
        mlcourse.expect("acc", 0.6, at_least=bar, profile="gpu")


def test_missing_bar_still_requires_finite():
    mlcourse.expect("loss", 3.0, at_most={"cpu": 1.0}, profile="smoke")
    with pytest.raises(ExpectationError):
        mlcourse.expect("loss", math.nan, at_most={"cpu": 1.0}, profile="smoke")
    with pytest.raises(ExpectationError):
        mlcourse.expect("loss", math.inf, profile="cpu")


def test_unknown_profile_in_bar_or_call():
    with pytest.raises(mlcourse.ProfileError, match="smoke, cpu, gpu"):
        mlcourse.expect("acc", 1.0, at_least={"laptop": 0.9}, profile="cpu")
    with pytest.raises(mlcourse.ProfileError, match="smoke, cpu, gpu"):
        mlcourse.expect("acc", 1.0, at_least=0.9, profile="tpu")


def test_non_number_is_explained():
    with pytest.raises(TypeError, match="needs a number"):
        mlcourse.expect("acc", "high", at_least=0.9, profile="cpu")


def test_records_are_appended(tmp_path, monkeypatch):
    path = tmp_path / "sub" / "results.jsonl"
    monkeypatch.setenv("MLCOURSE_RESULTS", str(path))
    monkeypatch.setenv("MLCOURSE_NOTEBOOK", "99_test")
    mlcourse.expect("a", 1.0, at_least=0.5, profile="cpu")
    with pytest.raises(ExpectationError):
        mlcourse.expect("b", 0.1, at_least=0.5, profile="cpu")
    recs = [json.loads(line) for line in path.read_text().splitlines()]
    assert [r["metric"] for r in recs] == ["a", "b"]
    assert recs[0] == {**recs[0], "notebook": "99_test", "profile": "cpu", "value": 1.0,
                       "bar": ">= 0.5", "passed": True}
    assert recs[1]["passed"] is False
    assert set(recs[0]) == {"notebook", "profile", "metric", "value", "bar", "passed", "seconds"}
    assert recs[0]["seconds"] >= 0


def test_known_miss_keeps_the_bar_and_records_the_miss(tmp_path, monkeypatch, capsys):
    path = tmp_path / "results.jsonl"
    monkeypatch.setenv("MLCOURSE_RESULTS", str(path))
    why = {"cpu": "needs a GPU's compute"}
    # a miss in the listed profile is printed and recorded as missed, with the reason, and does not raise
    assert mlcourse.expect("loss", 1.7, at_most=1.6, known_miss=why, profile="cpu") == pytest.approx(1.7)
    out = capsys.readouterr().out
    assert "✘ loss = 1.7" in out and "needs a GPU's compute" in out
    # the same miss in any other profile still raises; a pass is a plain pass; NaN always raises
    with pytest.raises(ExpectationError):
        mlcourse.expect("loss", 1.7, at_most=1.6, known_miss=why, profile="gpu")
    mlcourse.expect("loss", 1.5, at_most=1.6, known_miss=why, profile="cpu")
    with pytest.raises(ExpectationError):
        mlcourse.expect("loss", math.nan, at_most=1.6, known_miss=why, profile="cpu")
    recs = [json.loads(line) for line in path.read_text().splitlines()]
    assert [(r["profile"], r["passed"], r.get("known_miss")) for r in recs] == [
        ("cpu", False, "needs a GPU's compute"), ("gpu", False, None), ("cpu", True, None), ("cpu", False, None)]
    with pytest.raises(mlcourse.ProfileError):
        mlcourse.expect("loss", 1.5, at_most=1.6, known_miss={"laptop": "?"}, profile="cpu")


