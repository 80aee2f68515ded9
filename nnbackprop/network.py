"""The math of the network, NumPy only: activations, forward pass, SSR and its gradient.

One input, H hidden neurons, one linear output::

    z_i = x * w_i + b_i                     (hidden neuron i = 1..H; the article's x_i)
    a_i = activation(z_i)                   (the article's y_i)
    predicted = sum_i a_i * w_(H+i) + b_(H+1)
    SSR = sum over samples of (observed - predicted)^2

Parameters pack into one float64 vector in StatQuest's order,
``w1, b1, w2, b2, ..., wH, bH, w(H+1), ..., w(2H), b(H+1)``, so ``theta[0:2H:2]`` are
the input weights, ``theta[1:2H:2]`` the hidden biases, ``theta[2H:3H]`` the output
weights and ``theta[3H]`` the output bias.  A leading batch axis (several starts
trained together) is allowed everywhere: ``theta`` of shape ``(R, 3H + 1)``.
"""

from __future__ import annotations

import math

import numpy as np

# --- activations: each returns (a, da/dz), sharing one exp where it can --------------


def softplus(z):
    """log(1 + e^z) and its derivative sigmoid(z), stable for any float."""
    t = np.exp(-np.abs(z))  # in (0, 1]: never overflows
    a = np.maximum(z, 0.0) + np.log1p(t)
    da = np.where(z >= 0, 1.0, t) / (1.0 + t)  # sigmoid(z) from the same t
    return a, da


def sigmoid(z):
    """1 / (1 + e^-z) and its derivative sigmoid(z) * (1 - sigmoid(z))."""
    t = np.exp(-np.abs(z))
    a = np.where(z >= 0, 1.0, t) / (1.0 + t)
    da = t / (1.0 + t) ** 2  # = a * (1 - a), without cancellation
    return a, da


def tanh(z):
    """tanh(z) and its derivative 1 - tanh(z)^2."""
    a = np.tanh(z)
    return a, 1.0 - a * a


def relu(z):
    """max(z, 0) and its derivative: 1 where z > 0, else 0 (0 at z = 0)."""
    return np.maximum(z, 0.0), (z > 0).astype(np.float64)


ACTIVATIONS = {"softplus": softplus, "relu": relu, "sigmoid": sigmoid, "tanh": tanh}
DEFAULT_ACTIVATION = "softplus"  # the article's

MAX_HIDDEN = 100_000  # the widest network accepted: already 300,001 parameters

# How the local derivative dy/dx reads for a learner, per activation.
DERIVATIVE_NAMES = {
    "softplus": "sigmoid(x)",
    "relu": "1 if x > 0 else 0",
    "sigmoid": "y * (1 - y)",
    "tanh": "1 - y^2",
}


# --- parameters -------------------------------------------------------------------


def param_names(hidden: int) -> list[str]:
    """Names in pack order: w1, b1, ..., wH, bH, w(H+1), ..., w(2H), b(H+1)."""
    names = []
    for i in range(1, hidden + 1):
        names += [f"w{i}", f"b{i}"]
    names += [f"w{hidden + i}" for i in range(1, hidden + 1)]
    return names + [f"b{hidden + 1}"]


def hidden_of(theta) -> int:
    """The number of hidden neurons H of a packed parameter vector (length 3H + 1)."""
    return (np.shape(theta)[-1] - 1) // 3


def unpack(theta):
    """Views ``(w_in, b_in, w_out, b_out)`` of a packed ``theta`` of shape (..., 3H + 1)."""
    h = hidden_of(theta)
    return theta[..., 0 : 2 * h : 2], theta[..., 1 : 2 * h : 2], theta[..., 2 * h : 3 * h], theta[..., 3 * h]


def pack(w_in, b_in, w_out, b_out):
    """The inverse of :func:`unpack`: a float64 vector (or batch) in pack order."""
    w_in = np.asarray(w_in, dtype=np.float64)
    h = w_in.shape[-1]
    theta = np.empty(w_in.shape[:-1] + (3 * h + 1,))
    theta[..., 0 : 2 * h : 2] = w_in
    theta[..., 1 : 2 * h : 2] = b_in
    theta[..., 2 * h : 3 * h] = w_out
    theta[..., 3 * h] = b_out
    return theta


# --- forward and backward ---------------------------------------------------------


def hidden_layer(theta, x, activation=DEFAULT_ACTIVATION):
    """Hidden inputs ``z`` and outputs ``a``, each of shape (..., n, H), and da/dz."""
    w_in, b_in, _, _ = unpack(theta)
    z = x[:, None] * w_in[..., None, :] + b_in[..., None, :]
    a, da = ACTIVATIONS[activation](z)
    return z, a, da


def forward(theta, x, activation=DEFAULT_ACTIVATION):
    """Predicted values, shape (..., n), for inputs ``x`` of shape (n,)."""
    _, a, _ = hidden_layer(theta, x, activation)
    _, _, w_out, b_out = unpack(theta)
    return np.einsum("...nh,...h->...n", a, w_out) + b_out[..., None]


def ssr(residual):
    """The loss: SSR = sum of residual^2 over the samples (the last axis), residual = observed - predicted.

    Its derivative, dSSR/dpredicted = -2 * residual, starts every chain of the gradient.
    """
    return np.einsum("...n,...n->...", residual, residual)


def decompose(theta, x, activation=DEFAULT_ACTIVATION) -> dict:
    """StatQuest's "flip, stretch, add": each neuron's share of the prediction.

    Returns ``{"neuron1": y1 * w(H+1), ..., "neuronH": yH * w(2H), "bias": b(H+1)}``,
    arrays of shape (n,) for ``theta`` of shape (P,), whose sum is the prediction.
    """
    _, a, _ = hidden_layer(theta, x, activation)  # (n, H)
    _, _, w_out, b_out = unpack(theta)
    parts = {f"neuron{i + 1}": a[:, i] * w_out[i] for i in range(a.shape[-1])}
    parts["bias"] = np.full(len(x), float(b_out))
    return parts


def ssr_and_gradient(theta, x, observed, activation=DEFAULT_ACTIVATION):
    """The SSR and its gradient with respect to every parameter.

    Parameters
    ----------
    theta : ndarray, shape (P,) or (R, P)
        Packed parameters, P = 3H + 1.
    x, observed : ndarray, shape (n,)
        Inputs and observed values.

    Returns
    -------
    ssr : float or ndarray of shape (R,)
    gradient : ndarray, same shape as ``theta``
        dSSR/dtheta, in pack order.
    """
    _, a, da = hidden_layer(theta, x, activation)
    w_in, b_in, w_out, b_out = unpack(theta)
    predicted = np.einsum("...nh,...h->...n", a, w_out) + b_out[..., None]
    residual = observed - predicted
    dpredicted = -2.0 * residual  # dSSR/dpredicted
    dw_out = np.einsum("...n,...nh->...h", dpredicted, a)  # * dpredicted/dw_out = y
    db_out = dpredicted.sum(axis=-1)  # * dpredicted/db_out = 1
    dz = dpredicted[..., None] * w_out[..., None, :] * da  # * dpredicted/dy * dy/dx
    dw_in = np.einsum("n,...nh->...h", x, dz)  # * dx/dw_in = input
    db_in = dz.sum(axis=-2)  # * dx/db_in = 1
    return ssr(residual), pack(dw_in, db_in, dw_out, db_out)


def jacobian(theta, x, activation=DEFAULT_ACTIVATION):
    """dpredicted/dtheta for every sample: shape (n, P) for ``theta`` of shape (P,).

    The chain-rule factors of :func:`ssr_and_gradient` without dSSR/dpredicted, so
    ``gradient = -2 * residual @ jacobian``.  Row k, column by column::

        dpredicted/dw_i     = w_(H+i) * dy_i/dx_i * input    (input weights)
        dpredicted/db_i     = w_(H+i) * dy_i/dx_i * 1        (hidden biases)
        dpredicted/dw_(H+i) = y_i                            (output weights)
        dpredicted/db_(H+1) = 1                              (output bias)
    """
    _, a, da = hidden_layer(theta, x, activation)
    _, _, w_out, _ = unpack(theta)
    dz = w_out * da  # dpredicted/dy * dy/dx, (n, H)
    return pack(x[:, None] * dz, dz, a, np.ones(len(x)))


# --- sums over the data, a block of rows at a time ----------------------------------

# Rows x parameters of the Jacobian held at once (2^20 measured 8 MB more at the peak of a
# whole train run on 10^6 rows, for no speed).
BLOCK_CELLS = 2**19


def blocks(n: int, p: int = 1):
    """Slices of consecutive rows, each at most ``BLOCK_CELLS / p`` rows (a power of two, so that
    the blocks of any split of the data into power-of-two parts line up), in order."""
    rows = 1 << max(0, (BLOCK_CELLS // max(p, 1)).bit_length() - 1)
    return (slice(lo, min(lo + rows, n)) for lo in range(0, n, rows))


def normal_equations(theta, x, observed, activation, columns, full=True):
    """One pass: SSR, JᵀJ (or only its diagonal, ``full=False``) and Jᵀr at ``theta``.

    J is restricted to ``columns`` (the trainable parameters); dSSR/dθ = -2 Jᵀr.  ``x``
    and ``observed`` are arrays or anything sliced into them a block at a time.
    """
    return added(normal_equation_parts(theta, x, observed, activation, columns, full), len(columns), full)


def added(parts, p, full=True):
    """(SSR, JᵀJ or its diagonal, Jᵀr) of ``p`` columns: the blocks' ``parts`` added in their order."""
    ssr, jtj, jtr = 0.0, np.zeros((p, p) if full else p), np.zeros(p)
    for part_ssr, part_jtj, part_jtr in parts:
        ssr += part_ssr
        jtj += part_jtj
        jtr += part_jtr
    return ssr, jtj, jtr


def normal_equation_parts(theta, x, observed, activation, columns, full=True):
    """Each block's (SSR, JᵀJ or its diagonal, Jᵀr), in block order (:func:`blocks` of ``len(x)``
    rows and ``len(theta)`` parameters): :func:`normal_equations` is their sum in this order."""
    _, _, w_out, b_out = unpack(theta)
    h = len(w_out)
    for rows in blocks(len(x), len(theta)):
        jac = jacobian(theta, np.asarray(x[rows]), activation)
        residual = np.asarray(observed[rows]) - (jac[:, 2 * h : 3 * h] @ w_out + b_out)  # dpredicted/dw_out = y
        jac = jac[:, columns]
        yield float(residual @ residual), (jac.T @ jac if full else np.einsum("nj,nj->j", jac, jac)), residual @ jac


def spread(observed, centred: bool = True) -> float:
    """|observed - mean| (``centred``; else |observed|): the scale an exact fit is measured
    against, computed scaled so that it neither overflows nor underflows for any finite data
    (0 for constant data, centred).  Data that is not an array (on disk) is read a block at a time."""
    n = len(observed)
    if isinstance(observed, np.ndarray):
        parts = lambda: [np.asarray(observed, dtype=np.float64)]  # noqa: E731
    else:
        parts = lambda: (np.asarray(observed[rows], dtype=np.float64) for rows in blocks(n))  # noqa: E731
    if not n:
        return 0.0
    with np.errstate(all="ignore"):
        scale = max(float(np.abs(part).max()) for part in parts())
        if not 0 < scale < math.inf:
            return 0.0
        if not centred:
            mean = 0.0
        elif isinstance(observed, np.ndarray):
            mean = float(np.mean(observed / scale))  # NumPy's pairwise mean, as it has always been
        else:
            mean = sum(float(np.sum(part / scale)) for part in parts()) / n
        return scale * math.sqrt(sum(float((part / scale - mean) @ (part / scale - mean)) for part in parts()))


class Passes:
    """The passes over its data that every objective offers beside ``objective(theta)``: the
    normal equations (lm, the verdict, auto's rates) and the spread of the targets.  Needs
    ``x``, ``observed`` and ``activation``; the kernel makes the normal equations its own
    faster way, and an objective on a cluster overrides both."""

    def normal_equations(self, theta, columns, full=True):
        """SSR, JᵀJ (or its diagonal) and Jᵀr at ``theta``, over ``columns``: :func:`normal_equations`."""
        return normal_equations(theta, self.x, self.observed, self.activation, columns, full)

    def spread(self, centred: bool = True) -> float:
        """:func:`spread` of the targets, computed once (each lm or auto start and the verdict ask)."""
        known = self.__dict__.setdefault("_spreads", {})
        if centred not in known:
            known[centred] = spread(self.observed, centred)
        return known[centred]


class Objective(Passes):
    """The SSR and its gradient over one dataset, as training asks for them: the readable math.

    ``objective(theta) -> (ssr, gradient)`` as :func:`ssr_and_gradient`, for ``theta`` of
    shape (P,) or (R, P).  :class:`nnbackprop.kernel.Kernel` offers the same call, fast;
    :func:`nnbackprop.training.train` takes either, and the tests run both.
    """

    def __init__(self, x, observed, activation=DEFAULT_ACTIVATION):
        self.x = np.ascontiguousarray(x, dtype=np.float64)
        self.observed = np.ascontiguousarray(observed, dtype=np.float64)
        self.activation = activation
        self.n = len(self.x)

    def __call__(self, theta):
        return ssr_and_gradient(np.asarray(theta, dtype=np.float64), self.x, self.observed, self.activation)
