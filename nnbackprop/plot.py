"""A trained network as a picture: the loss curve and the fit, drawn StatQuest's way.

The left panel shows how the output is built, as in StatQuest's videos ("flip, stretch,
add"): each hidden neuron's output y_i scaled by its output weight w_(H+i) (dashed),
the output bias b_(H+1) (dotted), and their sum, the prediction (solid), over the data.
The right panel is the SSR at each epoch on a log scale.

matplotlib is an optional extra (``pip install '.[plot]'`` in a checkout).  It is imported
only when a picture is drawn, and only through its object API with the Agg canvas, so
importing this module, or drawing, never changes pyplot's global backend.
"""

from __future__ import annotations

import io
import math
import os
import warnings

import numpy as np

from . import data as data_mod
from . import files, results
from .errors import DataError, NnbackpropError
from .files import Stream
from .metrics import training_columns
from .network import DEFAULT_ACTIVATION, decompose, param_names

FORMATS = {".png": "png", ".svg": "svg"}
DRAWN = 5000  # at most this many points of a dataset drawn (data.spread_rows); the x range is all of them's
INSTALL = "pip install matplotlib (in a checkout: pip install '.[plot]')"


class PlotError(NnbackpropError):
    """A picture that cannot be drawn or written: a missing matplotlib, a bad --out."""


def image_format(path: str) -> str:
    """``"png"`` or ``"svg"`` from the extension of ``path``; anything else is a PlotError."""
    extension = os.path.splitext(path)[1].lower()
    if extension not in FORMATS:
        shown = f"'{extension}'" if extension else "no extension"
        raise PlotError(f"{path}: {shown} is not an image format this can write; use .png or .svg")
    return FORMATS[extension]


def require_matplotlib():
    """The matplotlib modules the drawing needs, or a PlotError naming the install command."""
    try:
        import matplotlib
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise PlotError(f"plotting needs matplotlib, which is not installed: {INSTALL}") from None
    return matplotlib, Figure, FigureCanvasAgg


# --- what to draw ------------------------------------------------------------------


class Points:
    """Data points to draw: a label for the legend and the x, y arrays."""

    def __init__(self, label: str, x: np.ndarray, y: np.ndarray, training: bool = False):
        self.label, self.x, self.y, self.training = label, x, y, training

    def drawn(self):
        """``(x, y, label)`` as drawn: at most ``DRAWN`` points (``spread_rows``), the label saying so."""
        rows = data_mod.spread_rows(len(self.x), DRAWN)
        label = self.label if isinstance(rows, slice) else f"{self.label}: {DRAWN:,} of {len(self.x):,} drawn"
        return self.x[rows], self.y[rows], label


def training_points(model, result_path: str) -> tuple[Points | None, list[str]]:
    """The training data a result names, if it can still be read, and notes for the user.

    Found as :func:`nnbackprop.results.training_data` finds it (``data.path``, the result
    file's folder, ``data.abspath``).  A file that is gone or unreadable is not an error:
    the curve is drawn without points.
    """
    info = model.document.get("data") if isinstance(model.document.get("data"), dict) else {}
    path = info.get("path")
    if not isinstance(path, str):
        return None, ["the result names no training data (data.path); drawing the curve without points"]
    found = results.training_data(model.document, result_path)
    if found is None:
        return None, [f"training data {path} not found; drawing the curve without points"]
    names = training_columns(model.document)
    try:
        used, (x, y) = data_mod.load_columns(found, names)
    except DataError as e:
        return None, [f"training data unreadable ({e}); drawing the curve without points"]
    notes = []
    digest = info.get("sha256")
    if isinstance(digest, str) and data_mod.sha256(found) != digest:
        notes.append(f"training data {found} has changed since training (its SHA-256 differs)")
    return Points(f"training data ({len(x)})", x, y, training=True), notes


# --- drawing -----------------------------------------------------------------------

NEURON_COLORS = ["tab:blue", "tab:orange", "tab:purple", "tab:brown", "tab:pink", "tab:olive", "tab:cyan", "tab:gray"]


def render(model, points: list[Points], fmt: str, title: str = "") -> bytes:
    """The two-panel picture as PNG or SVG bytes."""
    matplotlib, Figure, FigureCanvasAgg = require_matplotlib()
    rc = {"font.size": 11, "svg.hashsalt": "nnbackprop", "axes.titleweight": "bold"}
    with matplotlib.rc_context(rc), np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # matplotlib's, on curves near the float limits
        figure = Figure(figsize=(13, 6), dpi=110, layout="constrained")
        FigureCanvasAgg(figure)
        fit_axes, loss_axes = figure.subplots(1, 2, gridspec_kw={"width_ratios": [1.35, 1]})
        _draw_fit(fit_axes, model, points)
        _draw_loss(loss_axes, model.document)
        if title:
            figure.suptitle(title, fontsize=13)
        buffer = io.BytesIO()
        metadata = {"Date": None} if fmt == "svg" else {"Software": None}
        try:
            figure.savefig(buffer, format=fmt, metadata=metadata)
        except (ValueError, OverflowError) as e:  # axes that span more than floats can
            raise PlotError(f"cannot draw this network: its curves reach values too large to plot ({e})") from None
    return buffer.getvalue()


def curves(theta, x, activation=DEFAULT_ACTIVATION):
    """What the fit panel draws: ``(contributions, output_bias, predicted)``.

    ``contributions[:, i]`` is y_i * w_(H+i), neuron i's output flipped and stretched by
    its output weight, shape (n, H); ``predicted`` = their sum + b_(H+1), shape (n,),
    the same numbers as :func:`~nnbackprop.network.forward`.
    """
    with np.errstate(over="ignore", invalid="ignore"):
        *neurons, bias = decompose(theta, x, activation).values()
        contributions = np.stack(neurons, axis=1)
        return contributions, float(theta[-1]), contributions.sum(axis=1) + bias


def _draw_fit(axes, model, points: list[Points]):
    h = model.hidden
    names = param_names(h)
    input_name, target_name = training_columns(model.document)
    xs = np.linspace(*_x_range(points), 601)
    contributions, b_out, predicted = curves(model.theta, xs, model.activation)
    for i in range(h):
        color = NEURON_COLORS[i % len(NEURON_COLORS)]
        label = f"neuron {i + 1}: $y_{{{i + 1}}} \\times {_tex(names[2 * h + i])}$"
        dashes = "--" if i < len(NEURON_COLORS) else "-."  # colours repeat after 8: vary the dash
        axes.plot(xs, contributions[:, i], dashes, color=color, linewidth=1.6, label=label)
    bias_name = names[-1]
    axes.axhline(
        b_out, linestyle=":", color="0.35", linewidth=1.4, label=f"output bias ${_tex(bias_name)}$ = {b_out:.3g}"
    )
    formula = (
        " + ".join(f"y_{{{i + 1}}} {_tex(names[2 * h + i])}" for i in range(h)) if h <= 3 else r"\sum_i y_i w_{H+i}"
    )
    axes.plot(
        xs, predicted, "-", color="tab:green", linewidth=2.6, label=f"predicted = ${formula} + {_tex(bias_name)}$"
    )
    for p in points:
        x, y, label = p.drawn()
        color, marker, area = ("black", "o", 55) if p.training else ("tab:red", "s", 45)
        scale = 1.0 if len(x) <= 1000 else 0.2  # thousands of points: dots, not discs
        axes.scatter(
            x,
            y,
            zorder=5,
            edgecolor="white",
            linewidth=0.8 * scale,
            label=label,
            color=color,
            marker=marker,
            s=area * scale,
        )
    axes.set_title(f"Fitted curve: flip, stretch, add ({h} {model.activation} neuron{'s' * (h != 1)})")
    axes.set_xlabel(input_name or "input")
    axes.set_ylabel(target_name or "output")
    axes.grid(True, alpha=0.3)
    entries = h + 2 + len(points)  # below the panel, so it never hides a curve
    axes.legend(
        fontsize=9.5,
        ncol=min(3, math.ceil(entries / 2)),
        loc="upper center",
        bbox_to_anchor=(0.5, -0.14),
        frameon=False,
    )


def _x_range(points: list[Points]) -> tuple[float, float]:
    xs = np.concatenate([p.x for p in points]) if points else np.array([])
    if xs.size == 0:
        return 0.0, 1.0  # no data: the unit interval, where StatQuest's dosages live
    low, high = float(xs.min()), float(xs.max())
    pad = 0.05 * (high - low) if high > low else 0.5
    return low - pad, high + pad


def _tex(name: str) -> str:
    """``w3`` -> ``w_{3}``, for matplotlib's mathtext."""
    return f"{name[0]}_{{{name[1:]}}}"


def _draw_loss(axes, document: dict):
    history = document.get("loss_history")
    history = history if isinstance(history, list) else []
    values = np.array([v if _is_number(v) else math.nan for v in history], dtype=np.float64)
    epochs = np.arange(values.size)
    shown = np.isfinite(values) & (values > 0)  # a log scale shows neither 0 nor null
    axes.set_title("Loss during training")
    axes.set_xlabel("epoch")
    axes.set_ylabel("SSR (log scale)")
    axes.grid(True, alpha=0.3)
    if not shown.any():
        axes.text(0.5, 0.5, "no positive loss values to plot", ha="center", va="center", transform=axes.transAxes)
        return
    from matplotlib.ticker import MaxNLocator

    axes.set_yscale("log")
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))  # epochs are whole numbers
    axes.plot(epochs[shown], values[shown], color="tab:green", linewidth=1.8, label="SSR")
    last = np.flatnonzero(shown)[-1]
    reason = document.get("stop_reason")
    stopped = f", stopped by {reason}" if isinstance(reason, str) else ""
    label = f"final SSR = {values[last]:.3g} (epoch {epochs[last]}{stopped})"
    axes.scatter([epochs[last]], [values[last]], color="tab:green", zorder=5, label=label)
    axes.legend(fontsize=9.5, loc="upper center", bbox_to_anchor=(0.5, -0.14), frameon=False)


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def plot(model, result_path: str, out: str, extra_data: str | None = None) -> list[str]:
    """Draw ``model`` (loaded from ``result_path``) to ``out``; return notes for the user.

    The format follows the extension of ``out`` (.png or .svg).  ``extra_data`` is a CSV
    with the training columns to overlay; unlike the training data, it must be readable.
    """
    fmt = image_format(out)
    require_matplotlib()
    train, notes = training_points(model, result_path)
    points = [train] if train else []
    if extra_data is not None:
        _, (x, y) = data_mod.load_columns(extra_data, training_columns(model.document))
        label = "stdin" if isinstance(extra_data, Stream) else os.path.basename(extra_data)
        points.append(Points(f"{label} ({len(x)})", x, y))
    name = "stdin" if isinstance(result_path, Stream) else os.path.basename(result_path)
    files.write_bytes(render(model, points, fmt, title=f"nnbackprop: {name}"), out)
    return notes
