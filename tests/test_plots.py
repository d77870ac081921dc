import matplotlib.pyplot as plt
import numpy as np
import pytest

from mlcourse import plots


def _titled(ax):
    return ax.get_title() and ax.get_xlabel() and ax.get_ylabel()


def test_loss_curve():
    ax = plots.loss_curve({"train": [3, 2, 1], "val": [3.5, 2.5, 2]}, logy=True)
    assert _titled(ax) and len(ax.lines) == 2 and ax.get_yscale() == "log"
    plt.close("all")


def test_image_grid_and_bad_shape():
    fig = plots.image_grid(np.zeros((12, 8, 8)), [0, 1] * 6, classes=["a", "b"], ncols=5)
    assert fig._suptitle.get_text() and fig.axes[1].get_title() == "b"
    with pytest.raises(ValueError, match=r"\(N, H, W\)"):
        plots.image_grid(np.zeros((8, 8)))
    plt.close("all")


def test_decision_boundary_binary_and_multiclass():
    X = np.random.default_rng(0).normal(size=(40, 2))
    y = (X[:, 0] > 0).astype(int)
    ax = plots.decision_boundary(lambda g: (g[:, 0] > 0).astype(float), X, y, resolution=30)
    assert _titled(ax)
    ax = plots.decision_boundary(lambda g: (g[:, 0] > 0).astype(int) + (g[:, 1] > 0), X,
                                 np.arange(40) % 3, resolution=30)
    assert _titled(ax)
    with pytest.raises(ValueError, match=r"\(N, 2\)"):
        plots.decision_boundary(lambda g: g, np.zeros((5, 3)), np.zeros(5))
    plt.close("all")


def test_heatmap():
    ax = plots.heatmap(np.eye(3, dtype=int), xlabels=list("abc"), ylabels=list("abc"),
                       title="cm", xlabel="pred", ylabel="true", annotate=True)
    assert _titled(ax) and len(ax.texts) == 9
    plt.close("all")


def test_animate_gif_and_html(tmp_path, monkeypatch):
    monkeypatch.setenv("MLCOURSE_PROFILE", "cpu")
    fig, ax = plt.subplots()
    line, = ax.plot([], [])
    out = plots.animate(fig, lambda i: line.set_data([0, 1], [0, i]), 3, save_as=tmp_path / "a.gif")
    assert out.gif[:6] in (b"GIF89a", b"GIF87a") and out.still_png[:4] == b"\x89PNG"
    assert (tmp_path / "a.gif").read_bytes() == out.gif
    assert not list(tmp_path.glob("*.part"))
    fig, ax = plt.subplots()
    html = plots.animate(fig, lambda i: None, 2, html=True)
    assert "<script" in html.data


def test_res_path_is_inside_repo(monkeypatch, tmp_path):
    p = plots.res_path("x.gif")
    assert p.parent.name == "res"
    monkeypatch.chdir(tmp_path)            # a notebook alone in a folder, as on Colab:
    assert plots.res_path("x.gif") is None  # shown only, no res/ written next to it
    assert not (tmp_path / "res").exists()


def test_animate_does_not_save_in_smoke(tmp_path, monkeypatch):
    monkeypatch.setenv("MLCOURSE_PROFILE", "smoke")
    fig, ax = plt.subplots()
    out = plots.animate(fig, lambda i: None, 2, save_as=tmp_path / "a.gif")
    assert out.gif[:3] == b"GIF" and not (tmp_path / "a.gif").exists()


def test_an_animation_shows_in_nbconvert_html(tmp_path, monkeypatch):
    """nbconvert drops a bare image/gif; the <img> animates and the PNG is the fallback."""
    import nbformat

    HTMLExporter = pytest.importorskip("nbconvert").HTMLExporter  # not in Colab's leg
    monkeypatch.setenv("MLCOURSE_PROFILE", "smoke")
    fig, ax = plt.subplots()
    anim = plots.animate(fig, lambda i: ax.set_title(f"frame {i}"), 3)
    bundle = anim._repr_mimebundle_()
    assert set(bundle) == {"text/html", "image/png", "text/plain"}
    nb = nbformat.v4.new_notebook()
    nb.cells.append(nbformat.v4.new_code_cell("anim", outputs=[
        nbformat.v4.new_output("display_data", data=bundle)]))
    html, _ = HTMLExporter().from_notebook_node(nb)
    assert 'src="data:image/gif;base64,' in html
    assert "IPython.core.display.Image object" not in html


def test_heatmap_text_is_readable_with_any_colormap():
    import matplotlib.colors as mcolors

    for cmap in ("Blues", "viridis", "Greys_r"):
        ax = plots.heatmap(np.array([[0, 50], [5, 100]]), annotate=True, cmap=cmap, title="t",
                           xlabel="x", ylabel="y")
        im = ax.images[0]
        for t in ax.texts:
            (j, i) = t.get_position()
            r, g, b, _ = im.cmap(im.norm(im.get_array()[int(i), int(j)]))
            lum = 0.299 * r + 0.587 * g + 0.114 * b
            assert (mcolors.to_hex(t.get_color()) == "#ffffff") == (lum < 0.5)
        plt.close("all")


def test_image_grid_symmetric_range_shows_the_sign():
    imgs = np.stack([np.full((3, 3), 0.1), np.full((3, 3), -2.0)])
    fig = plots.image_grid(imgs, symmetric=True, cmap="RdBu_r")
    lims = [ax.images[0].get_clim() for ax in fig.axes if ax.images]
    assert lims == [(-2.0, 2.0), (-2.0, 2.0)]          # one range, centred on 0, for every image
    plt.close(fig)


def test_loss_curve_ticks_are_whole_epochs():
    fig, ax = plt.subplots()
    plots.loss_curve({"train": [1.0, 0.8, 0.7], "val": [1.1, 0.9, 0.85]}, ax=ax)
    fig.canvas.draw()
    ticks = [t for t in ax.get_xticks() if ax.get_xlim()[0] <= t <= ax.get_xlim()[1]]
    assert ticks and all(float(t).is_integer() for t in ticks), ticks
    plt.close(fig)


def test_show_jpeg_displays_a_jpeg_and_closes_the_figure(monkeypatch):
    import base64

    import IPython.display

    shown = []
    monkeypatch.setattr(IPython.display, "display", lambda obj: shown.append(obj))
    fig, ax = plt.subplots()
    ax.imshow(np.random.default_rng(0).random((64, 64, 3)))
    ax.set(title="noise", xlabel="x", ylabel="y")
    assert plots.show_jpeg(fig) is None
    assert fig.number not in plt.get_fignums()
    (img,) = shown
    bundle = img._repr_mimebundle_()
    assert set(bundle) == {"image/jpeg", "text/plain"}
    assert base64.b64decode(bundle["image/jpeg"])[:2] == b"\xff\xd8"    # a JPEG's first bytes
    assert bundle["text/plain"] == "<figure (JPEG): noise>"
    # a suptitle names the figure; the quality is honoured
    sizes = []
    for quality in (20, 95):
        fig, axs = plt.subplots(1, 2)
        for ax in axs:
            ax.imshow(np.random.default_rng(1).random((64, 64, 3))); ax.set(title="same")
        fig.suptitle("two panels")
        plots.show_jpeg(fig, quality=quality)
        sizes.append(len(shown[-1].jpeg))
    assert shown[-1]._repr_mimebundle_()["text/plain"] == "<figure (JPEG): two panels>"
    assert sizes[0] < 0.7 * sizes[1]


def test_spectrograms_grid_shares_one_colour_range():
    specs = np.zeros((2, 3, 129, 32))
    specs[1, 2] = 7.0
    fig = plots.spectrograms(specs, row_names=["real", "fake"], col_names=["a", "b", "c"], seconds=0.5,
                             sample_rate=8000, title="S")
    panels = [ax for ax in fig.axes if ax.get_images()]
    assert len(panels) == 6 and panels[5].get_title() == "fake: c"
    assert all(ax.get_images()[0].get_clim() == (0, 7.0) for ax in panels)
    assert panels[0].get_ylim() == (0, 4000) and panels[0].get_xlim() == (0, 0.5)
    assert any(ax.get_ylabel() == "log(1 + power)" for ax in fig.axes)        # the colour bar
    with pytest.raises(ValueError, match="rows, cols, frequencies, frames"):
        plots.spectrograms(specs[0], row_names=["real"], col_names=["a", "b", "c"], seconds=0.5, sample_rate=8000)
    plt.close(fig)
