"""Plotting helpers: loss curves, image grids, decision regions, heatmaps, animations.

Every helper titles its figure and labels its axes; each takes an optional ``ax`` so that
figures can be combined. Matplotlib is the only dependency.
"""

from __future__ import annotations

import base64
import io

import os
from pathlib import Path
from typing import Callable, Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np


def _ax(ax, figsize=(6.4, 4.0)):
    if ax is None:
        _, ax = plt.subplots(figsize=figsize)
    return ax


def loss_curve(
    history: Mapping[str, Sequence[float]] | Sequence[float],
    *,
    title: str = "Training loss",
    xlabel: str = "epoch",
    ylabel: str = "loss",
    logy: bool = False,
    start: int = 1,
    ax=None,
):
    """Plot one curve per key of ``history`` (e.g. ``{"train": [...], "val": [...]}``).

    The first value is drawn at x = ``start`` (1 for epochs; 0 for "step 0 = before training").
    """
    ax = _ax(ax)
    curves = history if isinstance(history, Mapping) else {"loss": history}
    for name, values in curves.items():
        v = np.asarray(values, dtype=float)
        ax.plot(np.arange(start, start + len(v)), v, label=name, marker="o" if len(v) < 30 else None)
    if logy:
        ax.set_yscale("log")
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # epochs and steps are whole numbers
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    if len(curves) > 1:
        ax.legend()
    return ax


def image_grid(
    images: np.ndarray,
    labels: Sequence[object] | None = None,
    *,
    classes: Sequence[str] | None = None,
    ncols: int = 10,
    title: str = "Images",
    cmap: str = "gray",
    size: float = 1.1,
    symmetric: bool = False,
):
    """Show ``images`` (``(N, H, W)`` or ``(N, H, W, 3)``) in a grid, with optional labels.

    ``labels[i]`` may be a class index (named through ``classes``) or any string. With
    ``symmetric=True`` every image shares one colour range centred on 0, ``[-m, m]`` with ``m``
    the largest absolute value of all images, so that a diverging colormap (e.g. ``"RdBu_r"``)
    shows the sign: the same colour means the same value in every image.
    """
    images = np.asarray(images)
    if images.ndim not in (3, 4):
        raise ValueError(f"images must have shape (N, H, W) or (N, H, W, C), got {images.shape}")
    n = len(images)
    nrows = max(1, int(np.ceil(n / ncols)))
    ncols = min(ncols, n)
    row_h = size + (0.3 if labels is not None else 0.0)  # room for each image's title
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, row_h * nrows + 0.5),
                             squeeze=False)
    lim = (float(np.abs(images).max()) or 1.0) if symmetric else None
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i >= n:
            continue
        ax.imshow(images[i], cmap=cmap if images.ndim == 3 else None,
                  vmin=-lim if symmetric else None, vmax=lim if symmetric else None)
        if labels is not None:
            lab = labels[i]
            text = classes[int(lab)] if classes is not None else str(lab)
            ax.set_title(text, fontsize=8, fontweight="normal")
    fig.suptitle(title, fontweight="bold")
    fig.tight_layout()
    return fig


def decision_boundary(
    predict: Callable[[np.ndarray], np.ndarray],
    X: np.ndarray,
    y: np.ndarray,
    *,
    title: str = "Decision regions",
    xlabel: str = "$x_1$",
    ylabel: str = "$x_2$",
    resolution: int = 200,
    margin: float = 0.5,
    ax=None,
):
    """Colour the plane by ``predict`` and scatter the points ``X`` ``(N, 2)`` with labels ``y``.

    ``predict`` maps an ``(M, 2)`` array to ``(M,)`` class labels (or probabilities of
    class 1, which are thresholded at 0.5 for the boundary line).
    """
    X = np.asarray(X, dtype=float)
    if X.ndim != 2 or X.shape[1] != 2:
        raise ValueError(f"X must have shape (N, 2), got {X.shape}")
    ax = _ax(ax, figsize=(5.0, 4.2))
    (x0, y0), (x1, y1) = X.min(0) - margin, X.max(0) + margin
    gx, gy = np.meshgrid(np.linspace(x0, x1, resolution), np.linspace(y0, y1, resolution))
    grid = np.c_[gx.ravel(), gy.ravel()]
    z = np.asarray(predict(grid)).reshape(gx.shape)
    classes = np.unique(y)
    if np.issubdtype(z.dtype, np.floating) and z.min() >= 0 and z.max() <= 1 and len(classes) <= 2:
        ax.contourf(gx, gy, z, levels=np.linspace(0, 1, 11), cmap="RdBu_r", alpha=0.35)
        ax.contour(gx, gy, z, levels=[0.5], colors="k", linewidths=1.5)
    else:
        ax.contourf(gx, gy, z, levels=np.arange(len(classes) + 1) - 0.5, cmap="tab10",
                    alpha=0.3, vmin=0, vmax=9)
    cmap = "RdBu_r" if len(classes) <= 2 else "tab10"
    ax.scatter(X[:, 0], X[:, 1], c=y, cmap=cmap, s=14, edgecolors="k", linewidths=0.3,
               vmin=0, vmax=1 if len(classes) <= 2 else 9)
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel, xlim=(x0, x1), ylim=(y0, y1))
    return ax


def spectrograms(
    specs: np.ndarray,
    *,
    row_names: Sequence[str],
    col_names: Sequence[str],
    seconds: float,
    sample_rate: int,
    title: str = "Spectrograms",
    vmax: float | None = None,
):
    """Show log-power spectrograms ``specs`` ``(rows, cols, frequencies, frames)`` in a grid.

    Row ``r``, column ``c`` is titled ``"{row_names[r]}: {col_names[c]}"``; the x axis runs from 0
    to ``seconds``, the y axis from 0 Hz to the Nyquist frequency ``sample_rate / 2``. Every panel
    shares one colour range (0 to ``vmax``, by default the largest value), shown by one colour bar,
    so that the same colour is the same loudness everywhere.
    """
    specs = np.asarray(specs)
    if specs.ndim != 4 or specs.shape[:2] != (len(row_names), len(col_names)):
        raise ValueError(f"specs must have shape (rows, cols, frequencies, frames) = ({len(row_names)}, "
                         f"{len(col_names)}, F, T) for {len(row_names)} row and {len(col_names)} column names, "
                         f"got {specs.shape}")
    rows, cols = specs.shape[:2]
    vmax = float(specs.max()) if vmax is None else vmax
    fig, axs = plt.subplots(rows, cols, figsize=(2.8 * cols + 1, 2.6 * rows), sharex=True, sharey=True,
                            squeeze=False, constrained_layout=True)
    for r in range(rows):
        for c in range(cols):
            ax = axs[r, c]
            im = ax.imshow(specs[r, c], origin="lower", aspect="auto", cmap="magma", vmin=0, vmax=vmax,
                           extent=(0, seconds, 0, sample_rate / 2))
            ax.set_title(f"{row_names[r]}: {col_names[c]}")
            ax.grid(False)
        axs[r, 0].set_ylabel("frequency (Hz)")
    for ax in axs[-1]:
        ax.set_xlabel("time (s)")
    fig.colorbar(im, ax=axs, label="log(1 + power)")
    fig.suptitle(title)
    return fig


def heatmap(
    matrix: np.ndarray,
    *,
    xlabels: Sequence[str] | None = None,
    ylabels: Sequence[str] | None = None,
    title: str = "Heatmap",
    xlabel: str = "",
    ylabel: str = "",
    annotate: bool = False,
    fmt: str = "d",
    cmap: str = "viridis",
    ax=None,
):
    """Draw a matrix (a confusion matrix, attention weights, ...) with a colour bar."""
    m = np.asarray(matrix)
    ax = _ax(ax, figsize=(5.5, 4.5))
    im = ax.imshow(m, cmap=cmap, aspect="auto")
    ax.figure.colorbar(im, ax=ax)
    if xlabels is not None:
        ax.set_xticks(range(len(xlabels)), xlabels, rotation=45, ha="right")
    if ylabels is not None:
        ax.set_yticks(range(len(ylabels)), ylabels)
    if annotate:
        for i in range(m.shape[0]):
            for j in range(m.shape[1]):
                r, g, b, _ = im.cmap(im.norm(m[i, j]))
                dark = 0.299 * r + 0.587 * g + 0.114 * b < 0.5  # text readable on its cell
                ax.text(j, i, format(m[i, j], fmt), ha="center", va="center", fontsize=7,
                        color="white" if dark else "black")
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    ax.grid(False)
    return ax


def repo_root() -> Path | None:
    """The course repository's root (the folder with ``pyproject.toml`` and ``mlcourse/``)."""
    here = Path.cwd().resolve()
    for d in (here, *here.parents):
        if (d / "pyproject.toml").exists() and (d / "mlcourse").is_dir():
            return d
    return None


def res_path(name: str) -> Path | None:
    """Where to save a figure or animation: ``<repo>/res/<name>`` inside the course repository.

    Returns ``None`` outside it (a notebook opened alone, as on Colab): the animation is then
    only shown, and no ``res/`` folder is written next to the notebook.
    """
    root = repo_root()
    if root is None:
        return None
    path = root / "res" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def animate(
    fig,
    update: Callable[[int], object],
    frames: int,
    *,
    interval: int = 120,
    save_as: str | os.PathLike | None = None,
    html: bool = False,
    dpi: int = 72,
):
    """Turn ``update(i)`` for ``i in range(frames)`` into an animation shown inline.

    Args:
        fig: the figure that ``update`` redraws.
        update: called once per frame with the frame index.
        frames: number of frames.
        interval: milliseconds between frames.
        save_as: also save the GIF there (e.g. ``res_path("01_line.gif")``); skipped in
            the ``smoke`` profile, so test runs never overwrite the course's figures.
        html: return interactive JavaScript controls instead of a GIF (larger files;
            a GIF also shows on GitHub, where JavaScript does not run).
        dpi: resolution of the frames (keep it low: notebooks must stay small).

    Returns:
        An IPython display object: HTML with controls, or an :class:`Animation` (the GIF in an
        ``<img>``, with the last frame as a PNG for viewers that show no HTML).
    """
    from matplotlib.animation import FuncAnimation, PillowWriter
    from IPython.display import HTML

    anim = FuncAnimation(fig, update, frames=frames, interval=interval, blit=False)
    try:
        if html:
            return HTML(anim.to_jshtml(default_mode="once"))
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            gif = Path(tmp) / "anim.gif"
            anim.save(gif, writer=PillowWriter(fps=max(1, round(1000 / interval))), dpi=dpi)
            data = gif.read_bytes()
        from .profiles import active_profile

        if save_as is not None and active_profile() != "smoke":
            Path(save_as).parent.mkdir(parents=True, exist_ok=True)
            tmp_out = Path(str(save_as) + ".part")
            tmp_out.write_bytes(data)
            os.replace(tmp_out, save_as)
        still = io.BytesIO()
        fig.savefig(still, format="png", dpi=dpi)  # the figure now shows the last frame
        return Animation(data, still.getvalue(), frames)
    finally:
        plt.close(fig)


class Animation:
    """A GIF that every viewer shows: JupyterLab, Colab, nbconvert/nbviewer and GitHub.

    Its output holds the GIF inside an HTML ``<img>`` (``text/html``: JupyterLab, Colab and
    nbconvert's HTML animate it; a bare ``image/gif`` output is dropped by nbconvert), the last
    frame as a PNG (for viewers that show no HTML) and a line of text.
    """

    def __init__(self, gif: bytes, still_png: bytes, frames: int) -> None:
        self.gif, self.still_png, self.frames = gif, still_png, frames

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict[str, str]:
        b64 = base64.b64encode(self.gif).decode("ascii")
        return {
            "text/html": f'<img src="data:image/gif;base64,{b64}" alt="animation, {self.frames} frames"/>',
            "image/png": base64.b64encode(self.still_png).decode("ascii"),
            "text/plain": f"<animation: {self.frames} frames (GIF); its last frame is shown where GIFs are not>",
        }


def show_jpeg(fig: "plt.Figure", quality: int = 80, dpi: int | None = None) -> None:
    """Show ``fig`` as a JPEG instead of the usual PNG (wherever the call stands in a cell), and close it.

    For figures full of photos or noise: a PNG of such pixels hardly compresses, a JPEG does
    (Day 11's style-transfer figure: about 60 KB as a JPEG at ``quality=80``, over 300 KB as a
    PNG), and notebooks must stay small. Line plots and text look better as PNG: keep those as
    they are. The output is a plain ``image/jpeg`` (JupyterLab, Colab, nbconvert and GitHub all
    show it) with a line of text naming the figure.
    """
    from IPython.display import display

    buf = io.BytesIO()
    sup = fig.get_suptitle() if hasattr(fig, "get_suptitle") else (fig._suptitle.get_text() if fig._suptitle else "")
    title = sup or "; ".join(dict.fromkeys(t for t in (ax.get_title() for ax in fig.axes) if t))
    try:
        fig.savefig(buf, format="jpeg", dpi=dpi or fig.dpi, bbox_inches="tight", pil_kwargs={"quality": int(quality)})
    finally:
        plt.close(fig)
    display(JpegFigure(buf.getvalue(), title))


class JpegFigure:
    """A figure rendered as a JPEG: ``image/jpeg`` for every viewer, and its title as text."""

    def __init__(self, jpeg: bytes, title: str = "") -> None:
        self.jpeg, self.title = jpeg, title

    def _repr_mimebundle_(self, include: object = None, exclude: object = None) -> dict[str, str]:
        return {
            "image/jpeg": base64.b64encode(self.jpeg).decode("ascii"),
            "text/plain": f"<figure (JPEG): {self.title}>" if self.title else "<figure (JPEG)>",
        }
