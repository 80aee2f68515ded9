"""The fast SSR and gradient behind :class:`nnbackprop.network.Objective`.

The same chain rule as :func:`nnbackprop.network.ssr_and_gradient`, arranged for speed:

- Samples go through in blocks of ``CHUNK`` (32768): a block's buffers are allocated once
  and reused call after call (``out=``) and stay in the CPU's caches.  (Blocks of 8192 fit
  the 1 MB L2 better but measured slower: a block costs about 25 NumPy calls whatever its
  size, and on a 2-core machine threads gain more from longer calls.)
- Each start of a batch (``theta`` of shape (R, P)) owns a matrix ``G`` of shape (H + 4, c)
  whose rows are, for the c samples of a block::

      rows 0 .. H-1   a_i                     (hidden outputs)
      row  H          1
      row  H + 1      observed
      row  H + 2      d * x
      row  H + 3      d = 2 (predicted - observed) = dSSR/dpredicted

  ``d`` is one matrix product, ``2 [w_out, b_out, -1] @ G[:H + 2]``, and every sum the
  gradient needs is two more: ``G @ d`` gives dSSR/dw_out (sum of d * a_i), dSSR/db_out
  (sum of d) and 4 SSR (d . d), and ``da @ [d * x, d]`` gives, per neuron, the sums of
  da_i/dz_i * d * x and da_i/dz_i * d; times w_out_i (dpredicted/da_i, the same for every
  sample, so it comes out of the sums) they are dSSR/dw_i and dSSR/db_i, in pack order.
- Activations read one ``exp`` (and softplus one ``log1p``) per element, shared between
  a and da/dz; blocks of up to ``SMALL`` samples use the forms with the fewest NumPy calls
  instead, since there the calls, not the elements, cost the time.
- Blocks run on a thread per core (NumPy and BLAS release the GIL inside).  Each block
  writes its own partial sums and these are added in block order, so the result is the
  same whatever the number of threads, and each start's numbers are the same whether it
  runs alone or in a batch: which form runs depends on the data, never on R.
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
    """

    def __init__(self, g, c, hidden, form, x=None, y=None):
        h, p = hidden, 3 * hidden + 1
        one = g == 1
        self.one, self.h = one, h
        self.theta = np.empty((g, p + 1))  # 2 [theta, -1]
        self.theta[:, p] = -2.0
        self.x2 = np.full((2, c), 0.5)  # rows x / 2, 1 / 2
        self.g_ = np.empty((g, h + 4, c))
        self.g_[:, h] = 1.0
        self.x = None
        if x is not None:  # the whole data is this one block: put it in once
            self.load(x, y)
        lead = () if one else (g,)
        G = self.g_[0] if one else self.g_
        z, m, da = np.empty(lead + (h, c)), np.empty(lead + (h, c)), np.empty(lead + (h, c))
        v = np.empty((2,) + lead + (h, c))
        a = G[..., :h, :]
        dx = G[..., h + 2, :]
        pred_rows = G[..., : h + 2, :]  # a, 1, observed
        d_row = G[..., h + 3, :]
        d = d_row if one else G[:, h + 3 : h + 4, :]  # (g, 1, c) for the batched product
        d_col = d_row if one else G[:, h + 3, :, None]  # (g, c, 1) for G @ d
        dxd_t = G[..., h + 2 :, :].swapaxes(-1, -2)  # (..., c, 2): columns d * x, d
        t = self.theta[0] if one else self.theta
        theta_p = self.theta[:, :p]
        w_in = t[..., : 2 * h].reshape(lead + (h, 2))  # rows 2 [w_i, b_i]
        c_out = t[..., 2 * h :] if one else t[:, None, 2 * h :]  # 2 [w_out, b_out, -1]
        mm, two, space, x2 = (np.dot if one else np.matmul), np.array(2.0), self, self.x2

        def run(theta, into_da, into_g):
            """This block's sums for the starts ``theta`` (g, P) into ``into_da``, ``into_g``."""
            np.multiply(theta, two, theta_p)
            mm(w_in, x2, z)  # z = w_in * x + b_in
            form(z, a, da, m, v)  # a = activation(z), da = da/dz
            mm(c_out, pred_rows, d)  # d = 2 (w_out . a + b_out - observed) = dSSR/dpredicted
            np.multiply(d_row, space.x, dx)  # d * dz/dw_in
            mm(da, dxd_t, into_da)  # sums of d * da/dz * [x, 1]; times w_out: dSSR/d[w_in, b_in]
            mm(G, d_col, into_g)  # sums of d * [a, 1, observed, d * x, d]

        self.run = run
        if one:
            self.evaluate = self._evaluator(run, p, t[2 * h : 3 * h])

    def _evaluator(self, run, p, w_out2):
        """``evaluate(theta) -> (ssr, grad)`` for one start, theta of shape (1, P)."""
        h = self.h
        sums = np.empty((1, p + 3))
        into_da, into_g = self.sum_views(sums)
        scale = np.ones((1, p + 3))  # w_out_i twice per neuron (in pack order), 1, ..., 1/4
        scale[0, p + 2] = 0.25  # d . d = 4 SSR
        scale_w, scale_b, half = scale[0, 0 : 2 * h : 2], scale[0, 1 : 2 * h : 2], np.array(0.5)

        def evaluate(theta):
            run(theta, into_da, into_g)
            np.multiply(w_out2, half, scale_w)  # two 1-D copies take fewer NumPy
            np.multiply(w_out2, half, scale_b)  # steps than one 2-D copy
            out = sums * scale
            return out[:, p + 2], out[:, :p]

        return evaluate

    def sum_views(self, sums):
        """Where the two sum products write into ``sums`` (g, K), K = P + 3."""
        h = self.h
        if self.one:
            return sums[0, : 2 * h].reshape(h, 2), sums[0, 2 * h :]
        return sums[:, : 2 * h].reshape(len(sums), h, 2), sums[:, 2 * h :, None]

    def load(self, x, y):
        """Put a block's samples in place."""
        np.multiply(x, 0.5, self.x2[0])
        self.g_[:, self.h + 1] = y
        self.x = x


def finish(sums, theta):
    """(SSR, dSSR/dtheta) from the sums (R, P + 3) of every block."""
    r, p = theta.shape
    h = (p - 1) // 3
    scale = np.ones_like(sums)
    scale[:, : 2 * h] = np.repeat(theta[:, 2 * h : 3 * h], 2, axis=1)  # * dpredicted/da_i = w_out_i
    scale[:, p + 2] = 0.25  # d . d = 4 SSR
    out = sums * scale
    return out[:, p + 2], out[:, :p]


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
        self.alone = {}  # P -> evaluate(theta) of one start, when the data is one block

    def _space(self, g, c, hidden, worker=0):
        key = (g, c, hidden, worker)
        space = self.spaces.get(key)
        if space is None:
            data = (self.x, self.observed) if len(self.blocks) == 1 else ()
            space = self.spaces[key] = _Space(g, c, hidden, self.form, *data)
        return space

    def evaluator(self, p):
        """A quicker ``kernel`` for theta of shape (1, P), float64, once it has been called with one."""
        return self.alone.get(p, self)

    def __call__(self, theta):
        theta = np.asarray(theta, dtype=np.float64)
        flat = theta.ndim == 1
        theta2 = theta[None] if flat else theta
        r, p = theta2.shape
        evaluate = self.alone.get(p) if r == 1 else None
        if evaluate is not None:  # one start, one block: as few NumPy calls as it takes
            ssr, grad = evaluate(theta2)
        else:
            if r == 1 and len(self.blocks) == 1:
                self.alone[p] = self._space(1, self.n, (p - 1) // 3).evaluate
            ssr, grad = finish(self._sums(theta2), theta2)
        return (ssr[0], grad[0]) if flat else (ssr, grad)

    def _sums(self, theta):
        """Every start's sums over all blocks, (R, K), added in block order."""
        r, p = theta.shape
        k, nb = p + 3, len(self.blocks)
        parts = np.zeros((max(nb, 1), r, k))  # no data: every sum is 0
        g = max(1, min(r, GROUP // ((p + 4) * self.blocks[0][1]))) if nb else r
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
            space.run(theta[r0:r1], *space.sum_views(parts[b, r0:r1]))
