"""The benchmark's bookkeeping (merging rows, the Markdown report), without running notebooks."""

import importlib.util
import json

import pytest

from conftest import ROOT

pytestmark = pytest.mark.repository  # not repeated by the Colab leg: nothing here depends on the installed stack


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


def test_static_views_make_stored_outputs_readable_without_a_kernel(tmp_path, monkeypatch):
    import base64
    import io

    from PIL import Image

    b = _bench(tmp_path, monkeypatch)
    frames = [Image.new("RGB", (4, 4), c) for c in ((255, 0, 0), (0, 0, 255))]
    gif = io.BytesIO()
    frames[0].save(gif, format="GIF", save_all=True, append_images=frames[1:])
    nb = {"cells": [{"outputs": [
        {"data": {"image/gif": base64.b64encode(gif.getvalue()).decode(), "text/plain": "<IPython.core.display.Image object>"}},
        {"data": {b.WIDGET_VIEW: {"model_id": "x"}, "text/plain": "interactive(children=(FloatSlider(value=1.0"}},
    ]}]}
    assert b.static_views(nb) == 2
    anim, slider = nb["cells"][0]["outputs"]
    assert anim["data"]["text/html"].startswith('<img src="data:image/gif;base64,')
    with Image.open(io.BytesIO(base64.b64decode(anim["data"]["image/png"]))) as still:
        assert still.getpixel((0, 0))[2] > 200  # the last frame (blue)
    assert "image/gif" not in anim["data"] and "2 frames" in anim["data"]["text/plain"]
    assert slider["data"]["text/plain"].startswith("(an interactive slider")
    assert b.static_views(nb) == 0  # idempotent
