"""Estimate the gpu-profile wall time of Days 11 and 12 on a Colab T4, from their FLOPs.

No GPU has run the course's ``gpu`` profile yet; this gives the README an estimate, marked as
such, until ``make bench`` on a GPU replaces it. The model of the estimate:

    time = CPU-side work + sum over trainings and sampling of
           (FLOPs / R  +  steps x launch)

* FLOPs: counted by ``torch.utils.flop_counter.FlopCounterMode`` on one step of each of the
  day's models at the gpu-profile sizes (the notebook's own ``cfg``), times the step count;
  a training step is its forward + backward, sampling is forward only.
* R = 30 % of the T4's fp32 peak of 8.1 TFLOP/s (NVIDIA T4 datasheet): small convolutions and
  matrix products rarely reach more in eager PyTorch.
* launch = 3 ms per step: a few hundred kernel launches of ~10 us each in an eager step.
* CPU-side work: what runs on the CPU at any profile (imports, data, plots, BPE training),
  taken as the notebook's smoke-profile wall time plus the CPU-bound parts named below.

Only the largest parts are counted (the toy 2-D models are covered by the launch term). Days
01-10 have no gpu-only sizes: their gpu profile runs the cpu sizes, and they are not estimated.
Run from the repository (``--write`` saves ``bench/t4_estimates.json``, which ``make sync``
shows in the README's GPU column wherever no GPU run has been measured):

    python tools/estimate_t4.py [--write]
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

R = 0.30 * 8.1e12
LAUNCH = 3e-3


def flops(fn) -> float:
    with FlopCounterMode(display=False) as counter:
        fn()
    return float(counter.get_total_flops())


def train_flops(model, loss_fn) -> float:
    def step():
        loss_fn(model).backward()
    return flops(step)


def part(name: str, per_step: float, steps: int) -> float:
    seconds = steps * (per_step / R + LAUNCH)
    print(f"  {name:38} {per_step / 1e9:9.2f} GFLOP x {steps:>7,} steps = {seconds:7.1f} s")
    return seconds


def day12(cfg: dict, cpu_side: float) -> float:
    from test_gpu_profile import day12_models

    x = torch.randint(0, 65, (cfg["batch_size"], cfg["block_size"] + 1))
    total = cpu_side
    evals = cfg["max_iters"] // cfg["eval_every"] * cfg["eval_iters"] * 2
    for model in day12_models(cfg):
        name = type(model).__name__
        step = train_flops(model, lambda m: m(x[:, :-1], x[:, 1:])[1])
        total += part(f"{name} training", step, cfg["max_iters"])
        with torch.no_grad():
            total += part(f"{name} evaluation", flops(lambda: model(x[:, :-1], x[:, 1:])), evals)
    # Section 9: three fine-tunings of the Llama (full, LoRA twice), counted as full training steps
    total += part("Llama fine-tuning (3 runs)", step, 3 * cfg["ft_steps"])
    # Section 8.7: 50 + 200 + 500 greedy tokens per model, with and without the cache; without it,
    # step t runs the whole sequence (counted at its mean length, 8 + 250 tokens, one sequence)
    for model in day12_models({**cfg, "block_size": 508}):
        seq = torch.randint(0, 65, (1, 258))
        with torch.no_grad():
            total += part(f"{type(model).__name__} generation without cache", flops(lambda: model(seq)), 750)
        total += 750 * LAUNCH                                              # with the cache: launches only
    return total


def day11(cfg: dict, cpu_side: float) -> float:
    from mlcourse.models import cnn, diffusion as D, gan as G, vae as V
    from mlcourse.models.unet import UNet

    total = cpu_side
    img = torch.rand(128, 1, 28, 28)
    y = torch.randint(0, 10, (128,))
    judge = cnn.MiniAlexNet()
    total += part("judge (MiniAlexNet), batches of 128", train_flops(judge, lambda m: F.cross_entropy(m(img), y)),
                  cfg["judge_images"] // 128)
    for name, model in [("autoencoder", V.AutoEncoder(latent_dim=2)), ("VAE", V.VAE(latent_dim=2))]:
        total += part(name, train_flops(model, lambda m: F.binary_cross_entropy_with_logits(m(img) if name == "autoencoder" else m.decoder(m.encode(img)[0]), img)),
                      cfg["vae_steps"])
    g, d = G.Generator(z_dim=64, base=16), G.Discriminator(base=16)
    z = torch.randn(64, 64)
    gan_step = flops(lambda: (d(g(z)).mean() + d(img[:64]).mean()).backward()) * 1.5  # D step + G step
    total += part("DCGAN (G and D)", gan_step, cfg["gan_rounds"] * cfg["gan_round_steps"])
    total += part("toy GAN and toy DDPM (launch-bound)", 0.0, cfg["toy_steps"] + cfg["toy_ddpm_steps"])
    unet = D.ConditionalUNet(1, 1, base=cfg["ddpm_base"], depth=2, time_dim=32, num_classes=10, patch=2)
    sched = D.Schedule(cfg["ddpm_T"], "linear")
    total += part("DDPM U-Net training, batch 128", train_flops(unet, lambda m: sched.loss(m, img * 2 - 1, y)),
                  cfg["ddpm_steps"])
    t = torch.zeros(cfg["n_judge"], dtype=torch.long)
    with torch.no_grad():
        one = flops(lambda: unet(torch.randn(cfg["n_judge"], 1, 28, 28), t, t % 10))
    total += part("DDPM sampling (1/2 plain + guided x2)", one * 2.5, cfg["ddpm_T"])
    p2p_g, p2p_d = UNet(1, 1, base=16, depth=2), G.PatchDiscriminator(in_channels=2, base=16)
    a = img[:32]
    total += part("Pix2Pix, batch 32", flops(lambda: (p2p_d(torch.cat([a, p2p_g(a)], 1)).mean()).backward()) * 2,
                  cfg["p2p_steps"])
    cg, cd = UNet(1, 1, base=8, depth=2), G.PatchDiscriminator(1, base=16)
    cyc = flops(lambda: (cd(cg(cg(a))).mean()).backward()) * 4                      # two directions, G and D
    total += part("CycleGAN, twice (with / without cycle)", cyc, 2 * cfg["cyc_steps"])
    return total


def main() -> None:
    import json

    import test_gpu_profile as tg

    torch.manual_seed(0)
    # CPU-side seconds: the smoke-profile wall time of the notebook (CI, 2 cores) plus the parts
    # that stay on the CPU whatever the device: Day 12's BPE on 900k characters and 500 merges
    # (3.7 s for 300k and 300 merges in the cpu run, and it scales with both), Day 11's style
    # transfer and DeepDream at most a minute at 300 steps.
    smoke = {"11": 45.0, "12": 25.0}
    extra = {"11": 60.0, "12": 3.7 * 3 * 500 / 300}
    estimates = {}
    for day, fn in [("11", day11), ("12", day12)]:
        print(f"Day {day} (gpu profile):")
        total = fn(tg._gpu_cfg(day), smoke[day] + extra[day])
        estimates[day] = round(total)
        print(f"  {'CPU-side work':38} {smoke[day] + extra[day]:7.1f} s\n  estimate on a T4: {total / 60:.0f} min")
    if "--write" in sys.argv:
        out = ROOT / "bench" / "t4_estimates.json"
        out.write_text(json.dumps({"seconds": estimates, "method": "tools/estimate_t4.py: FLOPs / (30 % of 8.1 TFLOP/s) "
                                   "+ 3 ms per step + CPU-side time; an estimate, not a measurement"}, indent=1) + "\n")
        print(f"wrote {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
