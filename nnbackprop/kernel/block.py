"""One block of the kernel: buffers for g starts by c samples, and the block's sums.

See :mod:`nnbackprop.kernel` for the matrix ``G`` and the sums ``S`` a block makes.
"""

from __future__ import annotations

import numpy as np


class Block:
    """Buffers and views for one block of ``g`` starts by ``c`` samples, reused every call.

    With g == 1 the views drop the start axis and the products are ``np.dot`` (less
    overhead); with g > 1 they are batched ``np.matmul``.  Both make the same BLAS call
    per start, so a start's numbers do not depend on g.  The block keeps 2 theta, so that
    the first product gives d = dSSR/dpredicted with its factor 2, and x / 2, so that
    z = (2 w) (x / 2) + (2 b) / 2 = w x + b exactly (halving and doubling are exact).
    ``run(theta, sums)`` writes the block's S (see the module) for ``theta`` (g, P) into
    ``sums`` (g, 2H + 4, 2).
    """

    def __init__(self, g, c, hidden, form, x=None, y=None):
        h, p = hidden, 3 * hidden + 1
        one = g == 1
        self.h = h
        self.theta = np.empty((g, p + 1))  # 2 [theta, -1]
        self.theta[:, p] = -2.0
        self.x2 = np.full((2, c), 0.5)  # rows x / 2, 1 / 2
        self.g_ = np.empty((g, 2 * h + 4, c))
        self.g_[:, 2 * h] = 1.0
        self.x = None
        if x is not None:  # the whole data is this one block: put it in once
            self.load(x, y)
        lead = () if one else (g,)
        G = self.g_[0] if one else self.g_
        z, m = np.empty(lead + (h, c)), np.empty(lead + (h, c))
        v = np.empty((2,) + lead + (h, c))
        da, a = G[..., :h, :], G[..., h : 2 * h, :]
        pred_rows = G[..., h : 2 * h + 2, :]  # a, 1, observed
        dx, d_row = G[..., 2 * h + 2, :], G[..., 2 * h + 3, :]
        d = d_row if one else G[:, 2 * h + 3 : 2 * h + 4, :]  # (g, 1, c) for the batched product
        dxd_t = G[..., 2 * h + 2 :, :].swapaxes(-1, -2)  # (..., c, 2): columns d * x, d
        t = self.theta[0] if one else self.theta
        theta_p = self.theta[:, :p]
        w_in = t[..., : 2 * h].reshape(lead + (h, 2))  # rows 2 [w_i, b_i]
        c_out = t[..., 2 * h :] if one else t[:, None, 2 * h :]  # 2 [w_out, b_out, -1]
        mm, two, space, x2 = (np.dot if one else np.matmul), np.array(2.0), self, self.x2

        def run(theta, sums):
            """This block's S for the starts ``theta`` (g, P) into ``sums`` (g, 2H + 4, 2)."""
            np.multiply(theta, two, theta_p)
            mm(w_in, x2, z)  # z = w_in * x + b_in
            form(z, a, da, m, v)  # a = activation(z), da = da/dz
            mm(c_out, pred_rows, d)  # d = 2 (w_out . a + b_out - observed) = dSSR/dpredicted
            np.multiply(d_row, space.x, dx)  # d * dz/dw_in
            mm(G, dxd_t, sums[0] if one else sums)  # every sum of d * [da * x, da, a, 1, ...]

        self.run = run
        if one:
            self._descent_step(theta_p, (mm, w_in, x2, z, form, a, da, m, v, c_out, pred_rows, d, d_row, dx, G, dxd_t))

    def _descent_step(self, theta_p, views):
        """``self.descend(theta, step) -> SSR`` for :class:`Descent`: one epoch in one call.

        From 2 theta and 2 step of the other block, put 2 theta - 2 step here, run the
        kernel on it (as ``run`` does, less the doubling) and leave 2 step of the new
        parameters in ``self.step``: (S * 2 w_out) * rate for w_in and b_in, S * 2 rate for
        w_out and b_out.  ``self.rate_in`` and ``self.rate_out`` are the rates to use.
        """
        mm, w_in, x2, z, form, a, da, m, v, c_out, pred_rows, d, d_row, dx, G, dxd_t = views
        h, space = self.h, self
        self.step = np.empty((1, theta_p.shape[1]))
        sums = np.empty((2 * h + 4, 2))
        s_x, s_1, s_out = sums[:h, 0], sums[:h, 1], sums[h : 2 * h + 1, 1]
        w_out2 = theta_p[0, 2 * h : 3 * h]
        g_in = np.empty(2 * h)  # 2 dSSR/dw_1, 2 dSSR/db_1, ...: 1-D operands only, since
        g_w, g_b = g_in[0::2], g_in[1::2]  # NumPy's 2-D loops with odd strides cost 3 times more
        step_in, step_out = self.step[0, : 2 * h], self.step[0, 2 * h :]
        self.rate_in, self.rate_out = np.zeros(2 * h), np.zeros(h + 1)
        rate_in, rate_out = self.rate_in, self.rate_out

        def descend(theta, step):
            np.subtract(theta, step, theta_p)  # 2 (theta - step)
            mm(w_in, x2, z)  # the kernel, as in run
            form(z, a, da, m, v)
            mm(c_out, pred_rows, d)
            np.multiply(d_row, space.x, dx)
            mm(G, dxd_t, sums)
            np.multiply(s_x, w_out2, g_w)  # 2 dSSR/dw_in = S * 2 w_out
            np.multiply(s_1, w_out2, g_b)  # 2 dSSR/db_in
            np.multiply(g_in, rate_in, step_in)  # 2 step
            np.multiply(s_out, rate_out, step_out)  # dSSR/d[w_out, b_out] * 2 rate = 2 step
            return sums.item(-1) * 0.25  # d . d = 4 SSR

        self.descend = descend

    def load(self, x, y):
        """Put a block's samples in place."""
        np.multiply(x, 0.5, out=self.x2[0])
        self.g_[:, 2 * self.h + 1] = y
        self.x = x
