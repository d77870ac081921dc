import numpy as np
import pytest

from mlcourse import generators as g


def test_noisy_line_shapes_and_seed():
    x, y = g.noisy_line(n=100, slope=2, intercept=-1, noise=0.0, seed=1)
    assert x.shape == y.shape == (100,) and x.dtype == np.float64
    np.testing.assert_allclose(y, 2 * x - 1)
    a, b = g.noisy_line(seed=3), g.noisy_line(seed=3)
    np.testing.assert_array_equal(a[1], b[1])
    with pytest.raises(ValueError, match="at least 2"):
        g.noisy_line(n=1)


def test_spirals():
    X, y = g.spirals(n=50, classes=3, seed=0)
    assert X.shape == (150, 2) and y.shape == (150,) and y.dtype == np.int64
    assert np.bincount(y).tolist() == [50, 50, 50]
    assert np.abs(X).max() < 2


def test_xor():
    X, y = g.xor()
    assert X.tolist() == [[0, 0], [0, 1], [1, 0], [1, 1]] and y.tolist() == [0, 1, 1, 0]
    X, y = g.xor(n=40, noise=0.1)
    assert X.shape == (40, 2) and np.bincount(y).tolist() == [20, 20]


def test_shapes_segmentation():
    X, M = g.shapes_segmentation(n=40, size=32, seed=3)
    assert X.shape == M.shape == (40, 32, 32)
    assert X.dtype == np.float32 and M.dtype == np.int64
    assert 0.0 <= X.min() and X.max() <= 1.0
    assert set(np.unique(M)) <= {0, 1, 2, 3} and len(g.SHAPE_CLASSES) == 4
    assert all((m > 0).any() for m in M)                      # at least one shape per image
    assert set(np.unique(M)) == {0, 1, 2, 3}                  # every kind appears in 40 images
    X2, M2 = g.shapes_segmentation(n=40, size=32, seed=3)
    np.testing.assert_array_equal(X, X2)
    np.testing.assert_array_equal(M, M2)
    with pytest.raises(ValueError):
        g.shapes_segmentation(n=0)


def test_shapes_segmentation_masks_are_exact():
    """Without noise, each shape differs clearly from the background just around it."""
    from scipy import ndimage

    X, M = g.shapes_segmentation(n=20, size=32, noise=0.0, seed=4)
    for img, m in zip(X, M):
        parts, count = ndimage.label(m > 0)
        assert count >= 1
        for k in range(1, count + 1):
            shape = parts == k
            ring = ndimage.binary_dilation(shape, iterations=2) & (m == 0)
            assert len(np.unique(m[shape])) == 1                 # one class per shape
            # shapes are 0.25-0.35 brighter or darker than the mean level; texture is at most +-0.14
            assert abs(np.median(img[shape]) - np.median(img[ring])) > 0.1


def test_dates_translation_pairs():
    import datetime as dt

    src, tgt = g.dates(n=3000, seed=5)
    assert len(src) == len(tgt) == 3000 and len(set(src)) == 3000           # unique sources
    assert all(len(t) == 10 and dt.date.fromisoformat(t) for t in tgt)
    assert 10 <= min(map(len, src)) and max(map(len, src)) <= 29
    assert g.dates(n=50, seed=5) == g.dates(n=50, seed=5) != g.dates(n=50, seed=6)
    # every format writes the same day; the year always appears in the source
    day = dt.date(1979, 5, 3)
    written = {f(day.day, day.month, day.year, day.weekday()) for f in g.DATE_FORMATS.values()}
    assert written == set(g.DATE_FORMATS)          # the keys are the formats applied to 3 May 1979
    assert all(s.count(t[:4]) >= 1 for s, t in zip(src, tgt))
    with pytest.raises(ValueError, match="unknown date format"):
        g.dates(n=5, formats=["yesterday"])


def test_char_vocab_round_trip():
    v = g.date_vocab()
    assert len(v) == 70 and v.itos[:3] == ["<pad>", "<bos>", "<eos>"]
    src, tgt = g.dates(n=100, seed=1)
    ids = v.encode(src)
    assert ids.dtype == np.int64 and ids.shape == (100, max(map(len, src)))
    assert v.decode(ids) == src
    t = v.encode(tgt, bos=True, eos=True)
    assert t.shape == (100, 12) and (t[:, 0] == v.BOS).all() and (t[:, -1] == v.EOS).all()
    assert v.decode(t) == tgt
    assert v.encode(["ab"], length=4).tolist() == [[v.stoi["a"], v.stoi["b"], 0, 0]]
    with pytest.raises(ValueError, match="not in the vocabulary"):
        v.encode(["é"])


def test_long_gap_recall():
    X, y = g.long_gap_recall(n=500, gap=30, n_symbols=6, n_noise=4, seed=2)
    assert X.shape == (500, 31) and y.shape == (500,) and X.dtype == y.dtype == np.int64
    np.testing.assert_array_equal(y, X[:, 0] - 1)
    assert set(np.unique(y)) == set(range(6))
    assert X[:, 1:].min() == 7 and X[:, 1:].max() == 10          # distractors never repeat a symbol
    np.testing.assert_array_equal(X, g.long_gap_recall(n=500, gap=30, n_symbols=6, n_noise=4, seed=2)[0])


def test_brush_painting_is_a_seeded_colour_texture():
    from mlcourse.generators import brush_painting

    img = brush_painting(64, strokes=400, seed=3)
    assert img.shape == (64, 64, 3) and img.dtype == np.float32
    assert 0.0 <= img.min() and img.max() <= 1.0
    assert np.array_equal(img, brush_painting(64, strokes=400, seed=3))
    assert not np.array_equal(img, brush_painting(64, strokes=400, seed=4))
    # strokes cover the background, in several colours
    background = np.all(np.abs(img - np.array([0.08, 0.12, 0.30])) < 1e-6, axis=-1)
    assert background.mean() < 0.2
    assert len(np.unique(img.reshape(-1, 3).round(1), axis=0)) > 20
    with pytest.raises(ValueError, match="size >= 8"):
        brush_painting(4)


def test_instrument_notes_shapes_classes_and_seed():
    x, y = g.instrument_notes(n_per_class=3, sample_rate=8000, seconds=0.25, seed=0)
    assert x.shape == (15, 2000) and x.dtype == np.float32 and y.dtype == np.int64
    assert list(np.bincount(y)) == [3] * 5 and len(g.INSTRUMENT_NAMES) == 5
    peaks = np.abs(x).max(1)
    assert (peaks >= 0.5 - 1e-6).all() and (peaks <= 0.9 + 1e-6).all()
    assert np.abs(x[:, -1]).max() < 1e-6                          # faded out: no click at the end
    np.testing.assert_array_equal(x, g.instrument_notes(3, 8000, 0.25, seed=0)[0])
    assert not np.allclose(x, g.instrument_notes(3, 8000, 0.25, seed=1)[0])


def test_instrument_notes_sound_at_their_pitch():
    x, y = g.instrument_notes(n_per_class=12, sample_rate=8000, seconds=0.5, seed=0)
    spectrum = np.abs(np.fft.rfft(x * np.hanning(x.shape[1]), axis=1))
    freqs = np.fft.rfftfreq(x.shape[1], 1 / 8000)
    partials = [(1, 2, 3), (1, 3, 5, 7, 9), (1, 2, 3, 4, 5, 6), (1, 2.76, 5.4), range(1, 20)]
    for c, f0 in enumerate([523.25, 293.66, 392.0, 659.26, 146.83]):
        peak = freqs[spectrum[y == c].argmax(1)] / f0          # the loudest frequency, in multiples of f0
        on_a_partial = np.min([abs(peak / p - 1) for p in partials[c]], axis=0) < 0.08
        assert on_a_partial.all(), (g.INSTRUMENT_NAMES[c], peak)                     # always one of its partials,
        assert (abs(peak - 1) < 0.08).mean() >= 0.75, (g.INSTRUMENT_NAMES[c], peak)  # mostly the fundamental
    with pytest.raises(ValueError, match="n_per_class >= 1"):
        g.instrument_notes(0)


def test_instrument_notes_leave_out_what_would_alias():
    x, y = g.instrument_notes(n_per_class=6, sample_rate=2000, seconds=0.5, seed=0)   # the lowest rate allowed
    assert np.isfinite(x).all() and (np.abs(x).max(1) >= 0.5 - 1e-6).all()             # every note keeps a partial
    spectrum = np.abs(np.fft.rfft(x * np.hanning(x.shape[1]), axis=1))
    freqs = np.fft.rfftfreq(x.shape[1], 1 / 2000)
    clarinet = spectrum[y == 1].mean(0)                       # 294 Hz and 881 Hz fit below 950 Hz; 1468 Hz would alias
    alias = (freqs > 2000 - 5 * 293.66 * 1.1) & (freqs < 2000 - 5 * 293.66 * 0.9)      # to 532 Hz, near the flute's pitch
    assert clarinet[alias].max() < 0.01 * clarinet.max()
    with pytest.raises(ValueError, match="sample_rate >= 2000"):
        g.instrument_notes(2, sample_rate=1999)
