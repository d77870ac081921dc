"""The benchmark: run notebooks in the cpu (or gpu) profile and record their headline results.

    python bench/run.py                  # every notebook
    python bench/run.py --days 05 07     # some days only; their rows are replaced

For each notebook it sets ``MLCOURSE_PROFILE``, ``MLCOURSE_NOTEBOOK`` and ``MLCOURSE_RESULTS``,
executes it top to bottom (with nbclient, in ``notebooks/``), times it, and collects the
records that ``mlcourse.expect()`` appended. A wall-time record is added per notebook with the
day's budget as its bar. Results are merged into ``bench/results.json`` and summarised in
``bench/RESULTS.md``. In the cpu profile the executed notebook is saved in place, so the
committed outputs are those of the benchmarked run (``--no-save`` to keep the files as they are).
Finally the README's table of days is refreshed with the measured times (``make sync``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import fcntl
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
RESULTS_JSON = ROOT / "bench" / "results.json"
RESULTS_MD = ROOT / "bench" / "RESULTS.md"

# Wall-time budgets in the cpu profile (COURSE.md, "The twelve days"), in seconds. Day 11's was
# raised to 25 minutes by issue 16 (DDIM, latent diffusion, the FID table and the new sections).
BUDGET_S = {"01": 180, "02": 180, "03": 300, "04": 300, "05": 480, "06": 300, "07": 600,
            "08": 600, "09": 720, "10": 720, "11": 1500, "12": 1200}


def machine_summary() -> str:
    """One line describing this machine (CPU model, cores, memory, OS, Python)."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f", {kb / 2**20:.0f} GiB RAM"
    except (OSError, ValueError, IndexError):
        pass
    gpu = ""
    try:
        import torch

        if torch.cuda.is_available():
            gpu = f", GPU {torch.cuda.get_device_name(0)}"
    except ImportError:
        pass
    return (f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores ({cpu}){mem}{gpu}, "
            f"Python {platform.python_version()}")


def run_notebook(path: Path, profile: str, save: bool) -> tuple[list[dict], float, str | None]:
    """Execute one notebook; return its expectation records, wall time and error (if any)."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    nb = nbformat.read(path, as_version=4)
    with tempfile.TemporaryDirectory() as tmp:
        results = Path(tmp) / "records.jsonl"
        env = {"MLCOURSE_PROFILE": profile, "MLCOURSE_NOTEBOOK": path.stem,
               "MLCOURSE_RESULTS": str(results),
               # a fresh folder: a checkpoint of an earlier run would be resumed, not timed
               "MLCOURSE_CHECKPOINTS": str(Path(tmp) / "checkpoints")}
        old = {k: os.environ.get(k) for k in env}
        os.environ.update(env)
        error = None
        t0 = time.perf_counter()
        try:
            NotebookClient(nb, timeout=3600, kernel_name="python3",
                           resources={"metadata": {"path": str(path.parent)}}).execute()
        except CellExecutionError as exc:
            error = str(exc).strip().splitlines()[-1][:300]
        except Exception as exc:  # kernel died, timeout, ...
            error = f"{type(exc).__name__}: {exc}"[:300]
        finally:
            seconds = time.perf_counter() - t0
            for k, v in old.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
        records = [json.loads(line) for line in results.read_text().splitlines()] if results.exists() else []
    if save and error is None:
        finish_progress_bars(nb)
        static_views(nb)
        js_numbers(nb)
        nbformat.write(nb, path)
    return records, seconds, error


WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"


def static_views(nb) -> int:
    """Make stored outputs readable without a kernel (nbconvert, nbviewer, GitHub); return how many.

    - A bare ``image/gif`` output (which nbconvert drops, printing ``<IPython.core.display.Image
      object>``) becomes what :func:`mlcourse.plots.animate` now writes: the GIF in an ``<img>``
      plus its last frame as a PNG.
    - A widget's text fallback (``interactive(children=(FloatSlider(...``) becomes one line
      that says what it is.
    """
    import base64
    import io

    from PIL import Image

    done = 0
    for cell in nb.get("cells", []):
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            if "image/gif" in data and "text/html" not in data:
                gif = base64.b64decode(data.pop("image/gif"))
                with Image.open(io.BytesIO(gif)) as im:
                    frames = getattr(im, "n_frames", 1)
                    im.seek(frames - 1)
                    png = io.BytesIO()
                    im.convert("RGB").save(png, format="PNG")
                b64 = base64.b64encode(gif).decode("ascii")
                data["text/html"] = f'<img src="data:image/gif;base64,{b64}" alt="animation, {frames} frames"/>'
                data["image/png"] = base64.b64encode(png.getvalue()).decode("ascii")
                data["text/plain"] = (f"<animation: {frames} frames (GIF); its last frame is shown "
                                      "where GIFs are not>")
                done += 1
            text = data.get("text/plain", "")
            if WIDGET_VIEW in data and isinstance(text, str) and text.startswith("interactive("):
                data["text/plain"] = "(an interactive slider: run the notebook to move it)"
                done += 1
    return done


def js_numbers(nb) -> int:
    """Store the widget state's whole floats as integers (``1750.0`` -> ``1750``); return how many.

    JupyterLab re-saves the widget state from JavaScript, where ``1750.0`` is written ``1750``:
    a notebook stored with Python's floats would come back changed from merely being opened.
    """
    state = nb.get("metadata", {}).get("widgets", {}).get(WIDGET_STATE, {})
    count = 0

    def walk(node):
        nonlocal count
        items = node.items() if isinstance(node, dict) else enumerate(node)
        for key, value in list(items):
            if isinstance(value, float) and value.is_integer():
                node[key] = int(value)
                count += 1
            elif isinstance(value, (dict, list)):
                walk(value)

    walk(state)
    return count


def finish_progress_bars(nb) -> int:
    """Give stored tqdm progress bars their final text; return how many were rewritten.

    In a notebook, ``tqdm.auto`` draws a widget; its stored plain-text fallback (what GitHub
    and text viewers show) is the bar's *first* state, "0%". The widget's final state is in
    the notebook's metadata: rebuild the text from it.
    """
    import html

    state = nb.get("metadata", {}).get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    done = 0
    for cell in nb.get("cells", []):
        for out in cell.get("outputs", []):
            view = out.get("data", {}).get(WIDGET_VIEW)
            model = state.get(view.get("model_id", "")) if view else None
            if not model or model.get("model_name") != "HBoxModel":
                continue
            parts = [state.get(c.removeprefix("IPY_MODEL_"), {}) for c in model["state"].get("children", [])]
            html_parts = [p["state"].get("value", "") for p in parts if p.get("model_name") == "HTMLModel"]
            bars = [p["state"] for p in parts if p.get("model_name") == "FloatProgressModel"]
            if len(html_parts) != 2 or len(bars) != 1:
                continue
            frac = bars[0].get("value", 0) / bars[0]["max"] if bars[0].get("max") else 0.0
            fill = int(round(10 * min(max(frac, 0.0), 1.0)))
            text = f"{html.unescape(html_parts[0]).strip()}|{'█' * fill}{' ' * (10 - fill)}| {html.unescape(html_parts[1]).strip()}"
            out["data"]["text/plain"] = text
            done += 1
    return done


def merge(records: list[dict], rerun: set[tuple[str, str]]) -> list[dict]:
    """Replace the rows of the rerun (notebook, profile) pairs in results.json; return all rows."""
    old = json.loads(RESULTS_JSON.read_text()) if RESULTS_JSON.exists() else []
    kept = [r for r in old if (r["notebook"], r["profile"]) not in rerun]
    rows = sorted(kept + records, key=lambda r: (r["notebook"], r["profile"], r["metric"] != "wall_time_s", r["seconds"]))
    RESULTS_JSON.write_text(json.dumps(rows, indent=1) + "\n")
    return rows


def _mark(rec: dict) -> str:
    """✔, ✘, or ✘ with the reason a profile is known to miss this bar."""
    if rec["passed"]:
        return "✔"
    return f"✘ (known miss: {rec['known_miss']})" if rec.get("known_miss") else "✘"


def _fmt(v) -> str:
    if isinstance(v, str):
        return v
    return f"{v:.4g}" if abs(v) < 1e5 else f"{v:.3e}"


def write_markdown(rows: list[dict]) -> None:
    """Write bench/RESULTS.md: per notebook, the wall time and each metric against its bar."""
    lines = ["# Benchmark results", "",
             "Written by `make bench` (`bench/run.py`); the raw records are in `results.json`.",
             "Each row is one headline result of a notebook, checked by `mlcourse.expect()`; "
             "`wall_time_s` is the whole notebook's run time against the day's budget.", ""]
    by_nb: dict[tuple[str, str], list[dict]] = {}
    for r in rows:
        by_nb.setdefault((r["notebook"], r["profile"]), []).append(r)
    lines += ["| notebook | profile | wall time | budget | metrics passed | date |",
              "|---|---|---|---|---|---|"]
    for (name, prof), rs in by_nb.items():
        wall = next((r for r in rs if r["metric"] == "wall_time_s"), None)
        ok = sum(r["passed"] for r in rs if r["metric"] != "wall_time_s")
        n = sum(1 for r in rs if r["metric"] != "wall_time_s")
        lines.append(f"| {name} | {prof} | {wall['value']:.0f} s | {wall['bar']} | {ok}/{n} | {wall['date'][:10]} |"
                     if wall else f"| {name} | {prof} | – | – | {ok}/{n} | – |")
    for (name, prof), rs in by_nb.items():
        lines += ["", f"## {name} ({prof})", ""]
        machine = rs[0].get("machine", "")
        if machine:
            lines += [f"Machine: {machine}", ""]
        lines += ["| metric | value | expected | passed | at (s) |", "|---|---|---|---|---|"]
        for r in rs:
            lines.append(f"| {r['metric']} | {_fmt(r['value'])} | {r['bar']} | {_mark(r)} | {r['seconds']:.0f} |")
    RESULTS_MD.write_text("\n".join(lines) + "\n")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Run the notebooks and record their results.")
    ap.add_argument("--days", nargs="*", default=[], help="two-digit day numbers, e.g. 01 05")
    ap.add_argument("--profile", choices=["cpu", "gpu"], default=None,
                    help="default: gpu when CUDA is found, else cpu")
    ap.add_argument("--no-save", action="store_true", help="do not write executed notebooks back")
    args = ap.parse_args(argv)
    from mlcourse.profiles import cuda_available

    profile = args.profile or ("gpu" if cuda_available() else "cpu")
    days = {d.zfill(2) for arg in args.days for d in arg.replace(",", " ").split()}
    notebooks = sorted(p for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")
                       if not days or p.name[:2] in days)
    if not notebooks:
        print(f"no notebook matches days {sorted(days)}")
        return 2
    machine, today = machine_summary(), dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    failed = 0
    for path in notebooks:
        print(f"running {path.name} in the {profile} profile ...", flush=True)
        records, seconds, error = run_notebook(path, profile, save=(profile == "cpu" and not args.no_save))
        budget = BUDGET_S.get(path.name[:2])
        records.append({"notebook": path.stem, "profile": profile, "metric": "wall_time_s",
                        "value": round(seconds, 1), "bar": f"<= {budget}" if budget else "finite",
                        "passed": error is None and (budget is None or seconds <= budget),
                        "seconds": round(seconds, 1)})
        if error:
            records.append({"notebook": path.stem, "profile": profile, "metric": "ran_to_the_end",
                            "value": 0, "bar": "no error", "passed": False, "seconds": round(seconds, 1),
                            "error": error})
        for r in records:
            r.update(date=today, machine=machine)
        for r in records:
            print(f"  {_mark(r)} {r['metric']} = {_fmt(r['value'])} ({r['bar']})")
        failed += any(not r["passed"] for r in records)
        with open(ROOT / "bench" / ".lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            write_markdown(merge(records, {(path.stem, profile)}))
    import subprocess  # the README's table shows the measured times: keep it in step

    subprocess.run([sys.executable, str(ROOT / "tools" / "sync_notebooks.py")], check=False)
    print(f"wrote {RESULTS_JSON.relative_to(ROOT)} and {RESULTS_MD.relative_to(ROOT)}; "
          f"{len(notebooks) - failed}/{len(notebooks)} notebook(s) met every bar")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
