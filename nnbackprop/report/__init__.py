"""A training run as one self-contained HTML page: ``nnbackprop report``.

The page is a template in this package (``template.html``, ``viewer.css``, ``viewer.js``:
SVG and plain JavaScript, nothing loaded from the network) with the run's data embedded
as sorted-keys JSON, so the same result gives the same bytes.  The JavaScript computes
the forward pass, the gradient and the chain-rule ledger from the parameters of the
recorded epochs and the data, with the formulas of :mod:`nnbackprop.network`.

Data of more than ``SHOWN`` rows is not embedded whole: the page holds ``SHOWN`` rows spread
over it (one from each equal stretch), to draw and to tabulate, and the sums over every row
(each recorded epoch's SSR and gradient, and the SSR after its step), computed here, so that
the page's totals are the whole data's and its size and speed do not grow with the data.

A result file holds every epoch's SSR but only three parameter vectors (the start, the
best and the last).  :class:`Snapshots` records more during training, thinned so that a
run of any length keeps a bounded number of them.
"""

from __future__ import annotations

import heapq
import html
import json
import math
from importlib import resources

import numpy as np

from .. import gradcheck, kernel
from ..data import spread_rows
from ..errors import ResultError
from ..network import ACTIVATIONS, DERIVATIVE_NAMES, param_names
from ..results import finite_or_none, headline

BUDGET = 20_000  # at most this many parameter values kept per start (about 400 KB of JSON)
MOST = 600  # and at most this many snapshots, whatever the number of parameters
LOG_RATIO = 1.2  # log-spaced epochs: offsets 1, 2, ..., 6, 7, 8, 10, 12, 14, 17, ... from the first
LOSS_BUCKETS = 800  # the loss curve drawn: the lowest and highest SSR of each of this many buckets
SHOWN = 2000  # at most this many rows of the data embedded (data.spread_rows); the sums are over all of them


class Snapshots:
    """Every start's parameters at a bounded set of epochs, chosen online during training.

    Pass it as ``training.train(objective, state, settings, on_epoch=snapshots, every=1)``,
    made with the starting state (``Snapshots(state)``) so that the first epoch (0, or the
    epoch a run resumes from) is recorded.  Each call copies the parameters of every start
    whose epoch advanced.  Kept exactly, per start, in at most ``slots = min(MOST, BUDGET //
    P)`` snapshots (never fewer than 3):

    - the first, the best (lowest SSR so far) and the last epoch, always;
    - an even grid: every ``stride``-th epoch, the stride doubling whenever the grid would
      outgrow half of the slots (so it thins to at most half of them, evenly);
    - log-spaced epochs: first + 1, 2, 3, ..., then each about 1.2 times the one before,
      where early training moves fastest (a quarter of the slots);
    - the "interesting" epochs: the epochs with the largest relative change of the SSR,
      ``|ln(SSR_e / SSR_(e-1))|`` (a spike or a sudden drop; a change to or from 0 or a
      non-finite SSR counts as infinite), each with the epoch before it, so the step that
      made the change can be read off (an eighth of the slots in pairs, the smallest
      change dropped first).

    With fewer than 8 slots (a very wide network) only the first, best and last are kept.
    Memory is bounded by ``slots + 2`` vectors per start, whatever the run's length.
    """

    def __init__(self, state, budget: int = BUDGET, most: int = MOST):
        starts, p = state.theta.shape
        self.slots = max(3, min(most, budget // max(p, 1)))
        self.starts = [_Start(int(state.epochs[r]), state.theta[r], self.slots) for r in range(starts)]

    def __call__(self, state):
        for r, start in enumerate(self.starts):
            epoch = int(state.epochs[r])
            if epoch != start.last[0]:
                loss = float(state.losses[epoch][r]) if epoch < len(state.losses) else math.nan
                previous = float(state.losses[start.last[0]][r]) if start.last[0] < len(state.losses) else math.nan
                start.add(epoch, state.theta[r].copy(), _change(previous, loss), int(state.best_epoch[r]) == epoch)

    def epochs(self, r: int = 0) -> list[int]:
        """The epochs kept for start ``r``, in order."""
        return sorted(self.starts[r].kept())

    def to_dict(self, r: int = 0) -> dict:
        """Start ``r``'s snapshots as JSON-able data: ``{"epochs": [...], "params": [[...], ...]}``
        (parameters in pack order, floats in full, null where not finite)."""
        kept = self.starts[r].kept()
        epochs = sorted(kept)
        return {"epochs": epochs, "params": [[finite_or_none(v) for v in kept[e].tolist()] for e in epochs]}


def _change(before: float, after: float) -> float:
    """How interesting the step from SSR ``before`` to ``after`` is: |ln(after / before)|."""
    if before == after:
        return 0.0
    if before > 0 and after > 0 and math.isfinite(before) and math.isfinite(after):
        return abs(math.log(after / before))
    return math.inf


class _Start:
    """One start's kept epochs (see :class:`Snapshots`)."""

    def __init__(self, epoch, theta, slots):
        self.first = self.last = self.best = (epoch, theta.copy())
        self.previous = None
        small = slots < 8
        self.grid_size = 0 if small else (slots - 3) // 2
        self.events_size = 0 if small else (slots - 3) // 8  # pairs
        self.log_size = 0 if small else slots - 3 - self.grid_size - 2 * self.events_size
        self.stride = 1
        self.grid, self.log, self.events = {}, {}, []  # events: a heap of (change, epoch, before, after)
        self.next_log = 1

    def add(self, epoch, theta, change, best):
        self.previous, self.last = self.last, (epoch, theta)
        if best:
            self.best = self.last
        offset = epoch - self.first[0]
        if self.grid_size and offset % self.stride == 0:
            self.grid[epoch] = theta
            if len(self.grid) > self.grid_size:
                self.stride *= 2
                self.grid = {e: t for e, t in self.grid.items() if (e - self.first[0]) % self.stride == 0}
        if offset >= self.next_log:
            if len(self.log) < self.log_size:
                self.log[epoch] = theta
            while self.next_log <= offset:
                self.next_log = max(self.next_log + 1, round(self.next_log * LOG_RATIO))
        if self.events_size and change > 0:
            event = (change, epoch, self.previous, self.last)
            if len(self.events) < self.events_size:
                heapq.heappush(self.events, event)
            elif change > self.events[0][0]:
                heapq.heapreplace(self.events, event)

    def kept(self) -> dict:
        """Epoch -> parameters of everything kept."""
        kept = {**self.grid, **self.log}
        for _, _, before, after in self.events:
            kept.update([before, after])
        kept.update([self.first, self.best, self.last])
        return kept


# --- the page ----------------------------------------------------------------------


def page(document: dict, x, observed) -> str:
    """The HTML page of a result ``document`` (as read from its JSON file) and its data.

    ``document["snapshots"]`` (:meth:`Snapshots.to_dict`), when there, gives the epochs to
    step through; the start, best and last parameters are always among them.
    """
    view = view_data(document, x, observed)
    text = json.dumps(view, sort_keys=True, separators=(",", ":"), allow_nan=False)
    text = text.replace("<", "\\u003c")  # no "</script>" inside the script element
    files = resources.files(__name__)
    template = files.joinpath("template.html").read_text(encoding="utf-8")
    parts = {
        "title": html.escape(_title(view)),
        "style": files.joinpath("viewer.css").read_text(encoding="utf-8"),
        "script": files.joinpath("viewer.js").read_text(encoding="utf-8"),
        "data": text,
    }
    for key, value in parts.items():
        template = template.replace("{{ " + key + " }}", value)
    return template


def _title(view) -> str:
    return f"nnbackprop report: {view['data']['path'] or 'a training run'}"


def view_data(document: dict, x, observed) -> dict:
    """What the page embeds: the model, the data, the recorded epochs, the loss curve, gradcheck."""
    model = _get(document, "model", dict)
    hidden, activation = _get(model, "hidden", int, "model.hidden"), _get(model, "activation", str, "model.activation")
    if activation not in ACTIVATIONS or hidden < 1:
        raise ResultError(f"model: not a network this can draw (hidden: {hidden}, activation: {activation})")
    names = param_names(hidden)
    history = _get(document, "loss_history", list)
    last = _get(document, "epochs", int)
    if len(history) != last + 1:
        raise ResultError(f"loss_history: expected {last + 1} numbers (epochs + 1), got {len(history)}")
    best = document.get("best_epoch") if isinstance(document.get("best_epoch"), int) else None

    snapshots = {}
    recorded = document.get("snapshots")
    if isinstance(recorded, dict):
        for epoch, params in zip(_get(recorded, "epochs", list, "snapshots.epochs"), recorded.get("params") or []):
            if len(params) != len(names):
                raise ResultError(f"snapshots.params: expected {len(names)} values at epoch {epoch}")
            snapshots[int(epoch)] = params
    snapshots.setdefault(0, _vector(document, "initial_params", names))
    if best is not None and "best_params" in document:
        snapshots.setdefault(best, _vector(document, "best_params", names))
    snapshots[last] = _vector(document, "params", names)
    epochs = sorted(snapshots)

    training = document.get("config", {}).get("training", {}) if isinstance(document.get("config"), dict) else {}
    optimizer = document.get("optimizer") or training.get("optimizer") or "gd"
    rate = training.get("learning_rate")
    trainable = training.get("trainable")
    x = np.asarray(x, dtype=np.float64)
    observed = np.asarray(observed, dtype=np.float64)
    final = np.array([math.nan if v is None else v for v in snapshots[last]], dtype=np.float64)
    with np.errstate(all="ignore"):
        check = gradcheck.check(final, x, observed, activation) if np.isfinite(final).all() else None
    data = document.get("data") if isinstance(document.get("data"), dict) else {}
    shown = spread_rows(len(x), SHOWN)
    every = isinstance(shown, slice)  # the page holds every row
    fixed_rate = optimizer == "gd" and isinstance(rate, (int, float))
    mask = np.array([trainable is None or name in trainable for name in names])
    fixed = fixed_rate and (rate, mask)
    run = {
        "epochs": last,
        "best_epoch": best,
        "stop_reason": document.get("stop_reason"),
        "final_loss": document.get("final_loss"),
        "converged": document.get("converged"),
    }
    return {
        "activation": activation,
        "derivative": DERIVATIVE_NAMES[activation],
        "hidden": hidden,
        "names": names,
        "optimizer": optimizer,
        "fixed_rate": fixed_rate,
        "learning_rate": rate if isinstance(rate, (int, float)) else None,
        "learning_rate_text": format(rate, "g") if isinstance(rate, (int, float)) else str(rate),
        "trainable": mask.tolist(),
        "data": {
            "path": data.get("path"),
            "input": data.get("input") or "input",
            "target": data.get("target") or "observed",
            "x": [finite_or_none(v) for v in x[shown].tolist()],
            "y": [finite_or_none(v) for v in observed[shown].tolist()],
            "rows": None if every else shown.tolist(),
            "n": len(x),
        },
        "totals": None if every else totals(epochs, snapshots, history, x, observed, activation, fixed),
        "run": run,
        "summary": _summary(document, run, hidden, activation, len(x), data.get("path")),
        "notes": _notes(isinstance(recorded, dict), epochs, run),
        "snapshots": {
            "recorded": isinstance(recorded, dict),
            "epochs": epochs,
            "params": [snapshots[e] for e in epochs],
        },
        "loss": loss_curve(history, epochs),
        "loss_buckets": LOSS_BUCKETS,
        "gradcheck": _gradcheck(check),
        "version": document.get("version"),
    }


def totals(epochs, snapshots, history, x, observed, activation, fixed) -> dict:
    """The sums over every row at each recorded epoch: ``{"ssr", "gradient", "after"}``, lists in
    the epochs' order: one pass over the data an epoch.  ``after``: the SSR after the epoch's step,
    which ``history`` (every epoch's SSR) holds, but for the last epoch's step, not taken: at
    ``θ - rate·gradient`` (frozen parameters kept) for ``fixed = (rate, mask)``; else null.  Non-finite
    numbers are the strings "inf", "-inf" and "nan", as the page prints them."""
    thetas = np.array([[math.nan if v is None else v for v in snapshots[e]] for e in epochs], dtype=np.float64)
    objective, last = kernel.Kernel(x, observed, activation), len(history) - 1
    with np.errstate(all="ignore"):
        ssr, gradient = objective(thetas)
        if fixed:
            after = [history[e + 1] if e < last else None for e in epochs]
            if epochs[-1] == last:  # the step training did not take
                rate, mask = fixed
                after[-1] = float(objective(thetas[-1] - rate * np.where(mask, gradient[-1], 0.0))[0])
        else:
            after = [history[e + 1] if later == e + 1 else None for e, later in zip(epochs, epochs[1:] + [None])]
    return {
        "ssr": [_number(v) for v in ssr.tolist()],
        "gradient": [[_number(v) for v in row] for row in gradient.tolist()],
        "after": [None if v is None else _number(v) for v in after],
    }


def _number(value: float):
    """A float for strict JSON: itself, or "inf", "-inf" or "nan"."""
    return value if math.isfinite(value) else str(value)


def loss_curve(history: list, keep: list[int]) -> dict:
    """The SSR to draw: every epoch for a short run; else the first, the last, the epochs in
    ``keep`` and, in each of ``LOSS_BUCKETS`` even buckets of epochs, the lowest and the highest."""
    values = np.array([math.nan if v is None else v for v in history], dtype=np.float64)
    n = len(values)
    if n <= 2 * LOSS_BUCKETS:
        chosen = np.arange(n)
    else:
        finite = np.where(np.isfinite(values), values, np.inf)
        chosen = {0, n - 1, *(e for e in keep if 0 <= e < n)}
        for bucket in np.array_split(np.arange(n), LOSS_BUCKETS):
            part = finite[bucket]
            chosen.update([int(bucket[np.argmin(part)]), int(bucket[np.argmax(np.where(np.isinf(part), -1, part))])])
        chosen = np.array(sorted(chosen))
    return {
        "thinned": bool(len(chosen) < n),
        "epochs": [int(i) for i in chosen],
        "ssr": [finite_or_none(values[i]) for i in chosen],
    }


def _gradcheck(check) -> dict | None:
    """gradcheck's verdict and table, worded as ``nnbackprop gradcheck`` words them."""
    if check is None:
        return None
    params, tolerance = check["parameters"], check["tolerance"]
    unjudged = [name for name, p in params.items() if p["kink"] and not p["ok"]]
    corner = f"; {', '.join(unjudged)} at a ReLU corner, not judged" if unjudged else ""
    largest = f"largest rel_error {max(p['rel_error'] for p in params.values()):.2e}"
    if check["ok"]:
        agree = sum(p["ok"] for p in params.values())
        verdict = f"gradcheck passed: {agree} of {len(params)} gradients agree within {tolerance:g}{corner} ({largest})"
    else:
        bad = [name for name, p in params.items() if not (p["ok"] or p["kink"])]
        verdict = f"gradcheck FAILED: {', '.join(bad)} disagree by more than {tolerance:g}{corner} ({largest})"
    rows = {}
    for name, p in params.items():
        word = "ok" if p["ok"] else "DISAGREE" if not p["kink"] else "not judged"
        rows[name] = {
            "ok": p["ok"],
            "kink": p["kink"],
            "analytic_text": f"{p['analytic']:.15g}",
            "numeric_text": f"{p['numeric']:.15g}",
            "rel_error_text": f"{p['rel_error']:.2e}",
            "verdict": word + (" (at a ReLU corner)" if p["kink"] else ""),
        }
    return {"ok": check["ok"], "verdict": verdict, "parameters": rows}


def _summary(document, run, hidden, activation, n, path) -> str:
    """One line, as ``nnbackprop train`` ends: optimizer, epochs, stop reason, SSR; then the network."""
    line = f"{headline({**document, 'epochs': run['epochs']})}; {'converged' if run['converged'] else 'not converged'}"
    neurons = f"{hidden} hidden neuron{'' if hidden == 1 else 's'}"
    return f"{line}. A {activation} network with {neurons}, trained on {n} samples of {path or 'data'}."


def _notes(recorded: bool, epochs: list[int], run) -> list[str]:
    last, best = run["epochs"], run["best_epoch"]
    if not recorded:
        shown = "epoch 0, the best epoch" + (f" ({best})" if best is not None else "") + f" and the last epoch ({last})"
        return [
            f"This result holds no per-epoch snapshots: the page offers {shown}, from its initial_params, "
            "best_params and params."
        ]
    return [
        f"Recorded epochs: {len(epochs)} of {last + 1} (the first, the best, the last, an even grid, log-spaced "
        "early epochs and the largest changes of the SSR, each with the epoch before it); the slider steps "
        "through them."
    ]


def _vector(document, key, names) -> list:
    params = _get(document, key, dict)
    missing = [n for n in names if n not in params]
    if missing:
        raise ResultError(f"{key}: missing {', '.join(missing)}")
    return [params[n] for n in names]


def _get(mapping, key, kind, dotted=None):
    value = mapping.get(key) if isinstance(mapping, dict) else None
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ResultError(f"{dotted or key}: missing or not {kind.__name__} (is this a result of 'nnbackprop train'?)")
    return value
