"""How well predictions fit observed values: SSR, MSE, RMSE, R² and n. NumPy only.

    SSR  = sum (observed - predicted)^2          the loss training minimizes
    MSE  = SSR / n
    RMSE = sqrt(MSE)                              in the target's own units
    R²   = 1 - SSR / SST,  SST = sum (observed - mean(observed))^2

R² compares the fit with the best constant (the mean).  When every observed value is the
same, SST is 0 and R² has no meaning: it is ``None`` here (JSON ``null``), never a
made-up 0 or 1, and :func:`r2_undefined_reason` says why.

:func:`training_columns` reads which CSV columns a result was trained on, so any
dataset with those columns can be scored.
"""

from __future__ import annotations

import math

import numpy as np

from . import network


def regression(observed, predicted) -> dict[str, int | float | None]:
    """The fit of ``predicted`` to ``observed``.

    Parameters
    ----------
    observed, predicted : array_like, shape (n,), n >= 1

    Returns
    -------
    dict
        ``{"n", "ssr", "mse", "rmse", "r2"}`` in that order.  ``r2`` is ``None`` when
        the observed values have zero variance (all equal), where R² is undefined.
        A non-finite prediction (a parameter so large that the output overflows)
        makes the sums ``inf`` or ``nan``; they are returned as they are.
    """
    observed = np.asarray(observed, dtype=np.float64)
    predicted = np.asarray(predicted, dtype=np.float64)
    if observed.shape != predicted.shape or observed.ndim != 1 or observed.size == 0:
        raise ValueError(
            f"need two 1-d arrays of the same length >= 1, got shapes {observed.shape} and {predicted.shape}"
        )
    n = observed.size
    with np.errstate(over="ignore", invalid="ignore"):
        residual = observed - predicted
        ssr = float(network.ssr(residual))
    mse = ssr / n
    sst = _total_sum_of_squares(observed)
    r2 = None if sst is None else 1.0 - ssr / sst
    return {"n": n, "ssr": ssr, "mse": mse, "rmse": math.sqrt(mse) if mse >= 0 else math.nan, "r2": r2}


def _total_sum_of_squares(observed: np.ndarray) -> float | None:
    """sum (observed - mean)^2, or None when it is 0 and R² is undefined."""
    # All equal is tested exactly, not as SST == 0: the mean of equal values can be off
    # in the last bit, which would turn "undefined" into a huge negative R².
    if np.all(observed == observed[0]):
        return None
    with np.errstate(all="ignore"):
        deviation = observed - observed.mean()
        sst = float(deviation @ deviation)
    return sst if sst > 0 else None  # values so close that their spread underflows to 0


def r2_undefined_reason(observed) -> str | None:
    """Why R² is undefined for ``observed``, or None when it is defined."""
    observed = np.asarray(observed, dtype=np.float64)
    if observed.size == 0 or _total_sum_of_squares(observed) is not None:
        return None
    if np.all(observed == observed[0]):
        return f"R² is undefined: every target value is {observed[0]:g} (zero variance), so r2 is null"
    return "R² is undefined: the target values differ by so little that their variance is 0 in floating point"


def best_r2(x, observed) -> float | None:
    """The most of the targets' variation any curve of the input can explain: the R² of each
    input's mean target (1 where no input repeats; 0 where every input is the same).  None
    where R² is undefined."""
    x, yc = _prepared(x, observed)
    if yc is None:
        return None
    _, group, count = np.unique(x, return_inverse=True, return_counts=True)
    with np.errstate(all="ignore"):
        within = yc - (np.bincount(group, weights=yc) / count)[group]
        return 1.0 - float(within @ within) / float(yc @ yc)


def polynomial_r2(x, observed, degree: int) -> tuple[float | None, int]:
    """The R² of the least-squares polynomial of ``degree`` in the input, and how many terms
    the data can tell apart (fewer where it has fewer distinct inputs): computed on x and y
    scaled onto [-1, 1], so that it neither overflows nor underflows.  R² None where undefined."""
    x, yc = _prepared(x, observed)
    if yc is None:
        return None, 0
    with np.errstate(all="ignore"):
        middle, half = (x.max() + x.min()) / 2, (x.max() - x.min()) / 2
        t = (x - middle) / half if half > 0 else np.zeros_like(x)
        terms = np.vander(t, degree + 1, increasing=True)
        coefficients, _, rank, _ = np.linalg.lstsq(terms, yc, rcond=None)
        residual = yc - terms @ coefficients
        return max(0.0, 1.0 - float(residual @ residual) / float(yc @ yc)), int(rank)


def _prepared(x, observed):
    """x as floats, and the targets less their mean, divided by their largest size first (R²
    does not depend on it); None for the targets where R² is undefined."""
    x, observed = np.asarray(x, dtype=np.float64), np.asarray(observed, dtype=np.float64)
    size = float(np.abs(observed).max(initial=0.0))
    scaled = observed / size if 0 < size < math.inf else observed
    if not observed.size or _total_sum_of_squares(scaled) is None:
        return x, None
    return x, scaled - scaled.mean()


def training_columns(document: dict) -> list[str | None]:
    """The input and target column names a result was trained on (None: by position).

    ``data.input``/``data.target`` record the names actually used; ``config.data``
    is the fallback (it may be None there, meaning the first and second column).
    """
    names = []
    for key in ("input", "target"):
        name = None
        for section in (document.get("data"), (document.get("config") or {}).get("data")):
            if isinstance(section, dict) and isinstance(section.get(key), str):
                name = section[key]
                break
        names.append(name)
    return names
