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

NAMES = ("n", "ssr", "mse", "rmse", "r2")


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
        ssr = float(residual @ residual)
    mse = ssr / n
    r2 = None
    if not _all_equal(observed):
        deviation = observed - observed.mean()
        r2 = 1.0 - ssr / float(deviation @ deviation)
    return {"n": n, "ssr": ssr, "mse": mse, "rmse": math.sqrt(mse) if mse >= 0 else math.nan, "r2": r2}


def _all_equal(values: np.ndarray) -> bool:
    # Exact test, not SST == 0: the mean of equal values can be off in the last bit,
    # which would turn "undefined" into a huge negative R².
    return bool(np.all(values == values[0]))


def r2_undefined_reason(observed) -> str | None:
    """Why R² is undefined for ``observed``, or None when it is defined."""
    observed = np.asarray(observed, dtype=np.float64)
    if observed.size and _all_equal(observed):
        return f"R² is undefined: every target value is {observed[0]:g} (zero variance), so r2 is null"
    return None


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
