"""Exercises of Day 07 -- training in TensorFlow, PyTorch and JAX, and the practice of training."""

from __future__ import annotations

import math

import numpy as np

from . import Exercise, Wrong, as_array, call, check_close, check_finite, check_shape


# -- Exercise 1: a PyTorch training step ---------------------------------------------------
def _setup_step(seed: int = 0):
    """A small model with stale gradients already in it, an SGD optimizer and a batch."""
    import torch
    from torch import nn

    g = torch.Generator().manual_seed(seed)
    model = nn.Linear(4, 3).double()
    with torch.no_grad():
        model.weight.copy_(torch.randn(3, 4, generator=g, dtype=torch.float64))
        model.bias.copy_(torch.randn(3, generator=g, dtype=torch.float64))
    for p in model.parameters():  # left over from an earlier step
        p.grad = torch.full_like(p, 0.5)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    xb = torch.randn(8, 4, generator=g, dtype=torch.float64)
    yb = torch.randint(0, 3, (8,), generator=g)
    return model, opt, xb, yb


def _variant(kind: str):
    """Parameters after one step done right or with a typical mistake; and the loss."""
    import torch
    from torch.nn import functional as F

    model, opt, xb, yb = _setup_step()
    logits = model(xb)
    if kind == "softmax":
        loss = F.cross_entropy(torch.softmax(logits, dim=1), yb)
    else:
        loss = F.cross_entropy(logits, yb)
    if kind != "no_zero_grad":
        opt.zero_grad()
    loss.backward()
    if kind != "no_step":
        opt.step()
    return np.concatenate([p.detach().numpy().ravel() for p in model.parameters()]), loss.item()


class TrainStep(Exercise):
    name = "train_step"
    title = "Exercise 1 — one PyTorch training step"
    hints = (
        "Four lines: clear the old gradients, compute the loss of the batch, backpropagate, "
        "update. Return the loss as a Python number.",
        "`optimizer.zero_grad()`, `loss = F.cross_entropy(model(xb), yb)` (it takes the raw "
        "logits: no softmax before it), `loss.backward()`, `optimizer.step()`, "
        "`return loss.item()`.",
    )
    solution_code = """
        def train_step(model, optimizer, xb, yb):
            optimizer.zero_grad()
            loss = F.cross_entropy(model(xb), yb)
            loss.backward()
            optimizer.step()
            return loss.item()
    """

    def reference(self):
        def train_step(model, optimizer, xb, yb):
            from torch.nn import functional as F

            optimizer.zero_grad()
            loss = F.cross_entropy(model(xb), yb)
            loss.backward()
            optimizer.step()
            return loss.item()
        return train_step

    def verify(self, fn):
        model, opt, xb, yb = _setup_step()
        before = np.concatenate([p.detach().numpy().ravel() for p in model.parameters()])
        out = call(fn, model, opt, xb, yb, what="`train_step`")
        after = np.concatenate([p.detach().numpy().ravel() for p in model.parameters()])
        right, right_loss = _variant("right")
        if np.allclose(after, before):
            raise Wrong("the weights did not change: call `optimizer.step()` after "
                        "`loss.backward()` -- backward only computes the gradients.")
        if np.allclose(after, _variant("no_zero_grad")[0]) and not np.allclose(after, right):
            raise Wrong("the old gradients were still there: PyTorch *adds* new gradients to "
                        "`.grad`, so call `optimizer.zero_grad()` before `loss.backward()`.")
        soft, soft_loss = _variant("softmax")
        if np.allclose(after, soft) and not np.allclose(after, right):
            raise Wrong("you applied softmax before `F.cross_entropy`, which applies log-softmax "
                        "itself: pass the raw logits `model(xb)`.")
        check_close(after, right, "the weights after one step", rtol=1e-8)
        loss = as_array(out, "the loss you returned")
        check_shape(loss, (), "the loss you returned")
        check_finite(loss, "the loss you returned")
        check_close(loss, right_loss, "the loss you returned", rtol=1e-8)
        return "zero_grad, forward, backward, step: the heartbeat of every PyTorch training loop."


# -- Exercise 2: warm-up + cosine ----------------------------------------------------------
def _wc(step, total, warmup, peak):
    if step < warmup:
        return peak * step / warmup
    return peak * 0.5 * (1 + math.cos(math.pi * (step - warmup) / (total - warmup)))


class WarmupCosine(Exercise):
    name = "warmup_cosine"
    title = "Exercise 2 — a warm-up + cosine learning-rate schedule"
    hints = (
        "Two pieces. During the warm-up (step < warmup_steps) the rate grows in a straight line "
        "from 0 to peak_lr: `peak_lr * step / warmup_steps`.",
        "After it, with `t = (step - warmup_steps) / (total_steps - warmup_steps)` going from 0 "
        "to 1, the rate is `peak_lr * 0.5 * (1 + math.cos(math.pi * t))`: peak_lr at t = 0, "
        "0 at t = 1.",
    )
    solution_code = """
        def warmup_cosine(step, total_steps, warmup_steps, peak_lr):
            if step < warmup_steps:
                return peak_lr * step / warmup_steps
            t = (step - warmup_steps) / (total_steps - warmup_steps)
            return peak_lr * 0.5 * (1 + math.cos(math.pi * t))
    """

    def reference(self):
        return _wc

    def verify(self, fn):
        total, warmup, peak = 100, 10, 0.3
        vals = []
        for s in range(total + 1):
            v = as_array(call(fn, s, total, warmup, peak, what="`warmup_cosine`"),
                         f"the learning rate at step {s}")
            check_shape(v, (), f"the learning rate at step {s}")
            vals.append(float(v))
        got = np.array(vals)
        check_finite(got, "your schedule")
        want = np.array([_wc(s, total, warmup, peak) for s in range(total + 1)])
        if np.allclose(got, want, atol=1e-9):
            return "a gentle start, then a smooth glide to zero."
        if np.isclose(got[0], peak):
            raise Wrong(f"at step 0 the rate is already the peak ({peak}): the warm-up should "
                        "start from 0 and grow linearly to the peak over `warmup_steps` steps.")
        plus_one = np.array([peak * (s + 1) / warmup if s < warmup else want[s] for s in range(total + 1)])
        if np.allclose(got, plus_one, atol=1e-9):
            raise Wrong("off by one in the warm-up: use `step / warmup_steps`, so that the rate is "
                        "0 at step 0 and reaches the peak exactly at step `warmup_steps`.")
        no_shift = np.array([want[s] if s < warmup else
                             peak * 0.5 * (1 + math.cos(math.pi * s / total)) for s in range(total + 1)])
        if np.allclose(got, no_shift, atol=1e-9):
            raise Wrong("the cosine must start where the warm-up ends: measure its progress as "
                        "`(step - warmup_steps) / (total_steps - warmup_steps)`, not `step / total_steps`.")
        if got[-1] > 0.9 * peak and got[warmup] < 0.1 * peak:
            raise Wrong("after the warm-up your rate *rises* back to the peak: the cosine part is "
                        "`0.5 * (1 + cos(pi * t))`, which falls from 1 to 0 (you have 1 - cos).")
        if abs(got[-1]) > 1e-6:
            raise Wrong(f"at the last step the rate should have decayed to 0, yours is {got[-1]:.4g}.")
        worst = int(np.argmax(np.abs(got - want)))
        raise Wrong(f"not quite: at step {worst} (of {total}, warm-up {warmup}, peak {peak}) the rate "
                    f"should be {want[worst]:.6g}, yours is {got[worst]:.6g}.")


# -- Exercise 3: early stopping ------------------------------------------------------------
def _early(losses, patience):
    best, best_epoch = math.inf, -1
    for epoch, loss in enumerate(losses):
        if loss < best:
            best, best_epoch = loss, epoch
        elif epoch - best_epoch >= patience:
            return best_epoch, epoch
    return best_epoch, len(losses) - 1


_CASES = [
    ([0.90, 0.70, 0.60, 0.62, 0.58, 0.59, 0.61, 0.63, 0.57, 0.70], 3),
    ([1.0, 0.8, 0.7, 0.65, 0.6, 0.58], 2),
    ([0.5, 0.6, 0.7, 0.8, 0.9, 0.4], 2),
    ([0.9, 0.5, 0.5, 0.5, 0.5, 0.3, 0.2], 3),
]


class EarlyStopping(Exercise):
    name = "early_stopping"
    title = "Exercise 3 — when does early stopping stop?"
    hints = (
        "Walk through the validation losses epoch by epoch, remembering the best loss so far and "
        "its epoch. A new loss counts as an improvement only if it is strictly smaller.",
        "Stop at the first epoch where `epoch - best_epoch >= patience`; return "
        "`(best_epoch, epoch)`. If that never happens, return `(best_epoch, len(losses) - 1)`.",
    )
    solution_code = """
        def early_stopping(val_losses, patience):
            best, best_epoch = float("inf"), -1
            for epoch, loss in enumerate(val_losses):
                if loss < best:
                    best, best_epoch = loss, epoch
                elif epoch - best_epoch >= patience:
                    return best_epoch, epoch
            return best_epoch, len(val_losses) - 1
    """

    def reference(self):
        return _early

    def verify(self, fn):
        for losses, patience in _CASES:
            out = call(fn, list(losses), patience, what="`early_stopping`")
            arr = as_array(out, "(best_epoch, stop_epoch)")
            check_shape(arr, (2,), "(best_epoch, stop_epoch)")
            check_finite(arr, "(best_epoch, stop_epoch)")
            best, stop = _early(losses, patience)
            got_best, got_stop = int(round(arr[0])), int(round(arr[1]))
            if (got_best, got_stop) == (best, stop):
                continue
            where = f"for the losses {losses} with patience {patience}"
            if (got_best, got_stop) == (stop, best):
                raise Wrong(f"{where}: the two numbers are swapped -- return (best_epoch, stop_epoch).")
            if got_best == int(np.argmax(losses[: stop + 1])):
                raise Wrong(f"{where}: epoch {got_best} has the *highest* validation loss; the best "
                            "epoch is the one with the lowest.")
            if got_best == int(np.argmin(losses)) and got_best > stop:
                raise Wrong(f"{where}: epoch {got_best} comes after training has stopped (epoch "
                            f"{stop}): early stopping cannot see the future.")
            if got_best == best and abs(got_stop - stop) == 1:
                raise Wrong(f"{where}: off by one -- training stops at epoch {stop}, the first epoch "
                            f"that is `patience` = {patience} epochs after the best one ({best}); "
                            f"you said {got_stop}.")
            raise Wrong(f"{where}: the best epoch is {best} and training stops at epoch {stop}; you "
                        f"returned ({got_best}, {got_stop}).")
        return "patience counts the epochs since the last improvement."


# -- Exercise 4: inverted dropout ----------------------------------------------------------
class Dropout(Exercise):
    name = "dropout"
    title = "Exercise 4 — (inverted) dropout in NumPy"
    hints = (
        "In training, keep each entry with probability 1 - p: `mask = rng.random(x.shape) >= p`. "
        "At evaluation (training=False) return x unchanged.",
        "Scale the survivors up so the expected value stays the same: "
        "`return x * mask / (1 - p)`.",
    )
    solution_code = """
        def dropout(x, p, training, rng):
            if not training:
                return x
            mask = rng.random(x.shape) >= p
            return x * mask / (1 - p)
    """

    def reference(self):
        def dropout(x, p, training, rng):
            if not training:
                return x
            mask = rng.random(x.shape) >= p
            return x * mask / (1 - p)
        return dropout

    def verify(self, fn):
        p = 0.3
        x = np.full((200, 500), 2.0)
        out = as_array(call(fn, x, p, True, np.random.default_rng(0), what="`dropout`"),
                       "the output in training")
        check_shape(out, x.shape, "the output in training")
        check_finite(out, "the output in training")
        dropped = float(np.mean(out == 0))
        if dropped < 0.01:
            raise Wrong("in training nothing was dropped: zero each entry with probability p.")
        if abs(dropped - (1 - p)) < 0.02:
            raise Wrong(f"you dropped {dropped:.0%} of the entries, but p = {p} is the probability "
                        "to *drop* an entry (not to keep it).")
        if abs(dropped - p) > 0.02:
            raise Wrong(f"you dropped {dropped:.0%} of the entries; with p = {p} it should be about {p:.0%}.")
        kept = out[out != 0]
        if np.allclose(kept, 2.0):
            raise Wrong("the surviving entries were not scaled: divide them by (1 - p), so that the "
                        "expected value of each entry stays the same as without dropout.")
        if np.allclose(kept, 2.0 * (1 - p)):
            raise Wrong("you multiplied the survivors by (1 - p); inverted dropout *divides* by "
                        "(1 - p), so that nothing needs rescaling at evaluation time.")
        check_close(kept, np.full_like(kept, 2.0 / (1 - p)), "the surviving entries", rtol=1e-9)
        ev = as_array(call(fn, x, p, False, np.random.default_rng(1), what="`dropout`"),
                      "the output at evaluation")
        check_shape(ev, x.shape, "the output at evaluation")
        if np.any(ev == 0):
            raise Wrong("at evaluation (training=False) dropout must do nothing, but some entries "
                        "were zeroed.")
        if not np.allclose(ev, x):
            raise Wrong("at evaluation (training=False) return x unchanged: the scaling by 1/(1-p) "
                        "during training already keeps the expected values equal.")
        return "that is exactly what torch.nn.Dropout does in train() and eval() mode."


q1, q2, q3, q4 = TrainStep(), WarmupCosine(), EarlyStopping(), Dropout()
ALL = [q1, q2, q3, q4]
