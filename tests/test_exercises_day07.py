"""Day 07's exercises: typical wrong answers get the right explanation."""

import math

import numpy as np
import pytest

from mlcourse.exercises import ____, day07

torch = pytest.importorskip("torch")
F = torch.nn.functional


def _msg(q, answer):
    res = q.evaluate(answer)
    assert res.status == "incorrect", res
    return res.message


def _step(order=("zero", "forward", "backward", "step"), softmax=False, result="item"):
    def train_step(model, opt, xb, yb):
        loss = None
        for action in order:
            if action == "zero":
                opt.zero_grad()
            elif action == "forward":
                logits = model(xb)
                loss = F.cross_entropy(torch.softmax(logits, 1) if softmax else logits, yb)
            elif action == "backward":
                loss.backward()
            elif action == "step":
                opt.step()
        return {"item": loss.item(), "tensor": loss, "detached": loss.detach()}[result]
    return train_step


def test_train_step_mistakes():
    assert day07.q1.evaluate(_step()).status == "correct"
    assert day07.q1.evaluate(_step(("forward", "zero", "backward", "step"))).status == "correct"
    assert "zero_grad" in _msg(day07.q1, _step(("forward", "backward", "step")))
    assert "optimizer.step()" in _msg(day07.q1, _step(("zero", "forward", "backward")))
    assert "raw logits" in _msg(day07.q1, _step(softmax=True))


def test_zero_grad_between_backward_and_step_is_named():
    msg = _msg(day07.q1, _step(("forward", "backward", "zero", "step")))
    assert "after `loss.backward()`" in msg and "wiped" in msg and "*before*" in msg
    assert "call `optimizer.step()`" not in msg  # not the advice for a missing step


def test_train_step_must_return_a_float():
    msg = _msg(day07.q1, _step(result="tensor"))
    assert "loss.item()" in msg and "graph" in msg
    msg = _msg(day07.q1, _step(result="detached"))
    assert "loss.item()" in msg and "plain numbers" in msg


def test_train_step_fresh_inputs_and_rng():
    fixed_loss = day07.q1.reference()(*day07._setup_step())   # the example's loss, hard-coded

    def replay(model, opt, xb, yb):
        _step()(model, opt, xb, yb)
        return fixed_loss

    assert "new random inputs" in _msg(day07.q1, replay)
    # a check leaves PyTorch's global random state as it found it, even if the answer draws from it
    def noisy(model, opt, xb, yb):
        torch.randn(100)
        return _step()(model, opt, xb, yb)

    torch.manual_seed(123)
    before = torch.get_rng_state()
    assert day07.q1.evaluate(noisy).status == "correct"
    assert day07.q5.evaluate(day07.q5.reference()).status == "correct"
    assert torch.equal(before, torch.get_rng_state())


def test_warmup_cosine_mistakes():
    ref = day07.q2.reference()

    def no_warmup(s, total, w, peak):
        return peak * 0.5 * (1 + math.cos(math.pi * s / total))

    def plus_one(s, total, w, peak):
        return peak * (s + 1) / w if s < w else ref(s, total, w, peak)

    def no_shift(s, total, w, peak):
        return peak * s / w if s < w else peak * 0.5 * (1 + math.cos(math.pi * s / total))

    def rising(s, total, w, peak):
        return peak * s / w if s < w else peak * 0.5 * (1 - math.cos(math.pi * (s - w) / (total - w)))

    def example_only(s, total, w, peak):  # the example's numbers, not the arguments
        return ref(s, 100, 10, 0.3)

    assert "already the peak" in _msg(day07.q2, no_warmup)
    assert "off by one" in _msg(day07.q2, plus_one)
    assert "start where the warm-up ends" in _msg(day07.q2, no_shift)
    assert "*rises*" in _msg(day07.q2, rising)
    assert "should be" in _msg(day07.q2, lambda s, total, w, peak: 0.9 * ref(s, total, w, peak))
    assert "new random inputs" in _msg(day07.q2, example_only)


def test_early_stopping_mistakes():
    ref = day07.q3.reference()

    def argmax(losses, patience):
        best, stop = ref(losses, patience)
        return int(np.argmax(losses[: stop + 1])), stop

    def global_best(losses, patience):
        return int(np.argmin(losses)), ref(losses, patience)[1]

    def late(losses, patience):
        best, stop = ref(losses, patience)
        return best, stop + 1

    assert "*highest*" in _msg(day07.q3, argmax)
    assert "cannot see the future" in _msg(day07.q3, global_best)
    assert "off by one" in _msg(day07.q3, late)
    assert "swapped" in _msg(day07.q3, lambda losses, p: ref(losses, p)[::-1])


def test_early_stopping_one_epoch_late_is_named():
    def strictly_more(val_losses, patience):      # `>` instead of `>=`
        best, best_epoch = float("inf"), -1
        for epoch, loss in enumerate(val_losses):
            if loss < best:
                best, best_epoch = loss, epoch
            elif epoch - best_epoch > patience:
                return best_epoch, epoch
        return best_epoch, len(val_losses) - 1

    msg = _msg(day07.q3, strictly_more)
    assert "one epoch too late" in msg and "`>=`" in msg
    assert "cannot see the future" not in msg


def test_early_stopping_more_named_mistakes():
    ref = day07.q3.reference()

    def one_based(losses, patience):
        best, stop = ref(losses, patience)
        return best + 1, stop + 1

    def never_stops(losses, patience):          # the argmin of all the losses, and the last epoch
        return int(np.argmin(losses)), len(losses) - 1

    def versus_previous(losses, patience):      # "improvement" = lower than the epoch before
        best_epoch = 0
        for epoch in range(1, len(losses)):
            if losses[epoch] < losses[epoch - 1]:
                best_epoch = epoch
            elif epoch - best_epoch >= patience:
                return best_epoch, epoch
        return best_epoch, len(losses) - 1

    assert "epochs count from 0" in _msg(day07.q3, one_based)
    assert "you returned the last epoch" in _msg(day07.q3, never_stops)
    assert "one epoch too late" not in _msg(day07.q3, never_stops)
    assert day07.q3.evaluate(versus_previous).status == "incorrect"   # caught by the fixed cases
    assert "whole-number positions" in _msg(day07.q3, lambda ls, p: (ref(ls, p)[0] + 0.4, ref(ls, p)[1]))


def test_early_stopping_ties_are_named():
    def ties_improve(val_losses, patience):      # `<=` instead of `<`
        best, best_epoch = float("inf"), -1
        for epoch, loss in enumerate(val_losses):
            if loss <= best:
                best, best_epoch = loss, epoch
            elif epoch - best_epoch >= patience:
                return best_epoch, epoch
        return best_epoch, len(val_losses) - 1

    msg = _msg(day07.q3, ties_improve)
    assert "`<=` instead of `<`" in msg and "*strictly* lower" in msg and "the loss 0.5" in msg
    assert "cannot see the future" not in msg


def test_dropout_mistakes():
    def keep_p(x, p, training, rng):
        return x * (rng.random(x.shape) < p) / p if training else x

    def unscaled(x, p, training, rng):
        return x * (rng.random(x.shape) >= p) if training else x

    def old_style(x, p, training, rng):
        return x * (rng.random(x.shape) >= p) if training else x * (1 - p)

    def times_keep(x, p, training, rng):
        return x * (rng.random(x.shape) >= p) * (1 - p) if training else x

    def always(x, p, training, rng):
        return x * (rng.random(x.shape) >= p) / (1 - p)

    def in_place(x, p, training, rng):
        if training:
            x *= (rng.random(x.shape) >= p) / (1 - p)
        return x

    def p_is_03(x, p, training, rng):       # the example's p hard-coded
        return x * (rng.random(x.shape) >= 0.3) / 0.7 if training else x

    def other_mask(x, p, training, rng):    # right too: another way to draw the mask
        return x * (rng.random(x.shape) < 1 - p) / (1 - p) if training else x

    assert "*drop*" in _msg(day07.q4, keep_p)
    assert "not scaled" in _msg(day07.q4, unscaled)
    assert "not scaled" in _msg(day07.q4, old_style)
    assert "*divides*" in _msg(day07.q4, times_keep)
    assert "must do nothing" in _msg(day07.q4, always)
    res = day07.q4.evaluate(in_place)  # right values: accepted, with a note on the changed input
    assert res.correct and "in place" in res.message
    assert "nothing was dropped" in _msg(day07.q4, lambda x, p, t, rng: x)
    assert "new random inputs" in _msg(day07.q4, p_is_03)
    assert day07.q4.evaluate(other_mask).status == "correct"


# -- Exercise 5: the training loop ---------------------------------------------------------------
def _loop_answer(**flags):
    def train_model(model, optimizer, x, y, x_val, y_val, epochs, batch_size, gen):
        return day07._loop(model, optimizer, x, y, x_val, y_val, epochs, batch_size, gen, **flags)
    return train_model


def written_by_hand(no_grad=True, as_tensors=False, per_batch=False, train_once=False):
    def train_model(model, optimizer, x, y, x_val, y_val, epochs, batch_size, gen):
        history = {"train_loss": [], "val_loss": [], "val_acc": []}
        if train_once:
            model.train()
        for epoch in range(epochs):
            if not train_once:
                model.train()
            order = torch.randperm(len(x), generator=gen)
            losses = []
            for start in range(0, len(x), batch_size):
                idx = order[start:start + batch_size]
                loss = F.cross_entropy(model(x[idx]), y[idx])
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                losses.append(loss if as_tensors else loss.item())
                if per_batch:
                    history["train_loss"].append(loss.item())
            if not per_batch:
                history["train_loss"].append(sum(losses) / len(losses))
            model.eval()
            with torch.set_grad_enabled(not no_grad):
                logits = model(x_val)
                history["val_loss"].append(F.cross_entropy(logits, y_val).item())
                history["val_acc"].append((logits.argmax(1) == y_val).float().mean().item())
        return history
    return train_model


def test_training_loop_right_answers():
    assert day07.q5.evaluate(written_by_hand()).status == "correct"
    assert day07.q5.evaluate(_loop_answer()).status == "correct"


def test_training_loop_mistakes():
    assert "`model.eval()`" in _msg(day07.q5, _loop_answer(eval_mode=False))
    msg = _msg(day07.q5, written_by_hand(train_once=True))
    assert "`model.train()` at the start of *every* epoch" in msg
    assert "zero_grad" in _msg(day07.q5, _loop_answer(zero_grad=False))
    assert "generator=gen" in _msg(day07.q5, _loop_answer(shuffle="global"))
    assert "not shuffled" in _msg(day07.q5, _loop_answer(shuffle="none"))
    assert "*last* batch" in _msg(day07.q5, _loop_answer(last=True))
    assert "training data" in _msg(day07.q5, _loop_answer(val_on_train=True))
    msg = _msg(day07.q5, written_by_hand(no_grad=False))
    assert "numbers are right" in msg and "torch.no_grad()" in msg
    assert "holds tensors" in _msg(day07.q5, written_by_hand(as_tensors=True))
    assert "one number per epoch" in _msg(day07.q5, written_by_hand(per_batch=True))
    assert "should return a dict" in _msg(day07.q5, lambda *args: [0.1, 0.2])


def test_training_loop_fresh_inputs():
    hist = day07.q5._expected(0)   # the history of the check's example, replayed

    def replay(model, optimizer, x, y, x_val, y_val, epochs, batch_size, gen):
        written_by_hand()(model, optimizer, x, y, x_val, y_val, epochs, batch_size, gen)
        return hist

    assert "new random inputs" in _msg(day07.q5, replay)


def test_training_loop_starter_is_not_attempted():
    def train_model(model, optimizer, x, y, x_val, y_val, epochs, batch_size, gen):
        history = {"train_loss": [], "val_loss": [], "val_acc": []}
        # your code here
        return ____

    assert day07.q5.evaluate(train_model).status == "not_attempted"


def test_review_no_early_stop_off_by_one_is_explained_truly():
    from mlcourse.exercises import day07 as d7

    def counter(v, p):
        best, be, bad = float("inf"), -1, 0
        for e, loss in enumerate(v):
            if loss < best:
                best, be, bad = loss, e, 0
            else:
                bad += 1
                if bad == p:
                    return be, e
        return be, len(v)                  # should be len(v) - 1
    res = d7.q3.evaluate(counter)
    assert res.status == "incorrect" and "never runs out" in res.message
