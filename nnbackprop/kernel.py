"""The SSR and gradient, fast: :class:`Kernel`, the same interface as :class:`nnbackprop.network.Objective`.

The same chain rule as :func:`nnbackprop.network.ssr_and_gradient`, arranged for speed:

- Samples go through in blocks of ``CHUNK`` (32768): a block's buffers are allocated once
  and reused call after call (``out``) and stay in the CPU's caches.  (Blocks of 8192 fit
  the 1 MB L2 better but measured slower: a block costs about 25 NumPy calls whatever its
  size, and on a 2-core machine threads gain more from longer calls.)
- Each start of a batch (``theta`` of shape (R, P)) owns a matrix ``G`` of shape (2H + 4, c)
  whose rows are, for the c samples of a block::

      rows 0 .. H-1     da_i/dz_i                (the activations' slopes)
      rows H .. 2H-1    a_i                      (hidden outputs)
      row  2H           1
      row  2H + 1       observed
      row  2H + 2       d * x
      row  2H + 3       d = 2 (predicted - observed) = dSSR/dpredicted

  ``d`` is one matrix product, ``2 [w_out, b_out, -1] @ G[H:2H + 2]``, and every sum the
  gradient needs is one more, ``S = G @ [d * x, d]`` of shape (2H + 4, 2): its first H
  rows are, per neuron, the sums of da_i/dz_i * d * [x, 1]; times w_out_i (dpredicted/da_i,
  the same for every sample, so it comes out of the sums) they are dSSR/d[w_i, b_i], in
  pack order.  Column 1 of the next H + 1 rows holds dSSR/dw_out (sums of d * a_i) and
  dSSR/db_out (the sum of d), and S[2H + 3, 1] = d . d = 4 SSR.
- Activations read one ``exp`` (and softplus one ``log1p``) per element, shared between
  a and da/dz; blocks of up to ``SMALL`` samples use the forms with the fewest NumPy calls
  instead, since there the calls, not the elements, cost the time.
- Blocks run on a thread per core (NumPy and BLAS release the GIL inside).  Each block
  writes its own partial sums and these are added in block order, so the result is the
  same whatever the number of threads, and each start's numbers are the same whether it
  runs alone or in a batch: which form runs depends on the data, never on R.
- One start on data that fits one block trains through :class:`Descent`, which fuses an
  epoch's step into the kernel: 12 NumPy calls an epoch, the same numbers.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np

CHUNK = 32768  # samples per block
SMALL = 64  # up to this many samples: the activation forms with the fewest NumPy calls
GROUP = 1 << 20  # at most this many floats in one G: larger batches go in groups of starts
THREADS = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1

_pool, _pool_size = None, 0


def _executor(workers):
    """A shared pool of at least ``workers`` threads."""
    global _pool, _pool_size
    if _pool_size < workers:
        _pool, _pool_size = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="nnbackprop"), workers
    return _pool


# --- activations: a = activation(z) into ``a``, da/dz into ``da`` -------------------
# ``m`` (like z) and ``v`` (two of z) are scratch.  0-d arrays as constants are quicker
# than Python floats in NumPy calls on small arrays, and ``out`` is passed by position:
# a keyword costs about 150 ns a call, which is a third of a call on 3 samples.

ZERO, HALF, ONE = np.zeros(()), np.array(0.5), np.ones(())


def _softplus(z, a, da, m, v):
    """a = max(z, 0) + log1p(t), da/dz = sigmoid(z) = (1 if z >= 0 else t) / (1 + t), t = e^-|z|."""
    t, u = v
    np.abs(z, t)
    np.add(z, t, m)
    np.multiply(m, HALF, m)  # max(z, 0) = (z + |z|) / 2, exactly
    np.negative(t, t)
    np.exp(t, t)  # t = e^-|z|: never overflows
    np.log1p(t, a)
    np.add(a, m, a)  # a = max(z, 0) + log1p(t)
    _sigmoid_parts(z, t, m, u)
    np.divide(m, u, da)  # da/dz = sigmoid(z)


def _sigmoid_parts(z, t, m, u):
    """Into m: 1 where z >= 0, else t (= e^z there); into u: 1 + t."""
    np.add(t, ONE, u)
    np.greater_equal(z, ZERO, m)
    np.maximum(m, t, out=m)  # t <= 1


def _softplus_few_calls(z, a, da, m, v):
    """The same in three calls, for small blocks: a = log(1 + e^z), da/dz = sigmoid(z) = e^(z - a)."""
    np.logaddexp(ZERO, z, a)
    np.subtract(z, a, da)
    np.exp(da, da)


def _sigmoid(z, a, da, m, v):
    """a = (1 if z >= 0 else t) / (1 + t), da/dz = t / (1 + t)^2, t = e^-|z|."""
    t, u = v
    np.abs(z, t)
    np.negative(t, t)
    np.exp(t, t)  # t = e^-|z|
    _sigmoid_parts(z, t, m, u)
    np.divide(m, u, a)  # a = sigmoid(z)
    np.divide(t, u, da)
    np.divide(da, u, da)  # da/dz = t / (1 + t) / (1 + t)


def _tanh(z, a, da, m, v):
    """a = tanh(z), da/dz = 1 - a^2."""
    np.tanh(z, a)
    np.multiply(a, a, da)
    np.subtract(ONE, da, da)


def _relu(z, a, da, m, v):
    """a = max(z, 0), da/dz = 1 where z > 0, else 0."""
    np.maximum(z, ZERO, out=a)
    np.greater(z, ZERO, da)


FORMS = {"softplus": _softplus, "sigmoid": _sigmoid, "tanh": _tanh, "relu": _relu}
FEW_CALLS = {**FORMS, "softplus": _softplus_few_calls}


# --- one block of g starts by c samples ------------------------------------------------


class _Space:
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


def _pairs(array, h):
    """``array[..., :2H]`` seen as (..., H, 2): the rows [w_i, b_i] of pack order."""
    view = array[..., : 2 * h].view()
    view.shape = array.shape[:-1] + (h, 2)  # raises rather than copy
    return view


def finish(sums, theta):
    """(SSR, dSSR/dtheta) from S, summed over blocks, of shape (R, 2H + 4, 2)."""
    r, p = theta.shape
    h = (p - 1) // 3
    grad = np.empty((r, p))
    np.multiply(sums[:, :h], theta[:, 2 * h : 3 * h, None], _pairs(grad, h))  # * dpredicted/da_i = w_out_i
    grad[:, 2 * h :] = sums[:, h : 2 * h + 1, 1]
    return sums[:, 2 * h + 3, 1] * 0.25, grad  # d . d = 4 SSR


class Kernel:
    """``kernel(theta) -> (ssr, gradient)`` over fixed data, as :func:`~nnbackprop.network.ssr_and_gradient`.

    ``theta`` has shape (P,) or (R, P); results are fresh arrays: ssr of shape () or (R,),
    gradient like ``theta``.  ``threads`` caps the threads used (default: one per core).
    One kernel reuses its buffers, so it serves one caller thread at a time.
    """

    def __init__(self, x, observed, activation="softplus", threads=None):
        self.x = np.ascontiguousarray(x, dtype=np.float64)
        self.observed = np.ascontiguousarray(observed, dtype=np.float64)
        self.activation = activation
        n = self.n = len(self.x)
        self.form = (FEW_CALLS if n <= SMALL else FORMS)[activation]
        self.blocks = [(lo, min(lo + CHUNK, n)) for lo in range(0, n, CHUNK)]
        self.threads = max(1, THREADS if threads is None else threads)
        self.spaces = {}  # (g, c, hidden, worker) -> _Space

    def _space(self, g, c, hidden, worker=0):
        key = (g, c, hidden, worker)
        space = self.spaces.get(key)
        if space is None:
            data = (self.x, self.observed) if len(self.blocks) == 1 else ()
            space = self.spaces[key] = _Space(g, c, hidden, self.form, *data)
        return space

    def __call__(self, theta):
        theta = np.asarray(theta, dtype=np.float64)
        flat = theta.ndim == 1
        theta2 = theta[None] if flat else theta
        ssr, grad = finish(self._sums(theta2), theta2)
        return (ssr[0], grad[0]) if flat else (ssr, grad)

    def descent(self, theta, rate):
        """A :class:`Descent` from ``theta`` (P,) with ``rate`` (P,), or None where it cannot serve:
        data that spans blocks, or parameters too large to double."""
        if len(self.blocks) != 1 or not np.abs(theta).max() < 2.0**1022:
            return None
        hidden = (len(theta) - 1) // 3
        # blocks of its own: a call of this kernel meanwhile must not touch the descent's parameters
        return Descent([self._space(1, self.n, hidden, ("descent", k)) for k in (0, 1)], theta, rate)

    def _sums(self, theta):
        """Every start's S over all blocks, (R, 2H + 4, 2), added in block order."""
        r, p = theta.shape
        h = (p - 1) // 3
        nb = len(self.blocks)
        parts = np.zeros((max(nb, 1), r, 2 * h + 4, 2))  # no data: every sum is 0
        g = max(1, min(r, GROUP // ((2 * h + 4) * self.blocks[0][1]))) if nb else r
        items = [(b, r0, min(r0 + g, r)) for r0 in range(0, r, g) for b in range(nb)]
        workers = min(self.threads, len(items) // 2) if nb > 1 else 1
        if workers <= 1:
            self._work(theta, parts, items, 0)
        else:
            share = -(-len(items) // workers)
            pool = _executor(workers)
            jobs = [
                pool.submit(self._work, theta, parts, items[i * share : (i + 1) * share], i) for i in range(workers)
            ]
            for job in jobs:
                job.result()
        sums = parts[0]
        for part in parts[1:]:  # in block order: the same sums whatever the threads
            sums += part
        return sums

    def _work(self, theta, parts, items, worker):
        hidden = (theta.shape[1] - 1) // 3
        loaded = {}
        for b, r0, r1 in items:
            lo, hi = self.blocks[b]
            space = self._space(r1 - r0, hi - lo, hidden, worker)
            if len(self.blocks) > 1 and loaded.get(id(space)) != b:
                space.load(self.x[lo:hi], self.observed[lo:hi])
                loaded[id(space)] = b
            space.run(theta[r0:r1], parts[b, r0:r1])


class Descent:
    """Gradient descent of one start on data that fits one block, an epoch in 12 NumPy calls.

    The same numbers as :class:`Kernel` then ``step = gradient * rate``, kept doubled:
    the parameters live as 2 theta in the two blocks' own buffers, used in turn (so the
    last good ones survive a refused step), and ``step`` is 2 step.  Doubling is exact,
    so (S * 2 w_out) * rate = 2 ((S * w_out) * rate) and S * (2 rate) = 2 (S * rate), to
    the last bit, with the gradient made as :func:`finish` makes it.  :meth:`advance`
    moves to the next parameters and returns their SSR; :meth:`reject` moves back.
    ``loss`` is the SSR at the start.
    """

    scale = 2.0  # step and theta here are doubled

    def __init__(self, spaces, theta, rate):
        p = len(theta)
        h = (p - 1) // 3
        self.spaces = spaces
        self.thetas = [space.theta[:, :p] for space in spaces]  # 2 theta, (1, P)
        self.rows = [t[0] for t in self.thetas]
        for space in spaces:
            space.rate_in[:] = rate[: 2 * h]
            space.rate_out[:] = rate[2 * h :] * 2.0
        zero = np.zeros((1, p))
        self.loss = spaces[1].descend(np.multiply(theta, 2.0)[None], zero)  # 2 theta into block 1
        # plan[k]: to step into block k, from the other block's parameters and step
        self.plan = [(spaces[k].descend, self.thetas[1 - k], spaces[1 - k].step, self.rows[k]) for k in (0, 1)]
        self.next, self.pinned, self.kept = 0, None, None
        self.row = self.rows[1]

    def advance(self):
        """Move to the next parameters, theta - step; return the SSR there.

        ``applied`` is the step taken and ``row`` the parameters reached (both doubled)."""
        k = self.next
        if self.pinned == k:  # about to overwrite the best parameters so far: keep them
            self.kept, self.pinned = self.thetas[k].copy(), None
        descend, source, step, self.row = self.plan[k]
        self.next, self.applied = 1 - k, step
        return descend(source, step)

    def reject(self):
        """Move back to the parameters before the last :meth:`advance`."""
        self.next = k = 1 - self.next
        self.row = self.rows[1 - k]

    @property
    def theta(self):
        return self.thetas[1 - self.next] * 0.5

    def pin(self):
        """Remember the current parameters as the best so far; :meth:`best` gives them back."""
        self.pinned, self.kept = 1 - self.next, None

    def best(self):
        return (self.thetas[self.pinned] if self.pinned is not None else self.kept) * 0.5
