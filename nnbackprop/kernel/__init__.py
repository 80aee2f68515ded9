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

- The normal equations (Levenberg-Marquardt's pass, the verdict, auto's rates) go
  through :class:`Normal`: network's blocks of rows, the same forms, Jᵀ built in place.

The package: this module (the kernel and its blocked, threaded sums), ``forms`` (the
activations in place), ``block`` (one block's buffers and products), ``descent``
(the fused gradient descent) and ``normal`` (the normal equations).
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from ..network import DEFAULT_ACTIVATION, Passes, added, blocks
from .block import Block
from .descent import Descent
from .forms import FEW_CALLS, FORMS
from .normal import Normal

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


class Kernel(Passes):
    """``kernel(theta) -> (ssr, gradient)`` over fixed data, as :func:`~nnbackprop.network.ssr_and_gradient`.

    ``theta`` has shape (P,) or (R, P); results are fresh arrays: ssr of shape () or (R,),
    gradient like ``theta``.  ``threads`` caps the threads used (default: one per core).
    One kernel reuses its buffers, so it serves one caller thread at a time.
    """

    def __init__(self, x, observed, activation=DEFAULT_ACTIVATION, threads=None, total_rows=None):
        on_disk = not isinstance(x, np.ndarray) and hasattr(x, "__getitem__") and not isinstance(x, (list, tuple))
        self.x = x if on_disk else np.ascontiguousarray(x, dtype=np.float64)  # on disk: read a block at a time
        self.observed = observed if on_disk else np.ascontiguousarray(observed, dtype=np.float64)
        self.activation = activation
        n = self.n = len(self.x)
        # total_rows: the whole data's rows when this kernel holds one part of it (a partition on a
        # cluster), so that the part runs the whole's activation form and makes the whole's numbers
        self.form = (FEW_CALLS if (n if total_rows is None else total_rows) <= SMALL else FORMS)[activation]
        self.blocks = [(lo, min(lo + CHUNK, n)) for lo in range(0, n, CHUNK)]
        self.threads = max(1, THREADS if threads is None else threads)
        self.spaces = {}  # (g, c, hidden, worker) -> Block

    def _space(self, g, c, hidden, worker=0):
        key = (g, c, hidden, worker)
        space = self.spaces.get(key)
        if space is None:
            data = (np.asarray(self.x[: self.n]), np.asarray(self.observed[: self.n])) if len(self.blocks) == 1 else ()
            space = self.spaces[key] = Block(g, c, hidden, self.form, *data)
        return space

    def __call__(self, theta):
        theta = np.asarray(theta, dtype=np.float64)
        flat = theta.ndim == 1
        theta2 = theta[None] if flat else theta
        ssr, grad = finish(self._sums(theta2), theta2)
        return (ssr[0], grad[0]) if flat else (ssr, grad)

    def normal_equations(self, theta, columns, full=True):
        """SSR, JᵀJ (or its diagonal) and Jᵀr at ``theta`` (P,) over ``columns``: the sums of
        :func:`~nnbackprop.network.normal_equations`, block for block, through :class:`Normal`."""
        return added(self.normal_equation_parts(theta, columns, full), len(columns), full)

    def normal_equation_parts(self, theta, columns, full=True):
        """Each block's (SSR, JᵀJ or its diagonal, Jᵀr), in the blocks of rows and the order of
        :func:`~nnbackprop.network.normal_equation_parts`.  (One thread: two measured no faster.)"""
        theta = np.asarray(theta, dtype=np.float64)
        columns = np.asarray(columns, dtype=np.intp)
        parts = list(blocks(self.n, len(theta)))  # none for no rows, as network's
        key = ("normal", len(theta))
        if parts and key not in self.spaces:  # buffers for the longest block, the first
            self.spaces[key] = Normal(parts[0].stop, (len(theta) - 1) // 3, self.form)
        normal = self.spaces.get(key)
        for rows in parts:
            yield normal(theta, np.asarray(self.x[rows]), np.asarray(self.observed[rows]), columns, full)

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
        parts = self.block_sums(theta)
        sums = parts[0]
        for part in parts[1:]:  # in block order: the same sums whatever the threads
            sums += part
        return sums

    def block_sums(self, theta):
        """Every block's S before they are added, (blocks, R, 2H + 4, 2), for ``theta`` (R, P).

        At least one block (zeros where there is no data).  Adding them in block order, as
        :meth:`__call__` does, gives its sums: a cluster adds its partitions' blocks so."""
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
        return parts

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
