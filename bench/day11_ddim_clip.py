"""Day 11's pixel DDPM outside the notebook: does DDIM follow the label less often because of ``clip``?

In the notebook's stored run, guided DDIM on the pixel model (w = 3, ``clip=1.0``) kept the samples
recognisable but drew the asked-for digit less often than the full DDPM chain (58 % and 46 % with
50 and 10 steps, against 90.5 %), while the latent model, sampled without ``clip``, lost nothing.
This script trains the notebook's pixel model with its cpu recipe (the same data, judge, U-Net,
schedule, steps and optimiser; not the same random draws, since the notebook trains other models
first) and samples the same 200 guided labels with each sampler, with and without ``clip``.

    python bench/day11_ddim_clip.py            # about 15 minutes on 2 cores

The result goes to ``bench/day11_ddim_clip.json``: per sampler, seconds per sample, the judge's
confident share, classes present and the share that is the asked-for digit.
"""

from __future__ import annotations

import copy
import json
import math
import time
from pathlib import Path

import torch

import mlcourse
from mlcourse.models import cnn, diffusion as D

HERE = Path(__file__).resolve().parent


def main() -> None:
    torch.manual_seed(0)
    ds = mlcourse.data.load_mnist()
    x_all, y_all = cnn.images_to_tensor(ds.x_train), torch.as_tensor(ds.y_train).long()
    x_test, y_test = cnn.images_to_tensor(ds.x_test), torch.as_tensor(ds.y_test).long()
    judge = cnn.MiniAlexNet()
    cnn.fit(judge, x_all, y_all, epochs=max(1, round(32000 / len(x_all))),
            augment=lambda xb: cnn.augment_batch(xb, flip=False), desc="judge")
    judge.eval()

    sched, steps, lr, batch = D.Schedule(200, "linear"), 2600, 2e-3, 128
    torch.manual_seed(0)
    unet = D.ConditionalUNet(1, 1, base=32, depth=2, time_dim=32, num_classes=10, patch=2)
    ema = copy.deepcopy(unet).requires_grad_(False)
    opt = torch.optim.Adam(unet.parameters(), lr)
    x_ddpm = x_all * 2 - 1
    t0 = time.perf_counter()
    for step in range(steps):
        for g in opt.param_groups:
            g["lr"] = lr * min(1, (step + 1) / 100) * 0.5 * (1 + math.cos(math.pi * step / steps))
        idx = torch.randint(0, len(x_ddpm), (batch,))
        y = torch.where(torch.rand(batch) < 0.15, 10, y_all[idx])
        loss = sched.loss(unet, x_ddpm[idx], y)
        opt.zero_grad(); loss.backward(); opt.step()
        with torch.no_grad():
            for pe, p in zip(ema.parameters(), unet.parameters()):
                pe.lerp_(p, 1 - min(0.995, (1 + step) / (10 + step)))
        if step % 500 == 0:
            print(f"step {step}: loss {loss.item():.4f} ({time.perf_counter() - t0:.0f} s)", flush=True)
    train_s = time.perf_counter() - t0

    wanted = torch.arange(200) % 10
    guided = D.Guided(ema, wanted, w=3.0)
    runs = {}
    for name, clip, n in [("DDPM 200", 1.0, 200), ("DDPM 200", None, 200), ("DDIM 50", 1.0, 50),
                          ("DDIM 50", None, 50), ("DDIM 10", 1.0, 10), ("DDIM 10", None, 10)]:
        torch.manual_seed(2)
        t1 = time.perf_counter()
        with torch.no_grad():
            x = (sched.sample(guided, (200, 1, 28, 28), clip=clip)[0] if name.startswith("DDPM")
                 else sched.ddim_sample(guided, (200, 1, 28, 28), n, clip=clip))
        sec = time.perf_counter() - t1
        probs = cnn.predict_proba(judge, ((x + 1) / 2).clamp(0, 1))
        conf, label = probs.max(1)
        key = f"{name}, clip={clip}"
        runs[key] = dict(ms_per_sample=round(1000 * sec / 200, 1), confident=round((conf >= 0.9).float().mean().item(), 3),
                         classes=len(label[conf >= 0.9].unique()), asked_for=round((label == wanted).float().mean().item(), 3))
        print(key, runs[key], flush=True)
    out = dict(recipe="notebook cpu recipe: U-Net base 32, depth 2, patch 2, T=200 linear, 2,600 steps of 128, "
                      "Adam 2e-3 with warm-up and cosine decay, EMA; guidance w = 3; 200 samples, labels 0..9 in turn",
               data=ds.source, train_seconds=round(train_s), threads=torch.get_num_threads(), runs=runs)
    (HERE / "day11_ddim_clip.json").write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
