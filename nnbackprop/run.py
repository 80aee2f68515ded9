"""A training run from a config, as a Python call: :func:`fit` and the :class:`Run` it returns.

Everything ``nnbackprop train`` does but talk and write files: the config and its
overrides, the data, where training starts (a seed, another run's parameters, or a
resumed run), the training itself, the verdict and the result document.  No click, no
printing, no stdin or stdout: the command line is a thin shell over :func:`prepare`.
"""

from __future__ import annotations

import functools
import hashlib
import html
import os
from dataclasses import dataclass, field

import numpy as np

from . import config as config_lib
from . import data as data_lib
from . import disk, metrics, optimizers, results
from .config import Config
from .errors import ConfigError
from .files import Stream, name_of
from .kernel import Kernel
from .network import forward, param_names
from .stopping import StopReason
from .training import Interrupt, Settings, State, initial_theta, is_fixed_rate, train
from .units import IDENTITY, Units, one_value

FLAT_CEILING_ROWS = 1_000_000  # a flat fit's data is sorted (for each input's mean) up to this many rows: 0.1 s
LINE = 1e-4  # a fit whose SSR is within this share of the least-squares line's is no better than that line
BENDS = 10.0  # the data bends where the cubic's F statistic against the line is above this (p < 0.001 at 100 rows)


def fit(
    config,
    *,
    resume=None,
    init_params=None,
    progress=None,
    interrupt=None,
    snapshots=False,
    engine="kernel",
    scheduler=None,
    **overrides,
) -> Run:
    """Train the network a config describes and return the :class:`Run`.

    ``config`` is a YAML config's path, or a mapping with the same keys (``{"data":
    {"path": ...}, "model": {"hidden": 4}, ...}``), where a pair of arrays ``(x, y)``
    may stand in for ``data`` or ``data.path``.  ``overrides`` win over the config:
    a key's own name (``learning_rate=0.05``, ``hidden=4``, ``optimizer="lm"``), a
    dotted key (``**{"training.max_epochs": 100}``), ``seed=N`` (start from weights
    drawn with seed N, as ``train --seed``) or ``data=(x, y)``.  ``resume`` carries on
    the run in a result file; ``init_params`` starts from a result's parameters.
    ``progress(epoch, ssr)`` is called now and then during training (with
    lm or auto and restarts, for each start in turn, its epochs from 0); ``interrupt``
    (a :class:`~nnbackprop.training.Interrupt`) stops it when its ``signal`` is set.
    With ``snapshots``, the document keeps the parameters of a thinned set of epochs
    (``"snapshots"``), for :func:`nnbackprop.report.page`.  ``engine="dask"`` runs every
    pass over the data on a Dask cluster (``scheduler``: its address; None: a local one,
    closed when training ends), with the one-machine numbers.

    >>> run = fit("configs/dosage.yaml", max_epochs=100)
    >>> run.predict([0.0, 0.5, 1.0])        # doctest: +SKIP
    """
    for name, value in (("resume", resume), ("init_params", init_params)):
        if value is not None and not isinstance(value, (str, os.PathLike, Stream)):
            raise ConfigError(f"fit({name}=...): expected a result file's path, got {type(value).__name__}")
    if progress is not None and not callable(progress):
        raise ConfigError(f"fit(progress=...): expected a function of (epoch, ssr), got {type(progress).__name__}")
    job = prepare(config, overrides, resume=resume, init_params=init_params, engine=engine, scheduler=scheduler)
    on_epoch = None
    if progress is not None:

        def on_epoch(state):
            progress(state.epoch, state.loss)

    with job:
        return job.train(on_epoch, job.progress_every if progress else 0, interrupt, snapshots)


def prepare(
    config, overrides=None, *, resume=None, init_params=None, stdin=None, engine="kernel", scheduler=None, reading=None
) -> Job:
    """Everything before training: the config, the data, the starting state; checked.

    ``overrides`` is a mapping as :func:`fit` takes them, or a list of ``--set`` style
    overrides (``"KEY=VALUE"`` strings or ``(key, value, where)`` triples) for a config
    file.  ``config``, ``resume`` and ``init_params`` are paths or
    :class:`~nnbackprop.files.Stream` s; ``stdin`` is the stream a config's
    ``data.path: -`` reads.  ``reading(bytes_read, bytes_in_all)`` follows a long CSV read.
    """
    config, arrays = config_lib.given(config, overrides)
    chosen = []  # the columns of a wide CSV that the config does not name
    if arrays is None:
        names, (x, y), sha = _data(config, stdin, reading, chosen)
    else:
        x, y = arrays
        names, sha = [config.data.input or "x", config.data.target or "y"], None
    units = stepping_units(config, x, y)
    state, started_from, notes = _starting_state(config, init_params, resume, sha, units)
    started_from = {key: name_of(path) for key, path in started_from.items()}
    data_info = {"path": config.data.path, "input": names[0], "target": names[1], "rows": len(x), "sha256": sha}
    extra = {"seed": config.init.seed if not (resume or init_params) else None, **started_from}
    if engine not in ("kernel", "dask"):
        raise ConfigError(f"engine: must be kernel or dask, got {engine!r}")
    if scheduler is not None and engine != "dask":
        raise ConfigError("scheduler: goes with engine dask")
    notes = [*chosen, *config.notes, *units.far_from_zero(names, x), *notes]
    return Job(config, x, y, state, data_info, extra, units, notes, engine, scheduler)


@dataclass
class Job:
    """A run ready to train: :meth:`train` once."""

    config: Config
    x: np.ndarray
    y: np.ndarray
    state: State
    data: dict  # the result's "data": path, columns, rows, sha256
    extra: dict  # the result's seed and where it started from
    units: Units = IDENTITY  # where its optimizer steps and is judged (:func:`stepping_units`)
    notes: list[str] = field(default_factory=list)  # what a person should hear before training
    engine: str = "kernel"  # where the passes over the data run: "kernel" (here) or "dask" (a cluster)
    scheduler: str | None = None  # dask: a scheduler's address; None: a local cluster started for the run
    _objectives: dict = field(default_factory=dict, init=False, repr=False)

    @property
    def objective(self):
        """The SSR and gradient over this data: a :class:`~nnbackprop.kernel.Kernel`, or with
        ``engine="dask"`` a :class:`~nnbackprop.cluster.DaskObjective` (made on first use)."""
        return self._objective_in(IDENTITY)

    def _objective_in(self, units):
        if units not in self._objectives:
            if units != IDENTITY and self.engine == "dask":  # the data placed once, in the data's own units
                self._objectives[units] = self.objective.in_units(units)
            elif self.engine == "dask":
                self._objectives[units] = self._on_cluster()
            else:
                self._objectives[units] = Kernel(units.x(self.x), units.y(self.y), self.config.model.activation)
        return self._objectives[units]

    def _on_cluster(self):
        try:
            from .cluster import DaskObjective  # the optional extra, imported only here
        except ImportError:
            raise ConfigError("--engine dask needs dask and distributed: pip install '.[dask]'") from None

        path = self.config.data.path
        data = {"path": path} if isinstance(path, str) and path.endswith(".npy") else {"x": self.x, "observed": self.y}
        try:
            return DaskObjective(**data, activation=self.config.model.activation, scheduler=self.scheduler)
        except (OSError, ValueError, TimeoutError) as e:  # no scheduler there, or not an address
            where = f"--scheduler {self.scheduler}" if self.scheduler else "the local dask cluster"
            raise ConfigError(f"{where}: cannot connect: {e}") from None

    def close(self):
        """Release what the objectives hold (a cluster the dask one started); the job can train no more."""
        for objective in reversed(self._objectives.values()):
            close = getattr(objective, "close", None)
            if close is not None:
                close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    @property
    def settings(self) -> Settings:
        t = self.config.training
        return Settings(
            t.learning_rate,
            t.max_epochs,
            t.min_step_size,
            self.config.trainable_mask,
            t.optimizer,
            t.gradient_tolerance,
        )

    @property
    def progress_every(self) -> int:
        """Epochs between progress calls: often enough for a person, rarely enough to cost nothing."""
        return max(1, min(1000, 65536 // max(len(self.x), 1)))

    @property
    def first_epoch(self) -> int:
        return int(self.state.epochs.max(initial=0))

    def document(self, verdict=None) -> dict:
        """The result so far as ``train`` writes it (bar wall time and platform)."""
        return results.document(self.config, self.state, self.data, self.extra, verdict)

    def train(self, on_epoch=None, every: int = 0, interrupt=None, snapshots=False) -> Run:
        """Train (``on_epoch(state)`` every ``every`` epochs) and return the :class:`Run`.

        With ``snapshots``, every epoch's parameters go through a
        :class:`~nnbackprop.report.Snapshots`, and the document keeps what it chose.
        """
        interrupt = interrupt or Interrupt()
        if snapshots:
            on_epoch, every, recorder = _with_snapshots(self.state, on_epoch, every)
        objective = self._objective_in(self.units)
        train(objective, self.state, self.settings, on_epoch, every, interrupt, self.units)
        t, mask = self.config.training, self.config.trainable_mask
        best, stepped = self.state.best_start, self.state.stepped
        stepped = None if stepped is None else stepped[best]
        verdict = optimizers.judge(self.state.theta[best], objective, mask, t.gradient_tolerance, self.units, stepped)
        document = self.document(verdict)
        if snapshots:
            recorder(self.state)  # the last epoch, whatever the cadence
            document["snapshots"] = recorder.to_dict(self.state.best_start)
        return Run(self.config, self.state, verdict, document, self.x, self.y, self.notes)


@dataclass
class Run:
    """A finished (or interrupted) run: its parameters, history, verdict and result document."""

    config: Config
    state: State
    verdict: optimizers.Verdict
    document: dict  # what ``train`` writes as JSON, bar wall_time_s and platform
    x: np.ndarray
    y: np.ndarray
    notes: list[str] = field(default_factory=list)

    @property
    def theta(self) -> np.ndarray:
        """The final parameters of the best start, in pack order."""
        return self.state.theta[self.state.best_start].copy()

    @property
    def params(self) -> dict[str, float]:
        return dict(zip(param_names(self.config.model.hidden), self.theta.tolist()))

    @property
    def history(self) -> list[float]:
        """The SSR at the start and after every epoch."""
        return self.state.history(self.state.best_start)

    @property
    def stop_reason(self) -> StopReason:
        return StopReason(self.state.reasons[self.state.best_start])

    @property
    def converged(self) -> bool:
        return self.verdict.converged

    def predict(self, x) -> np.ndarray:
        """The network's output for each input in ``x``."""
        x = np.asarray(x, dtype=np.float64)
        with np.errstate(over="ignore", invalid="ignore"):
            return forward(self.theta, x.ravel(), self.config.model.activation).reshape(x.shape)

    def summary(self) -> str:
        """One line: the optimizer, epochs, stop reason, SSR and the verdict."""
        verdict = "converged" if self.converged else "not converged"
        return f"{results.headline(self.document)}, {verdict}{self._caveat}"

    @functools.cached_property
    def _caveat(self) -> str:
        """What the verdict adds where a converged fit is no better than a constant or a straight
        line (a look at the data: once a run, for the notebook that shows it again and again)."""
        if not self.converged:
            return ""
        if self.verdict.r2 is not None and self.verdict.r2 < optimizers.FLAT:
            caveat = ", but no better than a constant (R² below 0.01)"
            if one_value(self.x):
                return caveat + "; every input is the same"
            if _flat_ceiling(self.x, self.y) is not None:
                return caveat + "; each input's targets average about the same"
            return caveat
        line = straight_line(self.verdict.r2, self.x, self.y)
        return "" if line is None else f", but no better than a straight line (R² {line:.4f})"

    def __repr__(self) -> str:
        return f"<nnbackprop.Run {self.summary()}>"

    def _repr_html_(self) -> str:
        """A notebook's view: the summary, the parameters, and the fit when matplotlib is there."""
        rows = "".join(f"<tr><td>{html.escape(k)}</td><td>{v:.6g}</td></tr>" for k, v in self.params.items())
        picture = _fit_svg(self)
        return (
            f"<div><p><b>nnbackprop run</b>: {html.escape(self.summary())}</p>"
            f"{picture}<table><tr><th>parameter</th><th>value</th></tr>{rows}</table></div>"
        )


def flat_advice(x, y, restarts=1) -> str:
    """What to do about a converged fit that is no better than a constant (R² below ``optimizers.FLAT``)."""
    if one_value(x):
        return "every input is the same, so no curve can tell the targets apart: the mean is the best fit there is"
    if (ceiling := _flat_ceiling(x, y)) is not None:
        return (
            f"each input's targets average about the same, so no curve of the input does much better: the best "
            f"any can reach is R² {flat_r2(ceiling)}, the mean at each input"
        )
    either = "either the targets do not depend on the input, or this is a flat stationary point"
    return f"{either}: try {more_starts(restarts)}"


def flat_r2(r2: float) -> str:
    """An R² below ``optimizers.FLAT`` for a person: 0.0086 (not 0.01, which it is below), 0.00 near 0."""
    return results.beside(r2, optimizers.FLAT) if abs(r2) >= 1e-4 else "0.00"


def more_starts(restarts: int) -> str:
    """Where another start may find a better fit: what to set, given the starts a run had."""
    return "another init.seed, or training.restarts: 10" if restarts < 10 else f"training.restarts: {2 * restarts}"


def straight_line(r2, x, y) -> float | None:
    """The R² of the least-squares line, where a converged fit of R² ``r2`` is no better than
    that line (its SSR within ``LINE`` of the line's) and the data bends: the least-squares
    cubic beats the line by more than noise would (an F statistic above ``BENDS``; where the
    cubic has no rows to spare, by fitting them); else None.  Data in memory only, as for a
    flat fit."""
    if (
        r2 is None
        or r2 < optimizers.FLAT
        or not _looked_at(x, y)
        or (line := metrics.polynomial_r2(x, y, 1)[0]) is None
    ):
        return None
    cubic, terms = metrics.polynomial_r2(x, y, 3)
    if 1 - r2 < (1 - line) * (1 - LINE) or terms <= 2:  # better than the line, or two inputs: a line is all
        return None
    gained, left, spare = cubic - line, 1 - cubic, len(x) - terms
    bends = gained > LINE * (1 - line) if spare <= 0 or left <= 0 else gained / (terms - 2) / (left / spare) > BENDS
    return line if bends else None


def _flat_ceiling(x, y) -> float | None:
    """:func:`metrics.best_r2` where it is below ``optimizers.FLAT`` (the data in memory, as most is), else None."""
    if not _looked_at(x, y):
        return None
    ceiling = metrics.best_r2(x, y)
    return ceiling if ceiling is not None and ceiling < optimizers.FLAT else None


def _looked_at(x, y) -> bool:
    """Whether a fit's data is looked at for a better curve: in memory, at most ``FLAT_CEILING_ROWS`` rows."""
    return isinstance(x, np.ndarray) and isinstance(y, np.ndarray) and len(x) <= FLAT_CEILING_ROWS


def _with_snapshots(state, on_epoch, every):
    """``on_epoch`` called every ``every`` epochs as before, with a snapshot taken every epoch."""
    from .report import Snapshots

    recorder = Snapshots(state)

    def both(state):
        recorder(state)
        if on_epoch is not None and every and state.epoch % every == 0:
            on_epoch(state)

    return both, 1, recorder


def _fit_svg(run) -> str:
    """The fit picture of ``plot`` as inline SVG, or nothing without matplotlib."""
    from . import plot

    try:
        plot.require_matplotlib()
    except plot.PlotError:
        return ""
    model = results.Model(run.theta, run.config.model.hidden, run.config.model.activation, None, run.document)
    points = plot.Points(f"training data ({len(run.x)})", run.x, run.y, training=True)
    svg = plot.render(model, [points], "svg").decode("utf-8")
    return svg[svg.index("<svg") :]


def network_at(config_path, overrides, params_path, stdin=None):
    """The config, its data ``(x, y)``, the parameters to look at (a result's, or the
    config's start), the trainable mask and the units its optimizer steps in
    (:func:`stepping_units`): what ``explain`` and ``gradcheck`` study."""
    config = config_lib.load(config_path, overrides)
    _, (x, y), _ = _data(config, stdin)
    x, y = disk.in_memory(x), disk.in_memory(y)  # explain and gradcheck look at every sample
    units = stepping_units(config, x, y)
    if params_path:
        model = results.load_model(params_path)
        results.check_fits(model, config, params_path)
        theta = model.theta
    else:
        theta = _initial(config, 1, units)[0]
    return config, x, y, theta, config.trainable_mask, units


# --- what fit() was given -----------------------------------------------------------


def _data(config, stdin, progress=None, notes=None):
    """The config's data file (``-``: ``stdin``) as ``(names, (x, y), sha256)``, with notes on the columns chosen."""
    source = config.data.path
    if source == "-":
        if stdin is None:
            raise ConfigError(f"{config.source}: data.path: '-' is stdin, and none was given to read")
        source = stdin
    if isinstance(source, str) and source.endswith(".npy"):  # read a block at a time, never whole
        names, xy = disk.columns(source, config.data.input, config.data.target)
        return names, xy, data_lib.sha256(source)
    digest = hashlib.sha256() if data_lib.is_file(source) else None  # of the bytes the numbers came from
    names, xy = data_lib.load_xy(source, config.data.input, config.data.target, progress, digest, notes)
    return names, xy, digest and digest.hexdigest()


# --- where training starts ------------------------------------------------------------


def _starting_state(config, init_params, resume, data_sha, units):
    """The state training starts from, what the result says about it, and notes for a person."""
    restarts = config.training.restarts
    if init_params and resume:
        raise ConfigError(
            "--init-params and --resume do not go together: resume carries on a run, init-params starts a new one"
        )
    if (init_params or resume) and restarts > 1:
        option = "--init-params" if init_params else "--resume"
        raise ConfigError(f"{option} carries one start; set training.restarts to 1 (it is {restarts})")
    if resume:
        return _resumed(config, resume, data_sha)
    if init_params:
        model = results.load_model(init_params)
        results.check_fits(model, config, init_params)
        return State.start(model.theta), {"init_params_from": init_params}, []
    return State.start(_initial(config, restarts, units)), {}, []


def _initial(config, starts, units):
    """A config's ``starts`` starting points (:func:`~nnbackprop.training.initial_theta`): for lm
    and auto drawn in standard units, each neuron bending at a random point of x's range."""
    spread = not is_fixed_rate(config.training.optimizer, config.training.learning_rate)
    return initial_theta(config.model.hidden, config.init.seed, config.init.values, starts, units, spread)


def stepping_units(config, x, y) -> Units:
    """The units a config's optimizer steps in, is judged in and draws a seed's start in: the
    data's standard units for lm and auto, the data's own for gradient descent at a fixed rate
    (the article's, number for number; no pass over the data for it)."""
    t = config.training
    return IDENTITY if is_fixed_rate(t.optimizer, t.learning_rate) else Units.of(x, y, config.trainable_mask)


def _resumed(config, path, data_sha):
    """Carry on the run in ``path``: its state, with notes on what has changed since."""
    model = results.load_model(path)
    results.check_fits(model, config, path)
    state = results.state_from(model.document, config.model.hidden, path)
    was = results.dig(model.document, "config", "training")
    was = was if isinstance(was, dict) else {}
    now = config.to_dict()["training"]
    notes = []
    changed = [k for k in ("learning_rate", "min_step_size", "trainable") if k in was and was[k] != now[k]]
    if changed:
        notes.append(f"{path} was trained with other {', '.join(changed)}; carrying on with this config's")
    if data_sha and results.dig(model.document, "data", "sha256") not in (None, data_sha):
        notes.append(f"{config.data.path} has changed since {path} was trained; carrying on with the new data")
    reason = model.document.get("stop_reason")
    # a run stopped by min_step_size stays stopped, unless that rule is now stricter; any other
    # (max_epochs, converged, interrupted) carries on, and lm or auto stops again at once if converged
    # (at its saved parameters: where their rounding into the data's units undid the test, a step more)
    stricter = config.training.min_step_size < was.get("min_step_size", 0)
    state.reasons = [reason if reason == StopReason.MIN_STEP_SIZE and not stricter else None]
    return state, {"resumed_from": path}, notes
