import pytest

import mlcourse
from mlcourse import profiles


def test_env_overrides_detection(monkeypatch):
    for name in ("smoke", "cpu", "gpu"):
        monkeypatch.setenv("MLCOURSE_PROFILE", name)
        assert mlcourse.active_profile() == name


def test_env_is_case_insensitive(monkeypatch):
    monkeypatch.setenv("MLCOURSE_PROFILE", " CPU ")
    assert mlcourse.active_profile() == "cpu"


def test_detection_without_env(monkeypatch):
    monkeypatch.delenv("MLCOURSE_PROFILE", raising=False)
    monkeypatch.setattr(profiles, "_detected", None)
    monkeypatch.setattr(profiles, "cuda_available", lambda: False)
    assert mlcourse.active_profile() == "cpu"
    monkeypatch.setattr(profiles, "_detected", None)
    monkeypatch.setattr(profiles, "cuda_available", lambda: True)
    assert mlcourse.active_profile() == "gpu"


def test_pick_per_profile(monkeypatch):
    assert mlcourse.pick(smoke=1, cpu=2, gpu=3, profile="smoke") == 1
    assert mlcourse.pick(smoke=1, cpu=2, gpu=3, profile="cpu") == 2
    assert mlcourse.pick(smoke=1, cpu=2, gpu=3, profile="gpu") == 3
    assert mlcourse.pick(smoke=1, cpu=2, profile="gpu") == 2  # gpu defaults to cpu
    monkeypatch.setenv("MLCOURSE_PROFILE", "smoke")
    assert mlcourse.pick(smoke="s", cpu="c") == "s"


def test_unknown_profile_lists_valid_ones(monkeypatch):
    with pytest.raises(mlcourse.ProfileError, match="smoke, cpu, gpu"):
        mlcourse.pick(smoke=1, cpu=2, profile="laptop")
    monkeypatch.setenv("MLCOURSE_PROFILE", "fast")
    with pytest.raises(mlcourse.ProfileError, match="'fast'.*smoke, cpu, gpu"):
        mlcourse.active_profile()


def test_cuda_available_without_gpu_tools(monkeypatch):
    import sys

    monkeypatch.delitem(sys.modules, "torch", raising=False)
    monkeypatch.setattr(profiles.shutil, "which", lambda name: None)
    assert profiles.cuda_available() is False
