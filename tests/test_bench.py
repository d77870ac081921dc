"""The benchmark's bookkeeping (merging rows, the Markdown report), without running notebooks."""

import importlib.util
import json

from conftest import ROOT


def _bench(tmp_path, monkeypatch):
    spec = importlib.util.spec_from_file_location("bench_run", ROOT / "bench" / "run.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    monkeypatch.setattr(mod, "RESULTS_JSON", tmp_path / "results.json")
    monkeypatch.setattr(mod, "RESULTS_MD", tmp_path / "RESULTS.md")
    return mod


def _rec(nb, metric, value, passed=True):
    return {"notebook": nb, "profile": "cpu", "metric": metric, "value": value, "bar": "<= 1",
            "passed": passed, "seconds": 1.0, "date": "2026-01-01T00:00:00+00:00", "machine": "m"}


def test_merge_replaces_only_rerun_notebooks(tmp_path, monkeypatch):
    b = _bench(tmp_path, monkeypatch)
    b.merge([_rec("01_a", "wall_time_s", 10), _rec("01_a", "x", 1), _rec("02_b", "y", 2)],
            {("01_a", "cpu"), ("02_b", "cpu")})
    rows = b.merge([_rec("02_b", "y", 3), _rec("02_b", "wall_time_s", 5)], {("02_b", "cpu")})
    assert [(r["notebook"], r["metric"], r["value"]) for r in rows] == [
        ("01_a", "wall_time_s", 10), ("01_a", "x", 1), ("02_b", "wall_time_s", 5), ("02_b", "y", 3)]
    assert json.loads((tmp_path / "results.json").read_text()) == rows
    b.write_markdown(rows)
    md = (tmp_path / "RESULTS.md").read_text()
    assert "| 01_a | cpu | 10 s | <= 1 | 1/1 |" in md and "## 02_b (cpu)" in md and "| y | 3 |" in md


def test_machine_summary_mentions_cores():
    spec = importlib.util.spec_from_file_location("bench_run", ROOT / "bench" / "run.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    assert "cores" in mod.machine_summary()


def test_progress_bars_get_their_final_text(tmp_path, monkeypatch):
    b = _bench(tmp_path, monkeypatch)
    view = {"model_id": "box", "version_major": 2, "version_minor": 0}
    nb = {"cells": [{"cell_type": "code", "outputs": [{"output_type": "display_data", "data": {
            b.WIDGET_VIEW: view, "text/plain": "training:   0%|          | 0/20 [00:00<?, ?it/s]"}}]}],
          "metadata": {"widgets": {b.WIDGET_STATE: {"state": {
              "box": {"model_name": "HBoxModel", "state": {"children": ["IPY_MODEL_l", "IPY_MODEL_p", "IPY_MODEL_r"]}},
              "l": {"model_name": "HTMLModel", "state": {"value": "training: 100%"}},
              "p": {"model_name": "FloatProgressModel", "state": {"value": 20, "max": 20}},
              "r": {"model_name": "HTMLModel", "state": {"value": " 20/20 [00:05&lt;00:00,  3.90it/s]"}}}}}}}
    assert b.finish_progress_bars(nb) == 1
    text = nb["cells"][0]["outputs"][0]["data"]["text/plain"]
    assert text == "training: 100%|██████████| 20/20 [00:05<00:00,  3.90it/s]"


def test_js_numbers_writes_whole_floats_as_javascript_does(tmp_path, monkeypatch):
    b = _bench(tmp_path, monkeypatch)
    nb = {"metadata": {"widgets": {b.WIDGET_STATE: {"state": {"m": {"state": {
        "max": 1750.0, "value": 0.5, "min": 0.0, "children": [1.0, "x"]}}}}}}}
    assert b.js_numbers(nb) == 3
    st = nb["metadata"]["widgets"][b.WIDGET_STATE]["state"]["m"]["state"]
    assert st == {"max": 1750, "value": 0.5, "min": 0, "children": [1, "x"]}
    assert isinstance(st["max"], int)
