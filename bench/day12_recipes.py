"""Day 12's training runs outside the notebook: recipes for the GPT, and ablations of the Llama.

Each run trains one model on Day 12's corpus, split and tokens (characters), and measures it on
the notebook's own fixed evaluation batches (20 batches of 32 x 64 from the seeds 1 and 2), so
its validation loss can be compared with the notebook's. The model sizes are the cpu profile's
(4 layers, 4 heads, 128 dimensions, block 64); the recipe (optimizer, learning rate, batch
size, dropout, steps) and, for the Llama, the parts under test vary by run. With ``muon_lr`` set,
the blocks' weight matrices train with Muon (``mlcourse.models.muon``) at that peak learning rate
and the other parameters with AdamW, as in the notebook (which also puts weight decay 0.1 on the
Muon matrices: ``muon_wd``, 0 unless a run sets it); without it, everything trains with AdamW.

    python bench/day12_recipes.py --list
    python bench/day12_recipes.py llama llama-learned-pos --seeds 0 1 --jobs 2 --threads 1

Every finished run is added to ``bench/day12_recipes.json`` (one record per name and seed:
its settings, validation and training loss, wall time, and the threads it ran on; a record
with ``stopped`` is a run ended by hand before its last step). Timings depend on the machine
and on what else runs: compare steps and losses, and time alone.
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "day12_recipes.json"

# name -> settings. Not given: model "gpt", lr 2e-3, batch 32, steps 3500, dropout 0, weight decay 0.1 (AdamW's
# matrices), no Muon (muon_lr 0) and, with Muon, no weight decay on its matrices (muon_wd 0; the notebook uses 0.1).
BASE = dict(model="gpt", lr=2e-3, batch=32, steps=3500, dropout=0.0, weight_decay=0.1, pos="", mlp="",
            muon_lr=0.0, muon_wd=0.0)
RUNS = {
    # the notebook's cpu recipe, and changes to it at the same number of tokens (3500 x 32 x 64)
    "gpt": {},
    "gpt-lr4e-3": dict(lr=4e-3),
    "gpt-lr4e-3-drop0.1": dict(lr=4e-3, dropout=0.1),
    "gpt-lr4e-3-b16": dict(lr=4e-3, batch=16, steps=7000),
    "gpt-lr4e-3-b16-drop0.1": dict(lr=4e-3, batch=16, steps=7000, dropout=0.1),
    "llama": dict(model="llama"),
    "llama-lr4e-3-b16": dict(model="llama", lr=4e-3, batch=16, steps=7000),
    # the same recipes on the tokens that fit 20 minutes of the AdamW notebook (2,600 x 32 x 64); not run
    "gpt-short": dict(steps=2600),
    "gpt-short-lr4e-3-b16": dict(lr=4e-3, batch=16, steps=5200),
    # the Llama, and the Llama with one of its changes undone, at the same budget (1,750 x 32 x 64)
    "llama-half": dict(model="llama", steps=1750),
    "llama-half-learned-pos": dict(model="llama", steps=1750, pos="learned"),
    "llama-half-gelu": dict(model="llama", steps=1750, mlp="gelu"),
    "gpt-half": dict(steps=1750),
    # Muon (mlcourse.models.muon) for the blocks' weight matrices, AdamW for the rest, at the same budget (the 0.02
    # and 0.05 runs used this script's first copy of the same update: Nesterov momentum, 5 Newton-Schulz steps)
    "gpt-half-muon0.02": dict(steps=1750, muon_lr=0.02),
    "gpt-half-muon0.05": dict(steps=1750, muon_lr=0.05),
    "gpt-half-muon0.01": dict(steps=1750, muon_lr=0.01),
    "gpt-half-muon0.02-drop0.1": dict(steps=1750, muon_lr=0.02, dropout=0.1),
    # Muon for 2,400 steps (the first guess at a 20-minute notebook; it now trains 1,800)
    "gpt-muon": dict(steps=2400, muon_lr=0.02),
    "llama-muon": dict(model="llama", steps=2400, muon_lr=0.02),
    # ... and at 2,000 steps, with weight decay on the Muon matrices too, or light dropout
    "gpt-muon2k-wd0.1": dict(steps=2000, muon_lr=0.02, muon_wd=0.1),
    "gpt-muon2k-drop0.05": dict(steps=2000, muon_lr=0.02, dropout=0.05),
}


def build(run: dict, V: int):
    """The model of a run: the course GPT or Llama at the cpu profile's sizes, with the changes asked."""
    import torch
    import torch.nn as nn
    from mlcourse.models import llama as L
    from mlcourse.models.gpt import GPT, GPTConfig

    T, C, H, NL = 64, 128, 4, 4
    if run["model"] == "gpt":
        return GPT(GPTConfig(vocab_size=V, block_size=T, n_layer=NL, n_head=H, n_embd=C, dropout=run["dropout"]))
    cfg = L.LlamaConfig(vocab_size=V, block_size=T, n_layer=NL, n_head=H, n_kv_head=H // 2, n_embd=C,
                        hidden_dim=int(8 * C / 3) // 8 * 8, tie_embeddings=True)
    model = L.Llama(cfg)
    if run["pos"] == "learned":            # no rotation (cos 1, sin 0); GPT-style learned positions instead
        model.rope_cos.fill_(1.0)
        model.rope_sin.zero_()

        class TokensAndPositions(nn.Module):
            def __init__(self, tok: nn.Embedding):
                super().__init__()
                self.tok, self.pos = tok, nn.Embedding(T, C)
                nn.init.normal_(self.pos.weight, std=0.02)

            def forward(self, idx):
                return self.tok(idx) + self.pos(torch.arange(idx.shape[1], device=idx.device))

        model.embed_tokens = TokensAndPositions(model.embed_tokens)   # lm_head stays tied to .tok
    if run["mlp"] == "gelu":               # the GPT's MLP (hidden 4C, GELU), without biases as in the Llama
        for layer in model.layers:
            layer.mlp = nn.Sequential(nn.Linear(C, 4 * C, bias=False), nn.GELU(), nn.Linear(4 * C, C, bias=False))
            for lin in layer.mlp[::2]:
                nn.init.normal_(lin.weight, std=0.02)
    return model


def train_one(name: str, seed: int, threads: int) -> dict:
    import numpy as np
    import torch
    import mlcourse
    from mlcourse.models.muon import Muon

    run = {**BASE, **RUNS[name]}
    torch.set_num_threads(threads)
    text = mlcourse.data.load_shakespeare()
    n_split = int(0.9 * len(text))
    chars = sorted(set(text))
    stoi = {c: i for i, c in enumerate(chars)}
    train_ids = torch.tensor([stoi[c] for c in text[:n_split]])
    val_ids = torch.tensor([stoi[c] for c in text[n_split:]])
    T = 64

    def fixed_batches(ids, n, s):          # the notebook's evaluation batches (c043): 20 x (32, 64)
        g = torch.Generator().manual_seed(s)
        starts = torch.randint(len(ids) - T - 1, (n, 32), generator=g)
        return [(torch.stack([ids[i:i + T] for i in row]), torch.stack([ids[i + 1:i + T + 1] for i in row]))
                for row in starts]

    sets = {"train": fixed_batches(train_ids, 20, 1), "val": fixed_batches(val_ids, 20, 2)}

    @torch.no_grad()
    def evaluate(m):
        m.eval()
        out = {k: float(np.mean([m(x, y)[1].item() for x, y in b])) for k, b in sets.items()}
        m.train()
        return out

    torch.manual_seed(seed)                     # the notebook: torch.manual_seed(ctx.seed), seed 0
    model = build(run, len(chars))
    # Muon (if asked) takes the blocks' weight matrices; embeddings, head, norms and biases stay with AdamW
    hidden = [p for n, p in model.named_parameters()
              if run["muon_lr"] and p.dim() == 2 and n.startswith(("h.", "layers."))]
    rest = [p for p in model.parameters() if id(p) not in {id(q) for q in hidden}]
    decay = [p for p in rest if p.dim() >= 2]
    no_decay = [p for p in rest if p.dim() < 2]
    groups = [{"params": decay, "weight_decay": run["weight_decay"], "base": run["lr"]},
              {"params": no_decay, "weight_decay": 0.0, "base": run["lr"]}]
    if hidden:                                  # mlcourse's Muon: AdamW on the muon=False groups
        muon_group = {"params": hidden, "muon": True, "weight_decay": run["muon_wd"], "base": run["muon_lr"]}
        opt = Muon(groups + [muon_group], lr=run["lr"], betas=(0.9, 0.99))
    else:
        opt = torch.optim.AdamW(groups, lr=run["lr"], betas=(0.9, 0.99))
    steps, B = run["steps"], run["batch"]
    warmup = max(10, steps // 15)                # the notebook's schedule (c041)
    curve, t0 = [], time.perf_counter()
    for step in range(steps):
        if step < warmup:
            rate = (step + 1) / warmup
        else:
            rate = 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, (step - warmup) / (steps - warmup))))
        for g in opt.param_groups:
            g["lr"] = rate * g["base"]
        starts = torch.randint(len(train_ids) - T - 1, (B,))
        x = torch.stack([train_ids[i:i + T] for i in starts])
        y = torch.stack([train_ids[i + 1:i + T + 1] for i in starts])
        _, loss = model(x, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if (step + 1) % (steps // 7) == 0 or step + 1 == steps:
            curve.append({"step": step + 1, **evaluate(model), "seconds": round(time.perf_counter() - t0, 1)})
            print(name, seed, json.dumps(curve[-1]), file=sys.stderr, flush=True)
    final = curve[-1]
    return {"name": name, "seed": seed, "settings": run, "params": sum(p.numel() for p in model.parameters()),
            "tokens": steps * B * T, "val": round(final["val"], 4), "train": round(final["train"], 4),
            "seconds": final["seconds"], "threads": threads, "curve": curve}


def save(record: dict) -> None:
    records = json.loads(RESULTS.read_text()) if RESULTS.exists() else []
    records = [r for r in records if (r["name"], r["seed"]) != (record["name"], record["seed"])] + [record]
    records.sort(key=lambda r: (r["name"], r["seed"]))
    tmp = RESULTS.with_suffix(".tmp")
    tmp.write_text(json.dumps(records, indent=1) + "\n")
    tmp.replace(RESULTS)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("names", nargs="*", help="runs to do (see --list)")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0])
    ap.add_argument("--threads", type=int, default=2, help="torch threads per run")
    ap.add_argument("--jobs", type=int, default=1, help="runs at the same time (each in its own process)")
    ap.add_argument("--list", action="store_true")
    ap.add_argument("--one", nargs=2, metavar=("NAME", "SEED"), help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.list or not (a.names or a.one):
        for name, changes in RUNS.items():
            print(f"{name:26} {changes}")
        return
    if a.one:
        print("RESULT " + json.dumps(train_one(a.one[0], int(a.one[1]), a.threads)), flush=True)
        return
    unknown = [n for n in a.names if n not in RUNS]
    if unknown:
        sys.exit(f"unknown run(s) {unknown}; known: {list(RUNS)}")
    todo = [(n, s) for n in a.names for s in a.seeds]
    running: list[subprocess.Popen] = []
    while todo or running:
        while todo and len(running) < a.jobs:
            n, s = todo.pop(0)
            running.append(subprocess.Popen([sys.executable, __file__, "--one", n, str(s), "--threads", str(a.threads)],
                                            stdout=subprocess.PIPE, text=True))
        time.sleep(1)
        for p in [p for p in running if p.poll() is not None]:
            running.remove(p)
            for line in p.stdout.read().splitlines():
                if line.startswith("RESULT "):
                    rec = json.loads(line.removeprefix("RESULT "))
                    save(rec)
                    print(f"{rec['name']:26} seed {rec['seed']}: val {rec['val']:.4f}, train {rec['train']:.4f}, "
                          f"{rec['seconds']:.0f} s on {rec['threads']} thread(s)", flush=True)
            if p.returncode:
                print(f"a run failed (exit {p.returncode})", flush=True)


if __name__ == "__main__":
    main()
