"""Shape debugging: print the output shape of every layer of a PyTorch or Keras model.

    rows = show_shapes(model, x)      # prints one line per layer, returns the same rows

``x`` is one batch (a NumPy array or a framework tensor, batch axis first). The model runs once
on it, in inference mode (no gradients recorded, dropout off, batch-norm statistics untouched),
and every layer's output shape is printed with the layer's parameter count. When the forward
pass fails, the layers that ran are printed and a ``ValueError`` names the layer that failed and
the shape it received.

Why not ``print(model)``, ``model.summary()`` or ``torchinfo``? ``print(model)`` lists PyTorch
layers without shapes (they depend on the input); Keras' ``model.summary()`` does show output
shapes, for a model that knows its input shape; ``torchinfo.summary`` does the same for PyTorch
but is an extra package. This helper works the same way for both frameworks, on the batch you
actually have, and needs nothing beyond the framework itself (imported only when a model of
that framework is passed: ``import mlcourse.shapes`` stays light).
"""

from __future__ import annotations

from typing import Any, NamedTuple

__all__ = ["LayerShape", "show_shapes", "format_rows"]


class LayerShape(NamedTuple):
    """One line of :func:`show_shapes`.

    Attributes:
        name: the layer's name in the model (``"0"``, ``"encoder.fc1"`` in PyTorch;
            ``"dense"``, ``"dense_1"`` in Keras).
        kind: the layer's class name (``"Linear"``, ``"Dense"``, ``"ReLU"``...).
        shape: the output shape, batch axis first, as a tuple of ints; for a layer with several
            outputs (an LSTM, say), a tuple of such tuples.
        params: the layer's own parameters (weights and biases; a layer used twice is counted once).
    """

    name: str
    kind: str
    shape: tuple
    params: int


def _framework(model: Any) -> str | None:
    """``"torch"``, ``"keras"`` or None, from the modules of the model's classes (nothing imported)."""
    for cls in type(model).__mro__:
        root = cls.__module__.split(".")[0]
        if root == "torch":
            return "torch"
        if root in ("keras", "tf_keras"):
            return "keras"
    return None


def _shape_of(value: Any) -> tuple:
    """The shape of a tensor as a tuple of ints; a tuple of shapes for a tuple/list/dict of tensors."""
    if hasattr(value, "shape") and not isinstance(value, (tuple, list, dict)):
        return tuple(int(d) if d is not None else None for d in value.shape)
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, (tuple, list)):
        return tuple(_shape_of(v) for v in value if hasattr(v, "shape") or isinstance(v, (tuple, list, dict)))
    return ()


def format_rows(rows: list[LayerShape], input_shape: tuple, total: int | None = None) -> str:
    """The table :func:`show_shapes` prints: one line for the input, one per layer, the total."""
    lines = [("layer", "type", "output shape", "params"), ("input", "", str(input_shape), "")]
    lines += [(r.name, r.kind, str(r.shape), f"{r.params:,}") for r in rows]
    if total is not None:
        lines.append(("total", "", "", f"{total:,}"))
    widths = [max(len(line[k]) for line in lines) for k in range(4)]
    return "\n".join(f"{a:<{widths[0]}}  {b:<{widths[1]}}  {c:<{widths[2]}}  {d:>{widths[3]}}".rstrip()
                     for a, b, c, d in lines)


def show_shapes(model: Any, x: Any, *, quiet: bool = False) -> list[LayerShape]:
    """Run ``model`` on the batch ``x`` and print every layer's output shape and parameter count.

    Args:
        model: a PyTorch ``nn.Module`` (its leaf modules are the rows, in the order they run), or
            a Keras ``Sequential`` or functional model (its layers are the rows).
        x: one batch, batch axis first: a NumPy array (float arrays are converted to the model's
            float dtype, e.g. float64 -> float32) or a tensor of the model's framework. For a
            PyTorch model taking several inputs, a tuple of them.
        quiet: return the rows without printing them.

    Returns:
        The rows, one :class:`LayerShape` per layer call. Their ``params`` add up to the model's
        parameter count (``sum(p.numel() for p in model.parameters())`` in PyTorch,
        ``model.count_params()`` in Keras); parameters that belong to no layer (a PyTorch
        ``nn.Parameter`` set on a container module) get a row of their own, named ``"(other)"``.

    Raises:
        TypeError: ``model`` is neither a PyTorch module nor a Keras model.
        ValueError: the input does not fit the model: the message names the layer that failed,
            the shape it received and the framework's own error (the rows before it are printed).
    """
    kind = _framework(model)
    if kind == "torch":
        rows, input_shape, total = _torch_rows(model, x, quiet)
    elif kind == "keras":
        rows, input_shape, total = _keras_rows(model, x, quiet)
    else:
        raise TypeError(f"show_shapes expects a PyTorch nn.Module or a Keras model, got a "
                        f"{type(model).__module__}.{type(model).__name__}: pass the model itself "
                        "(not its output, its class or a list of layers).")
    if not quiet:
        print(format_rows(rows, input_shape, total))
    return rows


def _failed(rows: list[LayerShape], input_shape: tuple, quiet: bool, where: str, exc: Exception) -> ValueError:
    """Print the rows that ran, and build the error that names the failing layer."""
    if not quiet:
        print(format_rows(rows, input_shape))
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    ran = ("The layers before it ran (printed above)." if rows else
           f"It was the first layer: check the input's shape {tuple(input_shape)} against what "
           "that layer expects (a missing batch axis, or channels in the wrong place?).")
    return ValueError(f"show_shapes: {where}. {ran} {type(exc).__name__}: {first}")


# -- PyTorch ------------------------------------------------------------------------------------

def _torch_rows(model: Any, x: Any, quiet: bool) -> tuple[list[LayerShape], tuple, int]:
    import numpy as np
    import torch

    params = list(model.parameters())
    ref = next((p for p in params if p.is_floating_point()), None)
    device = ref.device if ref is not None else torch.device("cpu")

    def as_tensor(a: Any) -> Any:
        if isinstance(a, torch.Tensor):
            return a.to(device)
        arr = np.asarray(a)
        if arr.dtype.kind == "f":
            return torch.as_tensor(arr, dtype=ref.dtype if ref is not None else torch.float32, device=device)
        return torch.as_tensor(arr, device=device)

    inputs = tuple(as_tensor(a) for a in x) if isinstance(x, tuple) else (as_tensor(x),)
    input_shape = _shape_of(inputs[0]) if len(inputs) == 1 else _shape_of(inputs)

    leaves = [(name, m) for name, m in model.named_modules() if not any(True for _ in m.children())]
    rows: list[LayerShape] = []
    counted: set[int] = set()
    running: list[tuple[str, Any, tuple]] = []     # leaves entered and not yet finished

    def before(name: str):
        def hook(module: Any, args: tuple) -> None:
            running.append((name, module, _shape_of(args[0]) if len(args) == 1 else _shape_of(args)))
        return hook

    def after(name: str):
        def hook(module: Any, args: tuple, out: Any) -> None:
            running.pop()
            own = 0
            if id(module) not in counted:
                counted.add(id(module))
                own = sum(p.numel() for p in module.parameters())
            rows.append(LayerShape(name or type(module).__name__, type(module).__name__, _shape_of(out), own))
        return hook

    handles = []
    modes = {m: m.training for m in model.modules()}
    try:
        for name, m in leaves:
            handles.append(m.register_forward_pre_hook(before(name)))
            handles.append(m.register_forward_hook(after(name)))
        model.eval()
        with torch.no_grad():
            try:
                model(*inputs)
            except Exception as exc:
                if running:
                    name, module, got = running[-1]
                    where = f"layer {name!r} ({module!r}) failed on an input of shape {got}"
                elif rows:
                    where = (f"the forward pass failed after layer {rows[-1].name!r}, whose output had shape "
                             f"{rows[-1].shape} (in code between layers, e.g. a reshape)")
                else:
                    where = f"the forward pass failed on the input of shape {input_shape} before any layer ran"
                raise _failed(rows, input_shape, quiet, where, exc) from exc
    finally:
        for h in handles:
            h.remove()
        for m, mode in modes.items():
            m.train(mode)
    total = sum(p.numel() for p in params)
    other = total - sum(r.params for r in rows)
    if other > 0:
        rows.append(LayerShape("(other)", "parameters outside the layers above", (), other))
    return rows, input_shape, total


# -- Keras --------------------------------------------------------------------------------------

def _keras_rows(model: Any, x: Any, quiet: bool) -> tuple[list[LayerShape], tuple, int]:
    import keras

    input_shape = _shape_of(x)
    if not isinstance(model, keras.Model):
        raise TypeError(f"show_shapes expects a Keras model (Sequential or functional), got a single "
                        f"layer, {type(model).__name__}: wrap it, e.g. `keras.Sequential([layer])`.")
    declared = None
    try:
        declared = model.input_shape if model.built else None
    except (AttributeError, ValueError):
        pass
    if isinstance(declared, tuple) and declared and all(d is None or isinstance(d, int) for d in declared):
        fits = len(declared) == len(input_shape) and all(
            d is None or d == g for d, g in zip(declared, input_shape))
        if not fits:
            raise ValueError(f"show_shapes: the model expects inputs of shape {declared} (None: any size, "
                             f"usually the batch), but x has shape {input_shape}.")
    layers = [layer for layer in model.layers if type(layer).__name__ != "InputLayer"]
    rows: list[LayerShape] = []
    if isinstance(model, keras.Sequential):
        h = x
        for layer in layers:
            got = _shape_of(h)
            try:
                h = layer(h)
            except Exception as exc:
                where = f"layer {layer.name!r} ({type(layer).__name__}) failed on an input of shape {got}"
                raise _failed(rows, input_shape, quiet, where, exc) from exc
            rows.append(LayerShape(layer.name, type(layer).__name__, _shape_of(h), int(layer.count_params())))
        return rows, input_shape, sum(r.params for r in rows)
    try:
        inputs = model.inputs
        outputs = [layer.output for layer in layers]
    except (AttributeError, ValueError) as exc:
        raise TypeError("show_shapes runs Keras Sequential and functional models; this model "
                        f"({type(model).__name__}) defines its own `call`, so its layers have no fixed "
                        "order: print shapes inside its `call` instead.") from exc
    probe = keras.Model(inputs[0] if len(inputs) == 1 else inputs, outputs)
    try:
        outs = probe(x)
    except Exception as exc:
        raise _failed(rows, input_shape, quiet, f"the model failed on an input of shape {input_shape}", exc) from exc
    for layer, out in zip(layers, outs if isinstance(outs, (list, tuple)) else [outs]):
        rows.append(LayerShape(layer.name, type(layer).__name__, _shape_of(out), int(layer.count_params())))
    return rows, input_shape, int(model.count_params())
