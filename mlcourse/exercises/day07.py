"""Exercises of Day 07 -- training in TensorFlow, PyTorch and JAX, and the practice of training."""

from __future__ import annotations

import copy
import math

import numpy as np

from . import Exercise, Wrong, as_array, call, check_close, check_finite, check_shape


def _params(model) -> np.ndarray:
    return np.concatenate([p.detach().numpy().ravel() for p in model.parameters()])


def _copy_setup(model, optimizer):
    """A deep copy of ``model`` and a new optimizer of the same kind and settings for it."""
    twin = copy.deepcopy(model)
    return twin, type(optimizer)(twin.parameters(), **optimizer.defaults)


# -- Exercise 1: a PyTorch training step ---------------------------------------------------
def _setup_step(seed: int = 0, d: int = 4, k: int = 3, n: int = 8, lr: float = 0.1):
    """A small model with stale gradients already in it, an SGD optimizer and a batch."""
    import torch
    from torch import nn

    g = torch.Generator().manual_seed(seed)
    model = nn.Linear(d, k).double()
    with torch.no_grad():
        model.weight.copy_(torch.randn(k, d, generator=g, dtype=torch.float64))
        model.bias.copy_(torch.randn(k, generator=g, dtype=torch.float64))
    for p in model.parameters():  # left over from an earlier step
        p.grad = torch.full_like(p, 0.5)
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    xb = torch.randn(n, d, generator=g, dtype=torch.float64)
    yb = torch.randint(0, k, (n,), generator=g)
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
    return _params(model), loss.item()


def _no_gradients(model) -> bool:
    return all(p.grad is None or not p.grad.abs().sum().item() for p in model.parameters())


class TrainStep(Exercise):
    name = "train_step"
    title = "Exercise 1 — one PyTorch training step"
    hints = (
        "Four steps, always in this order: clear the old gradients, compute the loss of the "
        "batch, backpropagate, update the weights. Then return the loss as a Python number.",
        "The loss is `F.cross_entropy(model(xb), yb)`: it takes the raw logits (no softmax "
        "before it: it applies a log-softmax itself). The other three steps are one method "
        "call each: the optimizer's `zero_grad()`, the loss's `backward()`, the optimizer's "
        "`step()`.",
        "Where `zero_grad()` goes matters: `backward()` writes the gradients, `step()` reads "
        "them, so clearing must come before `backward()` (first thing in the step), never "
        "between the two. Return `.item()` of the loss: a float, not the tensor.",
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
        exercise = self

        def train_step(model, optimizer, xb, yb):
            from torch.nn import functional as F

            if model is getattr(exercise, "_fresh_model", None):  # the check's expected values:
                exercise._fresh_model = None                     # computed on a copy, so the
                model, optimizer = _copy_setup(model, optimizer)  # learner gets the originals
                exercise._fresh_after = model
            optimizer.zero_grad()
            loss = F.cross_entropy(model(xb), yb)
            loss.backward()
            optimizer.step()
            return loss.item()
        return train_step

    def verify(self, fn):
        model, opt, xb, yb = _setup_step()
        before = _params(model)
        out = call(fn, model, opt, xb, yb, what="`train_step`")
        after = _params(model)
        right, right_loss = _variant("right")
        if np.allclose(after, before):
            if _no_gradients(model):
                raise Wrong("the weights did not change, and the gradients are gone: "
                            "`optimizer.zero_grad()` ran after `loss.backward()`, so it wiped the "
                            "fresh gradients before `optimizer.step()` could use them. Clear the "
                            "gradients *before* `loss.backward()` (first thing in the step).")
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
        if hasattr(out, "detach"):
            graph = (" This one still holds the whole computation graph of the step (it has a "
                     "`grad_fn`), which stays in memory as long as the tensor does."
                     if getattr(out, "requires_grad", False) else "")
            raise Wrong("the step is right, but it returns a tensor: return `loss.item()`, a "
                        "Python float. A training loop appends this value to its history at "
                        "every step, and the history should hold plain numbers." + graph)
        loss = as_array(out, "the loss you returned")
        check_shape(loss, (), "the loss you returned")
        check_finite(loss, "the loss you returned")
        check_close(loss, right_loss, "the loss you returned", rtol=1e-8)
        return "zero_grad, forward, backward, step: the heartbeat of every PyTorch training loop."

    def fresh_args(self, rng):
        d, k, n = int(rng.integers(2, 7)), int(rng.integers(2, 6)), int(rng.integers(4, 17))
        args = _setup_step(int(rng.integers(2**31)), d, k, n, float(rng.uniform(0.01, 0.5)))
        self._fresh_model = self._learner_model = args[0]
        return args

    def fresh_compare(self, out, want):
        check_close(out, want, "the loss you returned")
        check_close(_params(self._learner_model), _params(self._fresh_after),
                    "the weights after one step")


# -- Exercise 2: warm-up + cosine ----------------------------------------------------------
def _wc(step, total, warmup, peak):
    if step < warmup:
        return peak * step / warmup
    return peak * 0.5 * (1 + math.cos(math.pi * (step - warmup) / (total - warmup)))


class WarmupCosine(Exercise):
    name = "warmup_cosine"
    title = "Exercise 2 — a warm-up + cosine learning-rate schedule"
    hints = (
        "Two pieces, chosen with an `if`: during the warm-up (step < warmup_steps) the rate grows "
        "in a straight line from 0 to peak_lr; after it, it falls along half a cosine from "
        "peak_lr to 0.",
        "The warm-up is `peak_lr` times the fraction of the warm-up done, `step / warmup_steps`: "
        "0 at step 0, exactly peak_lr at step warmup_steps.",
        "For the cosine, measure the progress *after* the warm-up as a fraction t from 0 to 1: "
        "(step - warmup_steps) divided by (total_steps - warmup_steps). The rate is then "
        "peak_lr · ½ · (1 + cos(π t)) (use `math.cos` and `math.pi`): peak_lr at t = 0, 0 at t = 1.",
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

    def fresh_args(self, rng):
        total = int(rng.integers(20, 400))
        warmup = int(rng.integers(1, total // 2))
        return int(rng.integers(0, total + 1)), total, warmup, float(rng.uniform(1e-4, 1.0))

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
def _early(losses, patience, ties_improve=False, late=False):
    """The right answer; ``ties_improve`` (`<=`) and ``late`` (`>` for `>=`) are two mistakes."""
    best, best_epoch = math.inf, -1
    for epoch, loss in enumerate(losses):
        if loss < best or (ties_improve and loss == best):
            best, best_epoch = loss, epoch
        elif epoch - best_epoch > patience - (0 if late else 1):
            return best_epoch, epoch
    return best_epoch, len(losses) - 1


_CASES = [
    ([0.90, 0.70, 0.60, 0.62, 0.58, 0.59, 0.61, 0.63, 0.57, 0.70], 3),
    ([1.0, 0.8, 0.7, 0.65, 0.6, 0.58], 2),
    ([0.5, 0.6, 0.7, 0.8, 0.9, 0.4], 2),
    ([0.9, 0.5, 0.5, 0.5, 0.5, 0.3, 0.2], 3),
    ([0.5, 0.4, 0.6, 0.45, 0.7, 0.8], 3),       # falls again without beating the best
]


class EarlyStopping(Exercise):
    name = "early_stopping"
    title = "Exercise 3 — when does early stopping stop?"
    hints = (
        "Walk through the validation losses epoch by epoch (`enumerate` gives the epoch number), "
        "remembering the best loss seen so far and the epoch where it was seen.",
        "An epoch is an improvement only if its loss is *strictly* lower than the best so far "
        "(`<`): an equal loss is not progress, so it does not reset the patience. Start the best "
        "at `float('inf')`, so that epoch 0 is always an improvement.",
        "When an epoch is not an improvement, count the epochs since the best one: training "
        "stops at the first epoch where `epoch - best_epoch >= patience`: return the best epoch "
        "and this epoch, as a pair, right there. After the loop (it never stopped), the stop epoch "
        "is the last one, whose index is one less than the number of losses.",
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

    def fresh_args(self, rng):
        n = int(rng.integers(4, 16))
        losses = [float(v) for v in np.round(rng.uniform(0.2, 1.0, size=n), 1)]  # with ties
        return losses, int(rng.integers(1, 5))

    def verify(self, fn):
        answers = []
        for losses, patience in _CASES:
            out = call(fn, list(losses), patience, what="`early_stopping`")
            arr = as_array(out, "(best_epoch, stop_epoch)")
            check_shape(arr, (2,), "(best_epoch, stop_epoch)")
            check_finite(arr, "(best_epoch, stop_epoch)")
            if not np.array_equal(arr, np.round(arr)):
                raise Wrong(f"for the losses {losses} with patience {patience} you returned "
                            f"({arr[0]:g}, {arr[1]:g}): both numbers are epochs, whole-number positions "
                            "in the list (0, 1, 2, ...), not losses or fractions.")
            answers.append((int(arr[0]), int(arr[1])))
        late_everywhere = all(a == _early(ls, p, late=True) for a, (ls, p) in zip(answers, _CASES))
        for (got_best, got_stop), (losses, patience) in zip(answers, _CASES):
            best, stop = _early(losses, patience)
            if (got_best, got_stop) == (best, stop):
                continue
            where = f"for the losses {losses} with patience {patience}"
            if (got_best, got_stop) == (best + 1, stop + 1):
                raise Wrong(f"{where}: you returned ({got_best}, {got_stop}), one more than the right "
                            f"({best}, {stop}) in both places: epochs count from 0, as the positions in "
                            "the list do (`enumerate(val_losses)` starts at 0).")
            if (got_best, got_stop) == (stop, best):
                raise Wrong(f"{where}: the two numbers are swapped -- return (best_epoch, stop_epoch).")
            if (got_best, got_stop) == _early(losses, patience, ties_improve=True):
                tied = [str(e) for e in range(best, stop + 1) if losses[e] == losses[best]]
                raise Wrong(f"{where}: epochs {', '.join(tied[:-1])} and {tied[-1]} all have the loss "
                            f"{losses[best]}, and you counted each repeat as an improvement (`<=` "
                            "instead of `<`), so the patience restarted at every one of them and you "
                            f"returned ({got_best}, {got_stop}). An equal loss is no progress: only a "
                            f"*strictly* lower loss counts, so the best epoch is {best} and training "
                            f"stops at epoch {stop}.")
            if late_everywhere:
                raise Wrong(f"{where}: you returned ({got_best}, {got_stop}), which is what a loop "
                            "that stops one epoch too late returns: with `epoch - best_epoch > patience` "
                            f"(`>` instead of `>=`) it waits patience + 1 = {patience + 1} epochs without "
                            f"improvement, so it trains on past epoch {stop}, where it should stop"
                            + (f", and then sees epoch {got_best}, a new best that training never "
                               "reaches" if got_best != best else "")
                            + f". Patience {patience} means: stop at the first epoch that is {patience} "
                            f"epochs after the best one (`>=`); here the best epoch is {best} and "
                            f"training stops at epoch {stop}.")
            if got_stop == len(losses) - 1 and stop < len(losses) - 1:
                raise Wrong(f"{where}: you returned the last epoch, {got_stop}, as the stop, but the "
                            f"patience runs out at epoch {stop} ({patience} epochs after the best one, "
                            f"{best}): training stops there. Return (best_epoch, epoch) inside the loop "
                            "as soon as `epoch - best_epoch >= patience`; only a loop that never stops "
                            "ends at the last epoch.")
            if got_best == int(np.argmax(losses[: stop + 1])):
                raise Wrong(f"{where}: epoch {got_best} has the *highest* validation loss; the best "
                            "epoch is the one with the lowest.")
            if got_best == int(np.argmin(losses)) and got_best > max(stop, got_stop):
                raise Wrong(f"{where}: epoch {got_best} comes after training has stopped (epoch "
                            f"{stop}): early stopping cannot see the future. Look only at the losses "
                            "up to the stop: when the patience runs out, return (best_epoch, epoch) "
                            "right there, inside the loop.")
            if got_best == best and abs(got_stop - stop) == 1 and stop - best < patience:
                raise Wrong(f"{where}: off by one -- the patience never runs out here, so training runs "
                            f"to the last epoch, `len(val_losses) - 1` = {stop} (epochs count from 0); you "
                            f"said {got_stop}.")
            if got_best == best and abs(got_stop - stop) == 1:
                raise Wrong(f"{where}: off by one -- training stops at epoch {stop}, the first epoch "
                            f"that is `patience` = {patience} epochs after the best one ({best}); "
                            f"you said {got_stop}.")
            raise Wrong(f"{where}: the best epoch is {best} and training stops at epoch {stop}; you "
                        f"returned ({arr[0]:g}, {arr[1]:g}).")
        return "patience counts the epochs since the last improvement."


# -- Exercise 4: inverted dropout ----------------------------------------------------------
class Dropout(Exercise):
    name = "dropout"
    title = "Exercise 4 — (inverted) dropout in NumPy"
    hints = (
        "Two cases. In training, every entry is zeroed with probability p, independently, and "
        "the survivors are scaled up; at evaluation (training=False), x comes back unchanged.",
        "The random choice is a boolean mask of the shape of x, from the generator you are given: "
        "`rng.random(x.shape)` draws uniform numbers in [0, 1), and a comparison with p turns "
        "them into True (keep) with probability 1 - p.",
        "Inverted dropout divides the kept entries by (1 - p), so that each entry keeps the same "
        "expected value as without dropout, and nothing needs rescaling at evaluation. Multiply "
        "x by the mask (True counts as 1) and divide by 1 - p.",
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

    def fresh_args(self, rng):
        shape = tuple(int(k) for k in rng.integers(8, 40, size=int(rng.integers(2, 4))))
        while np.prod(shape) < 3000:
            shape = shape[:-1] + (shape[-1] * 2,)
        x = rng.uniform(0.5, 2.0, size=shape) * rng.choice([-1.0, 1.0], size=shape)  # no zeros
        self._trials = getattr(self, "_trials", 0) + 1
        p, training = float(rng.uniform(0.1, 0.7)), self._trials % 3 != 0  # 2 in 3 trials train
        self._fresh = (x.copy(), p, training)
        return x, p, training, np.random.default_rng(int(rng.integers(2**31)))

    def fresh_compare(self, out, want):
        x, p, training = self._fresh
        a = as_array(out, "the output")
        check_shape(a, x.shape, "the output")
        check_finite(a, "the output")
        if not training:
            check_close(a, x, "the output at evaluation (training=False)")
            return
        kept = a != 0
        dropped = 1 - kept.mean()
        if abs(dropped - p) > 0.06:
            raise Wrong(f"with p = {p:.2f} you dropped {dropped:.0%} of the entries; it should be "
                        f"about {p:.0%}: use p itself, not a number from the example.")
        check_close(a[kept], x[kept] / (1 - p), "the surviving entries")

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


# -- Exercise 5 (build it): a complete training loop -------------------------------------------
_KEYS = ("train_loss", "val_loss", "val_acc")


def _setup_fit(seed: int, n: int = 48, d: int = 5, k: int = 3, n_val: int = 40, hidden: int = 16,
               lr: float = 0.2, epochs: int = 3, batch_size: int = 16):
    """A tiny seeded problem: (model with dropout, SGD, x, y, x_val, y_val, epochs, batch_size, gen)."""
    import torch
    from torch import nn

    g = torch.Generator().manual_seed(seed)
    model = nn.Sequential(nn.Linear(d, hidden), nn.ReLU(), nn.Dropout(0.3),
                          nn.Linear(hidden, k)).double()
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(0.5 * torch.randn(p.shape, generator=g, dtype=torch.float64))
    teacher = torch.randn(d, k, generator=g, dtype=torch.float64)   # labels a model can learn
    x = torch.randn(n, d, generator=g, dtype=torch.float64)
    x_val = torch.randn(n_val, d, generator=g, dtype=torch.float64)
    y, y_val = (x @ teacher).argmax(1), (x_val @ teacher).argmax(1)
    gen = torch.Generator().manual_seed(seed + 1)
    return model, torch.optim.SGD(model.parameters(), lr=lr), x, y, x_val, y_val, epochs, batch_size, gen


def _loop(model, optimizer, x, y, x_val, y_val, epochs, batch_size, gen, *, eval_mode=True,
          train_mode=True, zero_grad=True, shuffle="gen", last=False, val_on_train=False):
    """The reference loop, or one with a typical mistake (the flags)."""
    import torch
    from torch.nn import functional as F

    history = {k: [] for k in _KEYS}
    for _ in range(epochs):
        if train_mode:
            model.train()
        if shuffle == "gen":
            order = torch.randperm(len(x), generator=gen)
        else:
            order = torch.randperm(len(x)) if shuffle == "global" else torch.arange(len(x))
        losses = []
        for start in range(0, len(x), batch_size):
            idx = order[start:start + batch_size]
            loss = F.cross_entropy(model(x[idx]), y[idx])
            if zero_grad:
                optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        if eval_mode:
            model.eval()
        xe, ye = (x, y) if val_on_train else (x_val, y_val)
        with torch.no_grad():
            logits = model(xe)
            history["val_loss"].append(F.cross_entropy(logits, ye).item())
            history["val_acc"].append((logits.argmax(1) == ye).float().mean().item())
        history["train_loss"].append(losses[-1] if last else sum(losses) / len(losses))
    return history


_LOOP_MISTAKES = (
    (dict(eval_mode=False),
     "the validation numbers were measured with dropout still switched on (training mode): call "
     "`model.eval()` before evaluating, so that dropout does nothing and the measurement is "
     "deterministic."),
    (dict(train_mode=False),
     "only the first epoch trained with dropout: after the first evaluation the model stayed in "
     "evaluation mode. Call `model.train()` at the start of *every* epoch (not once before the "
     "loop)."),
    (dict(zero_grad=False),
     "the gradients of earlier batches were still there: PyTorch *adds* new gradients to "
     "`.grad`, so call `optimizer.zero_grad()` before `loss.backward()`, once per batch."),
    (dict(shuffle="global"),
     "the batches came in another order: shuffle with the generator you are given, "
     "`torch.randperm(len(x), generator=gen)`. Without `generator=gen`, randperm draws from "
     "PyTorch's global generator, and the run cannot be reproduced from `gen`."),
    (dict(shuffle="none"),
     "the batches were not shuffled: draw a new order at every epoch with "
     "`torch.randperm(len(x), generator=gen)` and take the batches in that order."),
    (dict(last=True),
     "\"train_loss\" holds the loss of the epoch's *last* batch; it should be the mean of all "
     "the epoch's batch losses (collect `loss.item()` of every batch in a list)."),
    (dict(val_on_train=True),
     "\"val_loss\" and \"val_acc\" were measured on the training data (x, y): evaluate on "
     "`x_val` and `y_val`, the examples the model never trains on."),
)


class TrainingLoop(Exercise):
    name = "train_model"
    title = "Exercise 5 — build it: a complete training loop with evaluation"
    time_limit = 60.0
    hints = (
        "Each epoch has two phases. Training: the model in training mode, a fresh shuffled "
        "order, and one optimisation step per mini-batch (as in Exercise 1). Evaluation: the "
        "model in evaluation mode (dropout off), with gradients switched off, on the whole "
        "validation set. Append three numbers per epoch to the history.",
        "The mode switches are the model's `.train()` and `.eval()` methods, called at the start "
        "of each phase. The order comes from `torch.randperm(len(x), generator=gen)`, and batch "
        "number b uses the indices of that order from `b * batch_size` to `(b + 1) * batch_size`.",
        "Evaluate inside a `torch.no_grad()` block (a `with` statement): the validation loss is `F.cross_entropy` "
        "of the logits of all of `x_val`, the accuracy the mean of `logits.argmax(1) == y_val` "
        "(turn the booleans into floats first). Store plain numbers (`.item()`), and the mean "
        "of the batch losses as the training loss.",
    )
    solution_code = """
        def train_model(model, optimizer, x, y, x_val, y_val, epochs, batch_size, gen):
            history = {"train_loss": [], "val_loss": [], "val_acc": []}
            for epoch in range(epochs):
                model.train()
                order = torch.randperm(len(x), generator=gen)
                losses = []
                for start in range(0, len(x), batch_size):
                    idx = order[start:start + batch_size]
                    loss = F.cross_entropy(model(x[idx]), y[idx])
                    optimizer.zero_grad()
                    loss.backward()
                    optimizer.step()
                    losses.append(loss.item())
                history["train_loss"].append(sum(losses) / len(losses))
                model.eval()
                with torch.no_grad():
                    logits = model(x_val)
                    history["val_loss"].append(F.cross_entropy(logits, y_val).item())
                    history["val_acc"].append((logits.argmax(1) == y_val).float().mean().item())
            return history
    """

    def reference(self):
        exercise = self

        def train_model(model, optimizer, x, y, x_val, y_val, epochs, batch_size, gen):
            import torch

            if model is getattr(exercise, "_fresh_model", None):  # the check's expected values:
                exercise._fresh_model = None                     # computed on copies, leaving
                model, optimizer = _copy_setup(model, optimizer)  # the learner's model, its
                twin = torch.Generator()                         # generator and PyTorch's
                twin.set_state(gen.get_state())                   # global random state as they
                state = torch.get_rng_state()                     # were
                try:
                    return _loop(model, optimizer, x, y, x_val, y_val, epochs, batch_size, twin)
                finally:
                    torch.set_rng_state(state)
            return _loop(model, optimizer, x, y, x_val, y_val, epochs, batch_size, gen)
        return train_model

    def _history(self, out, epochs):
        if not isinstance(out, dict):
            raise Wrong(f"`train_model` should return a dict with the keys {', '.join(map(repr, _KEYS))}, "
                        f"but it returned a {type(out).__name__}.")
        missing = [k for k in _KEYS if k not in out]
        if missing:
            raise Wrong(f"the history has no key {missing[0]!r}: return a dict with the keys "
                        f"{', '.join(map(repr, _KEYS))}.")
        hist = {}
        for key in _KEYS:
            values = out[key]
            try:
                values = list(values)
            except TypeError:
                raise Wrong(f"history[{key!r}] should be a list (one number per epoch), but it is "
                            f"a {type(values).__name__}.") from None
            if len(values) != epochs:
                raise Wrong(f"history[{key!r}] has {len(values)} entries for {epochs} epochs: append "
                            "one number per epoch (after the epoch's batches, not after each batch).")
            if any(hasattr(v, "detach") for v in values):
                raise Wrong(f"history[{key!r}] holds tensors: store plain numbers with `.item()`. A "
                            "loss tensor keeps the computation graph of its batch alive in memory "
                            "for as long as the history keeps it.")
            hist[key] = as_array(values, f"history[{key!r}]")
            check_finite(hist[key], f"history[{key!r}]")
        return hist

    @staticmethod
    def _same(a, b) -> bool:
        return all(np.allclose(a[k], b[k], rtol=1e-6, atol=1e-9) for k in _KEYS)

    @staticmethod
    def _expected(seed, **flags):
        """The reference loop (or one with a mistake, ``flags``) on the seeded problem."""
        import torch

        args = _setup_fit(seed)
        torch.manual_seed(seed + 2)  # dropout draws from the global generator
        return _loop(*args, **flags)

    def _run(self, fn, seed):
        """Run the learner's ``fn`` on the seeded problem; also say in which modes it ran the model."""
        import torch

        args = _setup_fit(seed)
        torch.manual_seed(seed + 2)
        model, seen = args[0], []
        hook = model.register_forward_hook(
            lambda m, i, o: seen.append((m.training, torch.is_grad_enabled())))
        try:
            out = call(fn, *args, what="`train_model`")
        finally:
            hook.remove()
        return self._history(out, args[6]), seen

    def verify(self, fn):
        got, seen = self._run(fn, 0)
        right = self._expected(0)
        if self._same(got, right):
            if any(not training and grad for training, grad in seen):
                raise Wrong("the numbers are right, but the evaluation ran with gradients switched "
                            "on: wrap it in `with torch.no_grad():`. Without it PyTorch records a "
                            "graph of the whole validation pass for a backward() that never comes, "
                            "which costs memory and time.")
            return ("train mode for training, eval mode and no_grad for evaluation, numbers in the "
                    "history: the loop that every PyTorch project contains.")
        for flags, message in _LOOP_MISTAKES:
            if self._same(got, self._expected(0, **flags)):
                raise Wrong(message)
        for key, what in zip(_KEYS, ("training loss", "validation loss", "validation accuracy")):
            diff = np.abs(got[key] - right[key]) > 1e-6 * np.maximum(1.0, np.abs(right[key]))
            if diff.any():
                e = int(np.argmax(diff))
                raise Wrong(f"the {what} of epoch {e} (from 0) is {got[key][e]:.6g}, but the "
                            f"reference loop gets {right[key][e]:.6g} on the same seeded problem. "
                            "Check the steps against the statement: the order of the batches, "
                            "the loss, the mode switches.")
        raise Wrong("your history differs from the reference loop's.")  # not reached

    def fresh_args(self, rng):
        bs = int(rng.integers(4, 17))
        args = _setup_fit(int(rng.integers(2**30)), n=bs * int(rng.integers(2, 5)),
                          d=int(rng.integers(2, 8)), k=int(rng.integers(2, 5)),
                          n_val=int(rng.integers(10, 50)), hidden=int(rng.integers(4, 20)),
                          lr=float(rng.uniform(0.05, 0.3)), epochs=int(rng.integers(1, 5)),
                          batch_size=bs)
        self._fresh_model = args[0]
        return args

    def fresh_compare(self, out, want):
        got = self._history(out, len(want["train_loss"]))
        for key in _KEYS:
            check_close(got[key], want[key], f"history[{key!r}]")


q1, q2, q3, q4, q5 = TrainStep(), WarmupCosine(), EarlyStopping(), Dropout(), TrainingLoop()
ALL = [q1, q2, q3, q4, q5]
