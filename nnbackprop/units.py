"""Standard units: x and y mapped onto [-1, 1], where lm and auto fit and are judged.

Levenberg-Marquardt's damping λ·I and gradient descent's one rate treat every parameter
alike, so they fit x in [0, 2] well and x in [1000, 5000], or in [100, 102], or y around
1e6, badly: measured on the sine data, the same starts reach R² 0.98 in the data's own units
and 0.66 once x is shifted by 100.  The network is affine in x and in its output, so fitting

    x' = (x - x_shift) / x_scale        observed' = (observed - y_shift) / y_scale

is the same problem exactly, with the parameters mapped (``x * w + b = x' * w' + b'``):

    w_i' = w_i * x_scale          b_i' = b_i + w_i * x_shift
    w_out' = w_out / y_scale      b_out' = (b_out - y_shift) / y_scale

and SSR = y_scale² * SSR'.  The shift is the middle of the data's range and the scale half
its width, so x' and observed' run from -1 to 1, and the fit does not depend on the units of x
and y or where their zero is.  (Three maps measured, lm from 20 starts on each of the fit suite's five
small datasets: this one reached the best SSR from 20, 16, 7, 5 and 20 starts, the means and
standard deviations from 19, 11, 5, 4 and 20, [0, 1] from 20, 6, 0, 0 and 20; on three fresh
draws of four of them, this one and the means and deviations tied, 110 starts each.)  A
seed's start is drawn in these units too, each hidden neuron bending at a uniform point of [-1, 1]
(:func:`~nnbackprop.training.initial_theta`), so across the data's range of x.  Parameters in
the data's units add x_shift / x_scale to the digits a bias needs: x of 1.7e9 (a Unix time)
over a day costs about 5 of its 16.

A constant y is scaled by its size, not shifted (its exact fit is measured against
|observed|); a constant x is only shifted.  x is not shifted where a hidden bias is frozen
while its weight trains (b_i' would move with w_i'): then it is only scaled, by its largest
size.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np

from .network import blocks, pack, unpack

FAR = 6  # digits of a parameter lost to where the data's zero is, from which a person hears of it


@dataclass(frozen=True)
class Units:
    """x and y in standard units: ``(value - shift) / scale``.  ``Units()`` changes nothing."""

    x_shift: float = 0.0
    x_scale: float = 1.0
    y_shift: float = 0.0
    y_scale: float = 1.0

    @classmethod
    def of(cls, x, observed, trainable=None) -> Units:
        """The standard units of the data (arrays, or columns on disk read a block at a time)."""
        x_shift, x_scale = extent(x)
        y_shift, y_scale = extent(observed)
        if y_scale == 0:  # every target the same: its size is its scale
            y_shift, y_scale = 0.0, abs(y_shift)
        if trainable is not None:
            weights, biases, _, _ = unpack(np.asarray(trainable, bool))
            if (weights & ~biases).any():  # not shifted: scaled by the largest |x|, onto [-1, 1] still
                x_shift, x_scale = 0.0, abs(x_shift) + x_scale
        return cls(x_shift, x_scale or 1.0, y_shift, y_scale or 1.0)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def standard(self, theta) -> np.ndarray:
        """Parameters (P,) or (R, P) in the data's units, in standard units."""
        if self == IDENTITY:
            return np.array(theta, dtype=np.float64)
        w, b, w_out, b_out = unpack(np.asarray(theta, dtype=np.float64))
        with np.errstate(all="ignore"):  # parameters too large for these units: not finite, so diverged
            return pack(
                w * self.x_scale, b + w * self.x_shift, w_out / self.y_scale, (b_out - self.y_shift) / self.y_scale
            )

    def original(self, theta) -> np.ndarray:
        """Parameters in standard units back in the data's units: :meth:`standard` undone."""
        if self == IDENTITY:
            return np.array(theta, dtype=np.float64)
        w, b, w_out, b_out = unpack(np.asarray(theta, dtype=np.float64))
        with np.errstate(all="ignore"):
            w = w / self.x_scale
            return pack(w, b - w * self.x_shift, w_out * self.y_scale, b_out * self.y_scale + self.y_shift)

    def ssr(self, ssr):
        """An SSR in standard units, in the data's units (times y_scale twice: its square may not be a float)."""
        with np.errstate(all="ignore"):
            return ssr * self.y_scale * self.y_scale

    def standard_ssr(self, ssr):
        """An SSR in the data's units, in standard units: :meth:`ssr` undone."""
        with np.errstate(all="ignore"):
            return ssr / self.y_scale / self.y_scale

    def gradient(self, gradient) -> np.ndarray:
        """dSSR'/dθ' in standard units as dSSR/dθ in the data's units (SSR = y_scale² SSR'(θ'(θ)))."""
        g_w, g_b, g_out, g_b_out = unpack(np.asarray(gradient, dtype=np.float64))
        with np.errstate(all="ignore"):
            g = pack(g_w * self.x_scale + g_b * self.x_shift, g_b, g_out / self.y_scale, g_b_out / self.y_scale)
            return g * self.y_scale * self.y_scale

    def far_from_zero(self, names, x=None) -> list[str]:
        """Notes for a person on each of x and y (named ``names``) whose zero is so far from its values,
        against their spread, that parameters in its units keep ``FAR`` fewer digits or more (x of 1.7e9,
        a Unix time, over a minute): what to subtract for them all.  Not for an ``x`` that does not vary
        (its scale is then 1; a pass over ``x`` tells, made only where the note would be given)."""
        notes = []
        for k, (shift, scale) in enumerate(((self.x_shift, self.x_scale), (self.y_shift, self.y_scale))):
            name, lost = names[k], math.log10(1.0 + abs(shift) / scale)
            if lost < FAR or k == 0 and scale == 1.0 and x is not None and one_value(x):
                continue
            name = f"column {name}" if name.isdigit() else name  # a .npy file's columns are numbered
            digits, place = min(17, round(lost) + 3), math.floor(math.log10(scale))
            near = round(abs(shift) / 10.0**place) * 10.0**place  # leaves the values within a width of 0
            near = f"{near:.{max(0, -place)}f}" if near < 1e16 else f"{near:g}"
            notes.append(
                f"{name} runs from {shift - scale:.{digits}g} to {shift + scale:.{digits}g}, far from 0 against "
                f"its width: parameters in its units keep about {max(0, 16 - round(lost))} of their 16 digits; "
                f"{'subtract' if shift > 0 else 'add'} {near} {'from' if shift > 0 else 'to'} {name} to keep "
                "them all"
            )
        return notes

    def x(self, column):
        """The inputs in standard units: a :class:`Standard` view (the column itself where nothing changes)."""
        return _standard(column, self.x_shift, self.x_scale)

    def y(self, column):
        """The targets in standard units, as :meth:`x`."""
        return _standard(column, self.y_shift, self.y_scale)


IDENTITY = Units()


def extent(values) -> tuple[float, float]:
    """The middle of the range of ``values`` and half its width, (min + max) / 2 and (max - min) / 2,
    computed halved first so that neither overflows; an array, or a column read a block at a time."""
    parts = [values] if isinstance(values, np.ndarray) else (values[rows] for rows in blocks(len(values)))
    low, high = math.inf, -math.inf
    for part in parts:
        if len(part):
            low, high = min(low, float(np.min(part))), max(high, float(np.max(part)))
    if low > high:  # no values
        return 0.0, 0.0
    return low / 2 + high / 2, high / 2 - low / 2


def one_value(values) -> bool:
    """Whether every one of ``values`` is the same (an x of one value: no curve does better than the mean)."""
    return extent(values)[1] == 0


def _standard(column, shift, scale):
    return column if shift == 0.0 and scale == 1.0 else Standard(column, shift, scale)


class Standard:
    """A column in standard units, sliced as an array: ``view[lo:hi]`` computes those rows (so
    that no copy of the data is held: the kernel reads it a block at a time, as data on disk)."""

    def __init__(self, column, shift, scale):
        self.column, self.shift, self.scale = column, shift, scale
        self.shape, self.ndim, self.dtype = (len(column),), 1, np.dtype(np.float64)

    def __len__(self) -> int:
        return len(self.column)

    def __getitem__(self, rows):
        return (np.asarray(self.column[rows]) - self.shift) / self.scale  # |x - shift| <= half the range: finite
