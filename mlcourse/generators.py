"""The course's own small datasets, generated with a seed (no download, same everywhere)."""

from __future__ import annotations

import numpy as np


def noisy_line(
    n: int = 100,
    slope: float = 2.0,
    intercept: float = -1.0,
    noise: float = 1.0,
    x_range: tuple[float, float] = (-3.0, 3.0),
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Points scattered around the line ``y = slope * x + intercept``.

    Returns:
        ``x`` of shape ``(n,)`` float64, uniform in ``x_range``, and ``y`` of shape ``(n,)``
        float64 with Gaussian noise of standard deviation ``noise``.
    """
    if n < 2:
        raise ValueError(f"noisy_line needs at least 2 points, got n={n}")
    rng = np.random.default_rng(seed)
    x = rng.uniform(*x_range, size=n)
    y = slope * x + intercept + rng.normal(0.0, noise, size=n)
    return x, y


def spirals(
    n: int = 300, classes: int = 3, noise: float = 0.2, turns: float = 1.0, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Interleaved spiral arms, one per class (the CS231n classic).

    Returns:
        ``X`` of shape ``(n * classes, 2)`` float64 and ``y`` of shape ``(n * classes,)`` int64.
    """
    rng = np.random.default_rng(seed)
    xs, ys = [], []
    for k in range(classes):
        r = np.linspace(0.05, 1.0, n)
        t = np.linspace(k * 2 * np.pi / classes, k * 2 * np.pi / classes + turns * 2 * np.pi, n)
        t = t + rng.normal(0.0, noise, n)
        xs.append(np.c_[r * np.sin(t), r * np.cos(t)])
        ys.append(np.full(n, k, dtype=np.int64))
    return np.concatenate(xs), np.concatenate(ys)


def xor(n: int = 4, noise: float = 0.0, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The XOR problem: ``X`` of shape ``(n, 2)`` float64 near the four corners, ``y`` int64.

    With ``n=4`` and ``noise=0`` you get exactly the four points (0,0), (0,1), (1,0), (1,1).
    """
    rng = np.random.default_rng(seed)
    corners = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float64)
    idx = np.arange(n) % 4
    X = corners[idx] + rng.normal(0.0, noise, size=(n, 2)) if noise else corners[idx]
    y = (corners[idx, 0] != corners[idx, 1]).astype(np.int64)
    return X, y


# --- Day 10: sequences -------------------------------------------------------------------

_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December")
_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def _ordinal(day: int) -> str:
    suffix = "th" if 11 <= day <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
    return f"{day}{suffix}"


# Each format turns (day, month, year, weekday) into a string; none is ambiguous
# (US "MM/DD/YYYY" uses slashes, European "DD.MM.YYYY" dots, year-first "YYYY/MM/DD").
DATE_FORMATS: dict[str, object] = {
    "3 May 1979": lambda d, m, y, w: f"{d} {_MONTHS[m - 1]} {y}",
    "03 May 1979": lambda d, m, y, w: f"{d:02d} {_MONTHS[m - 1][:3]} {y}",
    "May 3, 1979": lambda d, m, y, w: f"{_MONTHS[m - 1]} {d}, {y}",
    "May 3 1979": lambda d, m, y, w: f"{_MONTHS[m - 1][:3]} {d} {y}",
    "Thursday, May 3, 1979": lambda d, m, y, w: f"{_WEEKDAYS[w]}, {_MONTHS[m - 1]} {d}, {y}",
    "Thu 3 May 1979": lambda d, m, y, w: f"{_WEEKDAYS[w][:3]} {d} {_MONTHS[m - 1][:3]} {y}",
    "3rd of May 1979": lambda d, m, y, w: f"{_ordinal(d)} of {_MONTHS[m - 1]} {y}",
    "May 3rd, 1979": lambda d, m, y, w: f"{_MONTHS[m - 1]} {_ordinal(d)}, {y}",
    "05/03/1979": lambda d, m, y, w: f"{m:02d}/{d:02d}/{y}",
    "03.05.1979": lambda d, m, y, w: f"{d:02d}.{m:02d}.{y}",
    "3-May-1979": lambda d, m, y, w: f"{d}-{_MONTHS[m - 1][:3]}-{y}",
    "MAY 3 1979": lambda d, m, y, w: f"{_MONTHS[m - 1].upper()} {d} {y}",
    "1979/05/03": lambda d, m, y, w: f"{y}/{m:02d}/{d:02d}",
    "3 may 1979": lambda d, m, y, w: f"{d} {_MONTHS[m - 1].lower()} {y}",
}


class CharVocab:
    """A character vocabulary with three special tokens: ``<pad>`` = 0, ``<bos>`` = 1, ``<eos>`` = 2.

    Attributes:
        itos: list of the tokens; ``itos[i]`` is the string of id ``i``.
        stoi: dict from token string to id.
    """

    PAD, BOS, EOS = 0, 1, 2
    SPECIALS = ("<pad>", "<bos>", "<eos>")

    def __init__(self, chars: str) -> None:
        if len(set(chars)) != len(chars):
            raise ValueError("CharVocab: the characters must be distinct")
        self.itos: list[str] = [*self.SPECIALS, *chars]
        self.stoi: dict[str, int] = {s: i for i, s in enumerate(self.itos)}

    def __len__(self) -> int:
        return len(self.itos)

    def __repr__(self) -> str:
        return f"CharVocab({len(self)} tokens: 3 specials + {''.join(self.itos[3:])!r})"

    def encode(self, texts: "list[str] | str", *, length: int | None = None, bos: bool = False,
               eos: bool = False) -> np.ndarray:
        """Turn strings into ids, right-padded with ``<pad>`` (0).

        Args:
            texts: a list of N strings (or one string, treated as a list of one).
            length: pad to this many tokens (default: the longest, with bos/eos counted).
            bos, eos: put ``<bos>`` before / ``<eos>`` after every string.

        Returns:
            ``(N, length)`` int64 array.
        """
        if isinstance(texts, str):
            texts = [texts]
        rows = []
        for t in texts:
            try:
                ids = [self.stoi[c] for c in t]
            except KeyError as err:
                raise ValueError(f"character {err.args[0]!r} of {t!r} is not in the vocabulary") from None
            rows.append([self.BOS] * bos + ids + [self.EOS] * eos)
        width = max((len(r) for r in rows), default=0) if length is None else length
        out = np.full((len(rows), width), self.PAD, dtype=np.int64)
        for i, r in enumerate(rows):
            if len(r) > width:
                raise ValueError(f"text {texts[i]!r} needs {len(r)} tokens, more than length={width}")
            out[i, : len(r)] = r
        return out

    def decode(self, ids: "np.ndarray | list") -> list[str]:
        """Turn an ``(N, L)`` array of ids back into N strings.

        ``<bos>`` and ``<pad>`` are skipped and each row stops at its first ``<eos>``.
        """
        arr = np.asarray(ids)
        if arr.ndim == 1:
            arr = arr[None, :]
        out = []
        for row in arr.tolist():
            chars = []
            for i in row:
                if i == self.EOS:
                    break
                if i not in (self.PAD, self.BOS):
                    chars.append(self.itos[i])
            out.append("".join(chars))
        return out


def date_vocab() -> CharVocab:
    """The fixed character vocabulary of :func:`dates` (the same for every seed): 3 + 67 tokens."""
    import string

    return CharVocab(string.digits + string.ascii_letters + " ,./-")


def dates(
    n: int = 10_000,
    *,
    seed: int = 0,
    years: tuple[int, int] = (1900, 2099),
    formats: "list[str] | None" = None,
    unique: bool = True,
) -> tuple[list[str], list[str]]:
    """Random dates written as people write them, with their ISO 8601 translation.

    A toy translation task (Day 10): ``"Thursday, May 3, 1979"`` -> ``"1979-05-03"``. Dates are
    uniform over the calendar days of ``years`` (inclusive); each gets a format drawn uniformly
    from :data:`DATE_FORMATS` (or from the names in ``formats``).

    Args:
        n: number of examples.
        seed: random seed (same seed, same examples).
        years: first and last year.
        formats: names (keys of :data:`DATE_FORMATS`) to draw from; default all of them.
        unique: no source string appears twice (so a train/test split of the result shares no
            example). Needs ``n`` well below the number of (date, format) pairs.

    Returns:
        ``sources``: list of ``n`` str (10 to 29 characters); ``targets``: list of ``n`` str of
        10 characters, ``"YYYY-MM-DD"``. Encode both with :func:`date_vocab`.
    """
    import datetime as dt

    names = list(DATE_FORMATS) if formats is None else list(formats)
    for name in names:
        if name not in DATE_FORMATS:
            raise ValueError(f"unknown date format {name!r}: choose from {list(DATE_FORMATS)}")
    first, last = dt.date(years[0], 1, 1), dt.date(years[1], 12, 31)
    span = (last - first).days + 1
    if unique and n > span * len(names) // 2:
        raise ValueError(f"dates: n={n} unique examples is too many for {span} days x {len(names)} formats")
    rng = np.random.default_rng(seed)
    sources: list[str] = []
    targets: list[str] = []
    seen: set[str] = set()
    while len(sources) < n:
        k = n - len(sources)
        offsets = rng.integers(0, span, size=k)
        fmts = rng.integers(0, len(names), size=k)
        for off, f in zip(offsets.tolist(), fmts.tolist()):
            day = first + dt.timedelta(days=off)
            src = DATE_FORMATS[names[f]](day.day, day.month, day.year, day.weekday())  # type: ignore[operator]
            if unique and src in seen:
                continue
            seen.add(src)
            sources.append(src)
            targets.append(day.isoformat())
    return sources, targets


def long_gap_recall(
    n: int = 1000, gap: int = 50, *, n_symbols: int = 8, n_noise: int = 8, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """A memory task: read a symbol, then ``gap`` distractors, then name the first symbol.

    Token 0 is never used (free for padding); tokens ``1 .. n_symbols`` are the symbols to
    remember and ``n_symbols + 1 .. n_symbols + n_noise`` the distractors. A model that reads
    the sequence left to right must carry the first token across ``gap`` steps: easy for an
    LSTM or GRU, hard for a plain RNN once the gap is long (vanishing gradients).

    Returns:
        ``X``: ``(n, gap + 1)`` int64 tokens; ``y``: ``(n,)`` int64 class ``X[:, 0] - 1`` in
        ``0 .. n_symbols - 1``. The vocabulary size is ``1 + n_symbols + n_noise``.
    """
    if gap < 0 or n_symbols < 2 or n_noise < 1:
        raise ValueError("long_gap_recall needs gap >= 0, n_symbols >= 2 and n_noise >= 1")
    rng = np.random.default_rng(seed)
    first = rng.integers(1, n_symbols + 1, size=(n, 1))
    noise = rng.integers(n_symbols + 1, n_symbols + n_noise + 1, size=(n, gap))
    X = np.concatenate([first, noise], axis=1).astype(np.int64)
    return X, (first[:, 0] - 1).astype(np.int64)


SHAPE_CLASSES: tuple[str, ...] = ("background", "circle", "square", "triangle")


def _shape_mask(kind: str, yy: np.ndarray, xx: np.ndarray, cy: float, cx: float, r: float,
                angle: float) -> np.ndarray:
    """Boolean mask of the pixels whose centres lie inside one shape."""
    dy, dx = yy - cy, xx - cx
    if kind == "circle":
        return dy ** 2 + dx ** 2 <= r ** 2
    c, s = np.cos(angle), np.sin(angle)
    u, v = c * dx + s * dy, -s * dx + c * dy                 # rotated coordinates
    if kind == "square":                                      # half-side 0.8 r: area close to the circle's
        return (np.abs(u) <= 0.8 * r) & (np.abs(v) <= 0.8 * r)
    if kind == "triangle":                                    # equilateral, circumradius 1.2 r
        inside = np.ones_like(u, dtype=bool)
        for k in range(3):
            a = 2 * np.pi * k / 3
            inside &= np.cos(a) * u + np.sin(a) * v <= 0.6 * r
        return inside
    raise ValueError(f"unknown shape kind {kind!r}")


def shapes_segmentation(
    n: int = 1000,
    size: int = 32,
    max_shapes: int = 3,
    noise: float = 0.05,
    radius: tuple[float, float] = (0.16, 0.26),
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Grey images of circles, squares and triangles on noisy textured backgrounds, with exact masks.

    Each image has a background of random brightness with a random texture (a sum of two
    sinusoidal gratings of random frequency and orientation) and 1 to ``max_shapes``
    non-overlapping shapes (at least one pixel apart) of random kind, size (a radius drawn
    from ``radius``, as fractions of ``size``), position, rotation and brightness (lighter or darker than the background), then Gaussian pixel
    noise of standard deviation ``noise``. A pixel belongs to a shape when its centre lies
    inside it; the image is drawn from exactly that mask, so the masks are exact.

    Returns:
        ``images`` of shape ``(n, size, size)`` float32 in [0, 1], and ``masks`` of shape
        ``(n, size, size)`` int64 with the class of every pixel: 0 background, 1 circle,
        2 square, 3 triangle (names in ``SHAPE_CLASSES``).
    """
    if n < 1 or size < 16 or max_shapes < 1:
        raise ValueError(f"need n >= 1, size >= 16 and max_shapes >= 1, got {n}, {size}, {max_shapes}")
    rng = np.random.default_rng(seed)
    kinds = SHAPE_CLASSES[1:]
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float64) + 0.5
    images = np.empty((n, size, size), dtype=np.float32)
    masks = np.zeros((n, size, size), dtype=np.int64)
    for i in range(n):
        level = rng.uniform(0.3, 0.7)
        img = np.full((size, size), level)
        for _ in range(2):                                    # texture: two random gratings
            f = rng.uniform(1.0, 5.0) * 2 * np.pi / size
            th = rng.uniform(0, np.pi)
            img += rng.uniform(0.02, 0.07) * np.sin(f * (np.cos(th) * xx + np.sin(th) * yy)
                                                   + rng.uniform(0, 2 * np.pi))
        taken = np.zeros((size, size), dtype=bool)
        for _ in range(rng.integers(1, max_shapes + 1)):
            for _attempt in range(30):
                k = int(rng.integers(len(kinds)))
                r = rng.uniform(*radius) * size
                cy, cx = rng.uniform(r, size - r, size=2)
                m = _shape_mask(kinds[k], yy, xx, cy, cx, r, rng.uniform(0, 2 * np.pi))
                grown = m | np.roll(m, 1, 0) | np.roll(m, -1, 0) | np.roll(m, 1, 1) | np.roll(m, -1, 1)
                if m.sum() >= 9 and not (grown & taken).any():
                    break
            else:
                continue                                      # no free place found: fewer shapes
            taken |= m
            masks[i][m] = k + 1
            sign = 1.0 if level < 0.35 else -1.0 if level > 0.65 else rng.choice([-1.0, 1.0])
            img[m] = level + sign * rng.uniform(0.25, 0.35) + 0.05 * np.sin(0.9 * (xx[m] + yy[m]))
        img += rng.normal(0.0, noise, size=(size, size))
        images[i] = np.clip(img, 0.0, 1.0)
    return images, masks


_NIGHT_PALETTE = np.array([(0.09, 0.18, 0.45), (0.15, 0.30, 0.65), (0.30, 0.50, 0.80), (0.95, 0.85, 0.35),
                           (0.98, 0.95, 0.70), (0.10, 0.25, 0.20), (0.85, 0.60, 0.20)])
_NIGHT_WEIGHTS = np.array([0.25, 0.25, 0.20, 0.10, 0.05, 0.10, 0.05])


def brush_painting(size: int = 128, strokes: int = 2500, swirls: int = 5, seed: int = 0) -> np.ndarray:
    """A procedurally painted picture: short brush strokes that follow a swirling flow field.

    Each stroke is a chain of round dabs of one colour (blues, yellows and a dark green, with a
    little jitter) laid down along a flow made of ``swirls`` vortices on a gentle drift, each dab
    70 % opaque. It stands in for a painting as the *style* image of neural style transfer:
    strong, oriented, multi-scale texture, with no copyright and no download.

    Returns:
        ``(size, size, 3)`` float32 RGB in [0, 1].
    """
    if size < 8 or strokes < 1 or swirls < 0:
        raise ValueError(f"brush_painting needs size >= 8, strokes >= 1 and swirls >= 0; "
                         f"got size={size}, strokes={strokes}, swirls={swirls}")
    rng = np.random.default_rng(seed)
    img = np.empty((size, size, 3))
    img[:] = (0.08, 0.12, 0.30)
    centers, spins = rng.uniform(0.1, 0.9, (swirls, 2)), rng.choice([-1.0, 1.0], swirls)

    starts = rng.uniform(0, 1, (strokes, 2))                      # (y, x) in [0, 1]
    colours = _NIGHT_PALETTE[rng.choice(len(_NIGHT_PALETTE), strokes, p=_NIGHT_WEIGHTS)] + rng.normal(0, 0.04, (strokes, 3))
    radii, lengths = rng.uniform(1.0, 2.2, strokes), rng.integers(6, 16, strokes)   # pixels, dabs
    path = [starts]                                               # every stroke's dabs, all strokes at once
    for _ in range(lengths.max() - 1):
        d = path[-1][:, None] - centers                           # (strokes, swirls, 2)
        r2 = (d ** 2).sum(-1, keepdims=True) + 0.01
        v = np.array([0.3, 0.05]) + (spins[:, None] * np.stack([-d[..., 1], d[..., 0]], -1) / r2 * 0.05).sum(1)
        path.append(path[-1] + v / (np.linalg.norm(v, axis=1, keepdims=True) + 1e-8) * 1.5 / size)
    path = np.stack(path, 1) * size                               # (strokes, dabs, 2) in pixels
    for i in range(strokes):                                      # painted one stroke after another
        for cy, cx in path[i, :lengths[i]]:
            r = radii[i]
            y0, y1 = max(0, int(cy - r)), min(size, int(cy + r) + 2)
            x0, x1 = max(0, int(cx - r)), min(size, int(cx + r) + 2)
            if y0 < y1 and x0 < x1:
                yy, xx = np.ogrid[y0:y1, x0:x1]
                dab = (yy - cy) ** 2 + (xx - cx) ** 2 < r ** 2
                patch = img[y0:y1, x0:x1]
                patch[dab] = 0.3 * patch[dab] + 0.7 * colours[i]
    return np.clip(img, 0, 1).astype(np.float32)


# name, fundamental (Hz), partials (multiples of it), their amplitudes, attack (s), decay rate (1/s)
_INSTRUMENTS = (
    ("flute", 523.25, (1, 2, 3), (1.0, 0.15, 0.05), 0.05, 1.0),
    ("clarinet", 293.66, (1, 3, 5, 7, 9), (1.0, 0.5, 0.3, 0.2, 0.1), 0.03, 1.5),
    ("plucked string", 392.0, (1, 2, 3, 4, 5, 6), (1.0, 0.5, 0.33, 0.25, 0.2, 0.17), 0.003, 7.0),
    ("bell", 659.26, (1, 2.76, 5.4), (1.0, 0.6, 0.3), 0.002, 5.0),
    ("bass", 146.83, tuple(range(1, 20)), tuple(1 / k for k in range(1, 20)), 0.02, 2.0),
)
INSTRUMENT_NAMES = tuple(spec[0] for spec in _INSTRUMENTS)


def instrument_notes(n_per_class: int = 200, sample_rate: int = 8000, seconds: float = 0.5,
                     seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Short notes of five synthetic instruments: the sound dataset of Day 11.

    Every clip is one note: a sum of sine partials (a flute's few harmonics, a clarinet's odd ones,
    a plucked string's and a bass's full series, a bell's inharmonic 1 : 2.76 : 5.4) under an
    envelope (an attack, an exponential decay and a 20 ms fade-out). Each clip varies at random:
    pitch by about 2 % (a third of a semitone), every partial's loudness by about 20 %, its phase,
    and the peak level in [0.5, 0.9]. Partials at or above 95 % of the Nyquist frequency are left out.
    The names of the classes are :data:`INSTRUMENT_NAMES`.

    Returns:
        ``clips`` ``(5 * n_per_class, round(sample_rate * seconds))`` float32 in [-1, 1], and
        ``labels`` ``(5 * n_per_class,)`` int64, class by class.
    """
    n = round(sample_rate * seconds)
    if n_per_class < 1 or sample_rate < 2000 or n < 2 * 0.02 * sample_rate:   # 2 kHz: every fundamental fits
        raise ValueError(f"instrument_notes needs n_per_class >= 1, sample_rate >= 2000 and seconds >= 0.04; "
                         f"got n_per_class={n_per_class}, sample_rate={sample_rate}, seconds={seconds}")
    rng = np.random.default_rng(seed)
    t = np.arange(n) / sample_rate
    clips = np.zeros((len(_INSTRUMENTS), n_per_class, n))
    for c, (_, f0, partials, amps, attack, decay) in enumerate(_INSTRUMENTS):
        envelope = np.minimum(t / attack, 1) * np.exp(-decay * t) * np.minimum((t[-1] - t) / 0.02, 1)   # ends at 0
        for k in range(n_per_class):
            f = f0 * np.exp(rng.normal(0, 0.02))
            for p, a in zip(partials, amps):
                gain, phase = a * np.exp(rng.normal(0, 0.2)), rng.uniform(0, 2 * np.pi)
                if f * p < 0.95 * sample_rate / 2:
                    clips[c, k] += gain * np.sin(2 * np.pi * f * p * t + phase)
            clips[c, k] *= envelope
            clips[c, k] *= rng.uniform(0.5, 0.9) / np.abs(clips[c, k]).max()
    labels = np.repeat(np.arange(len(_INSTRUMENTS)), n_per_class)
    return clips.reshape(-1, n).astype(np.float32), labels.astype(np.int64)
