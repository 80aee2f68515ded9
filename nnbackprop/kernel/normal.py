"""The normal equations, fast: one block of rows' SSR, JᵀJ (or its diagonal) and Jᵀr.

The same sums as :func:`nnbackprop.network.normal_equation_parts`, in its blocks of rows,
arranged for speed: the activation forms of :mod:`.forms` into buffers reused call after
call, and Jᵀ built in place, one row per parameter in pack order::

    rows 2i, 2i + 1   w_(H+i) * da_i/dz_i * [x, 1]     (dpredicted/d[w_i, b_i])
    row  2H + i       a_i                              (dpredicted/dw_(H+i))
    row  3H           1                                (dpredicted/db_(H+1))

so that JᵀJ is one product of Jᵀ with itself and Jᵀr one with the residuals.
"""

from __future__ import annotations

import numpy as np


class Normal:
    """Buffers for one block of up to ``c`` rows of a network with ``hidden`` neurons.

    ``normal(theta, x, observed, columns, full)`` -> (SSR, JᵀJ or its diagonal, Jᵀr) of the
    rows given (at most ``c``), over ``columns``; fresh results, the buffers reused.
    """

    def __init__(self, c, hidden, form):
        h = self.h = hidden
        self.form = form
        self.jt = np.empty((3 * h + 1, c))  # Jᵀ, pack order
        self.jt[3 * h] = 1.0
        self.z, self.m = np.empty((h, c)), np.empty((h, c))
        self.v = np.empty((2, h, c))
        self.residual = np.empty(c)

    def __call__(self, theta, x, observed, columns, full=True):
        h, n = self.h, len(x)
        jt, z, m, v, residual = self.jt[:, :n], self.z[:, :n], self.m[:, :n], self.v[:, :, :n], self.residual[:n]
        w_in, b_in, w_out, b_out = theta[0 : 2 * h : 2], theta[1 : 2 * h : 2], theta[2 * h : 3 * h], theta[3 * h]
        dw, db, a = jt[0 : 2 * h : 2], jt[1 : 2 * h : 2], jt[2 * h : 3 * h]
        np.multiply(w_in[:, None], x, z)
        np.add(z, b_in[:, None], z)  # z = x * w_i + b_i, as network.hidden_layer
        self.form(z, a, db, m, v)  # a = activation(z), db = da/dz
        np.multiply(db, w_out[:, None], db)  # dpredicted/db_i = w_(H+i) * da_i/dz_i
        np.multiply(db, x, dw)  # dpredicted/dw_i = that * x
        np.dot(w_out, a, residual)
        np.add(residual, b_out, residual)  # predicted
        np.subtract(observed, residual, residual)  # observed - predicted
        if len(columns) < len(theta):
            jt = jt[columns]
        if full:
            jtj = jt @ jt.T
        else:
            jtj = np.einsum("jn,jn->j", jt, jt)
        return float(residual @ residual), jtj, jt @ residual
