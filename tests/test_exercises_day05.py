"""Day 05's exercises: typical wrong answers get the right explanation."""

import numpy as np

from mlcourse.exercises import day05


def _msg(q, answer):
    res = q.evaluate(answer)
    assert res.status == "incorrect", res
    return res.message


def test_preprocess_mistakes():
    assert "not flattened" in _msg(day05.q1, lambda im: im.astype(np.float32) / 255)
    assert "dividing by 255" in _msg(day05.q1, lambda im: im.reshape(len(im), -1).astype(np.float32))
    assert "reshape(len(images), -1)" in _msg(day05.q1, lambda im: im.reshape(784, -1) / 255)
    assert "256" in _msg(day05.q1, lambda im: im.reshape(len(im), -1).astype(np.float32) / 256)
    assert "float32" in _msg(day05.q1, lambda im: im.reshape(len(im), -1) / 255.0)


def test_one_hot_mistakes():
    ref = day05._ref_one_hot
    assert "transposed" in _msg(day05.q2, lambda y, k: ref(y, k).T)
    assert "num_classes" in _msg(day05.q2, lambda y, k: ref(y, 10) if y.max() < 10 else np.zeros((len(y), 10)))
    assert "one column to the left" in _msg(day05.q2, lambda y, k: ref((y - 1) % k, k))
    assert "exactly one 1" in _msg(day05.q2, lambda y, k: ref(y, k) + ref((y + 1) % k, k))


def test_confusion_mistakes():
    ref = day05._ref_confusion
    assert "transposed" in _msg(day05.q3, lambda t, p, k: ref(t, p, k).T)

    def fancy(t, p, k):
        cm = np.zeros((k, k))
        cm[t, p] += 1
        return cm
    assert "np.add.at" in _msg(day05.q3, fancy)


def test_confident_mistakes_mistakes():
    assert "classified correctly" in _msg(day05.q4, lambda pr, y, k: np.argsort(-pr.max(axis=1))[:k])

    def least(pr, y, k):
        wrong = np.flatnonzero(pr.argmax(1) != y)
        return wrong[np.argsort(pr[wrong].max(1))][:k]
    assert "*least*" in _msg(day05.q4, least)

    def reversed_order(pr, y, k):
        return day05._ref_mistakes(pr, y, k)[::-1]
    assert "wrong order" in _msg(day05.q4, reversed_order)

    def probabilities(pr, y, k):
        wrong = np.flatnonzero(pr.argmax(1) != y)
        return np.sort(pr[wrong].max(1))[::-1][:k]
    assert "*indices*" in _msg(day05.q4, probabilities)

    def true_class_prob(pr, y, k):
        wrong = np.flatnonzero(pr.argmax(1) != y)
        return wrong[np.argsort(-pr[wrong, y[wrong]])][:k]
    assert "not the right examples" in _msg(day05.q4, true_class_prob)


def test_confident_mistakes_positions_are_named():
    def within(pr, y, k):                              # positions in the list of mistakes
        wrong = np.flatnonzero(pr.argmax(1) != y)
        return np.argsort(-pr[wrong].max(axis=1))[:k]
    msg = _msg(day05.q4, within)
    assert "positions in the list of mistakes" in msg and "wrong[order]" in msg
    assert "classified correctly" not in msg

    def whole_into_wrong(pr, y, k):                    # positions in the whole array used on `wrong`
        wrong = np.flatnonzero(pr.argmax(1) != y)
        return wrong[np.argsort(-pr.max(axis=1))[:k]]
    msg = _msg(day05.q4, whole_into_wrong)         # a crash (IndexError) or, by chance, no crash
    assert "positions in the whole array" in msg and "classified correctly" not in msg

    # the same mistake when it happens not to crash
    probs = np.array([[0.95, 0.05], [0.9, 0.1], [0.45, 0.55], [0.4, 0.6], [0.3, 0.7], [0.2, 0.8]])
    y = np.zeros(6, dtype=int)                         # rows 0, 1 right (and the most confident); 2-5 wrong
    wrong = np.flatnonzero(probs.argmax(1) != y)
    top_all = np.argsort(-probs.max(axis=1), kind="stable")[:2]
    try:
        day05._judge_mistakes(wrong[top_all].astype(float), probs, y, 2)
    except day05.Wrong as exc:
        assert "with positions in the whole array" in str(exc) and "IndexError" not in str(exc)
    else:
        raise AssertionError("not caught")

    # other right answers pass
    def via_order(pr, y, k):
        order = np.argsort(-pr.max(axis=1))
        return order[pr.argmax(1)[order] != y[order]][:k]
    assert day05.q4.evaluate(via_order).correct

    def with_a_loop(pr, y, k):
        items = sorted(((pr[i].max(), i) for i in range(len(pr)) if pr[i].argmax() != y[i]), reverse=True)
        return [i for _, i in items[:k]]
    assert day05.q4.evaluate(with_a_loop).correct


def test_fixed_ten_classes_and_fresh_inputs():
    assert "10 classes only" in _msg(day05.q2, lambda y, k: np.eye(10)[y])
    ref = day05._ref_confusion
    t0 = np.array([0, 0, 0, 1, 1, 2, 2, 2, 2, 3, 3, 1, 0, 2])      # the check's example, copied
    p0 = np.array([0, 0, 1, 1, 3, 2, 2, 0, 0, 3, 1, 1, 0, 2])
    assert "use its arguments only" in _msg(day05.q3, lambda t, p, k: ref(t0, p0, 4))  # a second example
    for q in day05.ALL:
        assert q.evaluate(lambda *a: day05.____).status == "not_attempted"


def test_review_preprocess_messages():
    # a right answer as a float32 torch tensor is accepted
    import torch
    assert day05.q1.evaluate(lambda im: torch.from_numpy(im).float().flatten(1) / 255).correct
    m = _msg(day05.q1, lambda im: (im.reshape(len(im), -1) / im.max()).astype(np.float32))
    assert "dim batch" in m and "images.max()" in m
    assert "dim batch" in _msg(day05.q1, lambda im: ((im - im.min()) / (im.max() - im.min()))
                               .reshape(len(im), -1).astype(np.float32))
    assert "only 0s and 1s" in _msg(day05.q1, lambda im: (im.reshape(len(im), -1) // 255).astype(np.float32))
    assert "len(images)" in _msg(day05.q1, lambda im: im.reshape(60000, 784).astype(np.float32) / 255)
    assert "a list" in _msg(day05.q1, lambda im: (im.reshape(len(im), -1).astype(np.float32) / 255).tolist())
    assert "dtype is None" not in _msg(day05.q1, lambda im: (im.reshape(len(im), -1) / 255).tolist())
    m = _msg(day05.q1, lambda im: im.reshape(len(im), -1).astype(np.float16) / 255)
    assert "float16" in m and "half the memory" not in m
    assert "wrong order" in _msg(day05.q1, lambda im: (im.transpose(0, 2, 1).reshape(len(im), -1) / 255)
                                 .astype(np.float32))


def test_review_one_hot_messages():
    m = _msg(day05.q2, lambda y, k: np.eye(y.max() + 1)[y])       # was accepted on the fixed example
    assert "labels.max() + 1" in m and "new random inputs" not in m
    m = _msg(day05.q2, lambda y, k: np.eye(k)[y][:, ::-1])      # was "off by a constant factor of 0"
    assert "right column" in m and "factor" not in m
    m = _msg(day05.q2, lambda y, k: np.eye(k)[y] * 0.9 + 0.1 / k)  # was "off by a constant factor of 0.9083"
    assert "only 0s and 1s" in m and "factor" not in m


def test_review_confusion_messages():
    ref = day05._ref_confusion
    m = _msg(day05.q3, lambda t, p, k: ref(t, p, max(t.max(), p.max()) + 1))   # was accepted
    assert "class 3 never occurs" in m
    m = _msg(day05.q3, lambda t, p, k: np.bincount(t * k + p).reshape(k, k))   # was accepted
    assert "minlength" in m
    m = _msg(day05.q3, lambda t, p, k: ref(t, p, k) / ref(t, p, k).sum(axis=1, keepdims=True))
    assert "normalise" in m

    def fixed(t, p, k):
        cm = np.zeros((10, 10), dtype=int)
        np.add.at(cm, (t, p), 1)
        return cm
    assert "num_classes" in _msg(day05.q3, fixed)


def test_review_confident_mistakes_messages():
    def first_k(pr, y, k):
        return np.flatnonzero(pr.argmax(1) != y)[:k]
    assert "first k mistakes in the order of the array" in _msg(day05.q4, first_k)

    def skip(pr, y, k):
        wrong = np.flatnonzero(pr.argmax(1) != y)
        return wrong[np.argsort(-pr[wrong].max(1))][1:k + 1]
    assert "skipped the most confident" in _msg(day05.q4, skip)


# -- Exercise 5: load a folder of images --------------------------------------------------------

def _loader(*, sort=True, skip_files=True, start=0, scale=255.0, dtype=np.float32, stack=True):
    """A learner's loader with os.listdir and PIL, with one switch per typical mistake."""
    import os

    from PIL import Image

    def load_image_folder(root):
        listed = os.listdir(root)
        names = [d for d in listed if not skip_files or os.path.isdir(os.path.join(root, d))]
        names = sorted(names) if sort else names
        images, labels = [], []
        for k, name in enumerate(names, start):
            for file in (sorted if sort else list)(os.listdir(os.path.join(root, name))):
                images.append(np.array(Image.open(os.path.join(root, name, file))))
                labels.append(k)
        if not stack:
            return [im.astype(dtype) / scale for im in images], np.array(labels), names
        return (np.stack(images).astype(dtype) / scale).astype(dtype), np.array(labels), names
    return load_image_folder


def _with(change):
    """The reference loader, with its result changed by ``change(images, labels, class_names)``."""
    ref = day05.q5.reference()
    return lambda root: change(*ref(root))


def test_load_image_folder_right_answers_pass():
    import glob
    import os

    import matplotlib.pyplot as plt

    assert day05.q5.evaluate(day05.q5.reference()).correct
    assert day05.q5.evaluate(_loader()).correct

    def with_glob_and_imread(root):                    # another right answer: plt.imread scales PNGs itself
        files = sorted(glob.glob(os.path.join(root, "*", "*.png")))
        names = sorted({os.path.basename(os.path.dirname(f)) for f in files})
        images = np.stack([plt.imread(f) for f in files]).astype(np.float32)
        return images, np.array([names.index(os.path.basename(os.path.dirname(f))) for f in files]), names
    assert day05.q5.evaluate(with_glob_and_imread).correct

    def with_pathlib(root):                            # pathlib, sorted, examples in another order
        from pathlib import Path

        from PIL import Image
        names = sorted(p.name for p in Path(root).iterdir() if p.is_dir())
        pairs = [(np.array(Image.open(f), dtype=np.float32) / 255, k)
                 for k, name in enumerate(names) for f in (Path(root) / name).glob("*.png")]
        return np.stack([im for im, _ in pairs[::-1]]), np.array([k for _, k in pairs[::-1]]), tuple(names)
    assert day05.q5.evaluate(with_pathlib).correct
    assert day05.q5.evaluate(_with(lambda im, lab, c: (im, lab.astype(np.int32), np.array(c)))).correct


def test_load_image_folder_printed_solution_and_starter():
    from exercise_helpers import defined, starter_code

    assert day05.q5.evaluate(defined(day05.q5.solution_code, "load_image_folder")).correct
    starter = defined(starter_code("05_mnist_dense_network.ipynb", "load_image_folder"), "load_image_folder")
    assert day05.q5.evaluate(starter).status == "not_attempted"


def test_load_image_folder_mistakes():
    m = _msg(day05.q5, _loader(sort=False))           # class order from os.listdir
    assert "order in which the folders were listed" in m and "Sort the names" in m
    m = _msg(day05.q5, _with(lambda im, lab, c: (im, np.array([c[k] for k in lab]), c)))
    assert "labels are text" in m and "'bird'" in m and "np.str_" not in m
    assert "not scaled" in _msg(day05.q5, _loader(scale=1.0))
    assert "still uint8" in _msg(day05.q5, _with(lambda im, lab, c: ((im * 255).round().astype(np.uint8), lab, c)))
    assert "np.stack" in _msg(day05.q5, _loader(stack=False))
    assert "README.txt" in _msg(day05.q5, _loader(skip_files=False))
    assert "start at 1" in _msg(day05.q5, _loader(start=1))
    m = _msg(day05.q5, _loader(dtype=np.float64))
    assert "dtype is float64" in m and "float32" in m


def test_load_image_folder_more_mistakes():
    im_max = _with(lambda im, lab, c: ((im / im.max(axis=(1, 2), keepdims=True)).astype(np.float32), lab, c))
    assert "its own brightest pixel" in _msg(day05.q5, im_max)
    batch_max = _with(lambda im, lab, c: ((im / im.max()).astype(np.float32), lab, c))
    assert "not by `images.max()`" in _msg(day05.q5, batch_max)
    assert "twice" in _msg(day05.q5, _with(lambda im, lab, c: ((im / 255).astype(np.float32), lab, c)))
    assert "colour axis" in _msg(day05.q5, _with(lambda im, lab, c: (np.repeat(im[..., None], 3, -1), lab, c)))
    assert "flattened" in _msg(day05.q5, _with(lambda im, lab, c: (im.reshape(len(im), -1), lab, c)))
    assert "dtype float64" in _msg(day05.q5, _with(lambda im, lab, c: (im, lab.astype(float), c)))
    assert "three things" in _msg(day05.q5, _with(lambda im, lab, c: (im, lab)))

    def int_of_name(root):
        images, labels, names = day05.q5.reference()(root)
        return images, np.array([int(names[k]) for k in labels]), names
    assert "not `int(name)`" in _msg(day05.q5, int_of_name)

    def listing_labels(root):                          # sorted names, but labels in listing order
        import os
        images, labels, names = day05.q5.reference()(root)
        listed = [d for d in os.listdir(root) if d in names]
        return images, np.array([listed.index(names[k]) for k in labels]), names
    assert "numbered in the order the folders were listed" in _msg(day05.q5, listing_labels)

    from pathlib import Path
    def paths(root):
        images, labels, names = day05.q5.reference()(root)
        return images, labels, [Path(root) / n for n in names]
    m = _msg(day05.q5, paths)
    assert "Path objects" in m


def test_load_image_folder_leaves_no_trace(tmp_path, monkeypatch):
    import glob
    import os
    import tempfile

    # a private temporary folder: in a parallel run, notebook 05's check may make its own next door
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    before = set(glob.glob(os.path.join(tempfile.gettempdir(), "mlcourse_day05_*")))
    listdir, scandir, state = os.listdir, os.scandir, np.random.get_state()[1].copy()
    assert _msg(day05.q5, _loader(sort=False))
    day05.q5.evaluate(_loader())
    assert os.listdir is listdir and os.scandir is scandir       # the reversed listings are undone
    assert set(glob.glob(os.path.join(tempfile.gettempdir(), "mlcourse_day05_*"))) == before
    assert np.array_equal(np.random.get_state()[1], state)


def test_load_image_folder_review_mistakes_and_side_effects():
    """Found in review: `os.listdir(path=...)` must work under the reversed listing, `.sort()` returning
    None, a resize, PIL's (width, height) used as a shape, and an `os.chdir` into a folder the check deletes."""
    import os

    from PIL import Image

    q = day05.q5
    ref = q.reference()

    def keyword_listdir(root):                          # right, with keyword arguments
        names = sorted(d for d in os.listdir(path=root) if os.path.isdir(os.path.join(root, d)))
        images, labels, _ = ref(root)
        with os.scandir(path=root) as entries:
            assert sorted(e.name for e in entries if e.is_dir()) == names
        return images, labels, names
    res = q.evaluate(keyword_listdir)
    assert res.correct, res.message

    def sort_in_place(root):
        names = [d for d in os.listdir(root) if os.path.isdir(os.path.join(root, d))].sort()
        return [name for name in names]
    m = _msg(q, sort_in_place)
    assert "returns None" in m and "sorted(" in m

    def resized(root):
        images, labels, names = ref(root)
        return np.zeros((len(images), 28, 28), np.float32), labels, names
    m = _msg(q, resized)
    assert "keep each file's own size" in m and "image_size" in m

    def size_as_shape(root):
        images, labels, names = ref(root)
        out = []
        for k, name in enumerate(names):
            for f in sorted(os.listdir(os.path.join(root, name))):
                img = Image.open(os.path.join(root, name, f))
                out.append(np.asarray(img, dtype=np.float32).reshape(img.size) / 255)
        return np.stack(out), labels, names
    m = _msg(q, size_as_shape)
    assert "height and width are swapped" in m and "(width, height)" in m

    cwd = os.getcwd()

    def changes_directory(root):                        # right answer, but leaves the kernel in root
        os.chdir(root)
        return ref(".")[0], ref(".")[1], ref(".")[2]
    res = q.evaluate(changes_directory)
    assert res.correct and "os.chdir" in res.message
    assert os.getcwd() == cwd
