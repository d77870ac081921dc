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
