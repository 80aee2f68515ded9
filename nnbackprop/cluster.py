"""Training on a Dask cluster: :class:`DaskObjective`, the interface of :class:`nnbackprop.kernel.Kernel`.

The data is split into partitions of consecutive rows, put on the workers once and kept there
(scattered from arrays, or read by each worker from its row range of a ``.npy`` file through
``numpy.memmap``, so that it never passes through the client).  Each call is one map-reduce:
a task per partition computes that partition's per-block partial sums at ``theta`` (a
:class:`~nnbackprop.kernel.Kernel` kept on the worker: its ``block_sums`` or ``normal_equation_parts``),
only those small arrays come back, and the client adds them in global block order, as the
one-machine code does.  So where the partition boundaries fall on block boundaries
(multiples of :data:`ALIGN` rows: the default) the numbers are the one-machine numbers to
the last bit (for the normal equations: where the workers' BLAS runs as many threads as the
one machine's, since a matrix-vector product's sums depend on them, and dask's worker
processes run OpenBLAS on one); elsewhere they agree to about 1e-15 relative.  The tasks of a call are
released when it returns: the scheduler holds the partitions and nothing that grows.

dask and distributed are an optional extra (``pip install '.[dask]'``); only
:attr:`nnbackprop.run.Job.objective` imports this module, and only for ``engine="dask"``.
"""

from __future__ import annotations

import copy
import math

import numpy as np

from . import network
from .kernel import CHUNK, Kernel, finish
from .network import DEFAULT_ACTIVATION
from .units import IDENTITY

try:
    import distributed
except ImportError as error:  # pragma: no cover - the extra is installed where this is used
    raise ImportError("the dask engine needs dask and distributed: pip install 'nnbackprop[dask]'") from error

# Partition boundaries at multiples of ALIGN rows fall on the block boundaries of the kernel
# (CHUNK = 2^15 rows) and of network.blocks (2^19 / P rounded down to a power of two: at most
# 2^17 for P >= 4, that is H >= 1), so the blocks, and their sums, are the one-machine ones.
ALIGN = 1 << 18
MAX_PARTITION = 1 << 23  # rows per partition by default at most: 128 MB of x and y on a worker
# A LocalCluster with no dashboard whose scheduler's HTTP server (always started) takes a free
# port: the default, 8787, may be another cluster's, and then distributed warns.
QUIET = {"dashboard_address": None, "scheduler_kwargs": {"dashboard_address": "127.0.0.1:0"}}
SPREAD_ROWS = network.BLOCK_CELLS  # network.spread's blocks for data that is not an array (network.blocks(n))

assert ALIGN % CHUNK == 0 and ALIGN >= max(1, network.BLOCK_CELLS // 4)


def partition_rows(n: int, workers: int) -> int:
    """The default rows per partition: a multiple of :data:`ALIGN`, about one partition per
    worker thread, at most :data:`MAX_PARTITION` rows (more partitions for more data)."""
    per = -(-n // max(workers, 1))
    return min(MAX_PARTITION, max(ALIGN, -(-per // ALIGN) * ALIGN))


# --- the worker side: module-level functions, so that worker processes import them ------


class Part:
    """One partition on a worker: rows ``lo .. lo + len(x)`` of data of ``total`` rows.

    A kernel (its buffers) for the data in some units is made on the first call in them and
    kept for the next ones; it is not pickled, so a partition that moves to another worker
    makes a new one there.
    """

    def __init__(self, x, y, lo, total, activation, threads=1):
        self.x, self.y = np.ascontiguousarray(x, np.float64), np.ascontiguousarray(y, np.float64)
        self.lo, self.total, self.activation, self.threads = lo, total, activation, threads
        self._kernels = {}

    def __getstate__(self):
        return {**self.__dict__, "_kernels": {}}

    def __len__(self):
        return len(self.x)

    def kernel(self, units=IDENTITY) -> Kernel:
        """The partition's kernel over its data in ``units`` (:class:`~nnbackprop.units.Units`: a view, no copy)."""
        if units not in self._kernels:
            x, y = units.x(self.x), units.y(self.y)
            self._kernels[units] = Kernel(x, y, self.activation, self.threads, total_rows=self.total)
        return self._kernels[units]


def npy_rows(path) -> int:
    """The rows of a 2-D float64 ``.npy`` file with at least 2 columns (a ValueError otherwise)."""
    data = np.load(path, mmap_mode="r")
    if data.ndim != 2 or data.shape[1] < 2 or data.dtype != np.float64:
        raise ValueError(
            f"{path}: expected a 2-D float64 array with columns input, target; got {data.dtype} {data.shape}"
        )
    return data.shape[0]


def read_part(path, lo, hi, total, activation, threads=1) -> Part:
    """Rows ``lo:hi`` of a ``.npy`` file, read on the worker through ``numpy.memmap``."""
    data = np.load(path, mmap_mode="r")
    return Part(np.array(data[lo:hi, 0]), np.array(data[lo:hi, 1]), lo, total, activation, threads)


def block_sums(part: Part, theta, exact=True, units=IDENTITY):
    """The kernel's S of every block of the partition at ``theta`` (R, P); with ``exact=False``
    already added in block order (one block's worth of numbers instead of one per block)."""
    parts = part.kernel(units).block_sums(theta)
    if exact:
        return parts
    sums = parts[0]
    for block in parts[1:]:
        sums += block
    return sums[None]


def normal_parts(part: Part, theta, columns, full, exact=True, units=IDENTITY):
    """The kernel's ``normal_equation_parts`` of the partition, stacked: (k,), (k, ...), (k, p)."""
    p = len(columns)
    pieces = list(part.kernel(units).normal_equation_parts(theta, columns, full))
    ssr = np.array([piece[0] for piece in pieces])
    jtj = np.array([piece[1] for piece in pieces]).reshape((len(pieces),) + ((p, p) if full else (p,)))
    jtr = np.array([piece[2] for piece in pieces]).reshape(len(pieces), p)
    if exact or len(pieces) <= 1:
        return ssr, jtj, jtr
    s, a, b = network.added(pieces, p, full)  # in block order, as the kernel adds
    return np.array([s]), a[None], b[None]


def _spread_blocks(part: Part, units):
    """The partition's targets in ``units``, cut at the global blocks of network.spread (multiples of SPREAD_ROWS)."""
    lo, hi = part.lo, part.lo + len(part)
    cuts = [lo, *range((lo // SPREAD_ROWS + 1) * SPREAD_ROWS, hi, SPREAD_ROWS), hi]
    y = units.y(part.y)
    return [np.asarray(y[a - lo : b - lo]) for a, b in zip(cuts[:-1], cuts[1:]) if b > a]


def spread_max(part: Part, units=IDENTITY) -> float:
    """The largest |target| of the partition, in ``units`` (0 for none)."""
    return max((float(np.abs(block).max()) for block in _spread_blocks(part, units)), default=0.0)


def spread_sums(part: Part, scale, mean=None, units=IDENTITY) -> list:
    """Per block, the sum of target / scale (``mean`` None) or of (target / scale - mean)^2, in ``units``."""
    with np.errstate(all="ignore"):
        if mean is None:
            return [float(np.sum(block / scale)) for block in _spread_blocks(part, units)]
        return [float((block / scale - mean) @ (block / scale - mean)) for block in _spread_blocks(part, units)]


# --- the client side ------------------------------------------------------------------


class DaskObjective:
    """``objective(theta) -> (ssr, gradient)``, ``normal_equations`` and ``spread`` on a Dask cluster.

    The same interface and numbers as :class:`~nnbackprop.kernel.Kernel` (the normal
    equations and spread as :mod:`nnbackprop.network`'s), for :func:`nnbackprop.training.train`
    and every optimizer.  The data is ``x`` and ``observed`` (arrays, scattered to the
    workers once) or ``path``, a 2-D float64 ``.npy`` file whose columns 0 and 1 are the
    input and the target, which every worker reads for its own rows (the path as the workers
    see it); :meth:`in_units` serves the same partitions in other units.  The cluster is ``client``
    (a :class:`distributed.Client`, left open), else a client on ``scheduler`` (an address,
    or a cluster object), else a :class:`distributed.LocalCluster` of ``workers`` processes
    started here; what this object started, :meth:`close` (or leaving a ``with`` block) closes.

    ``rows`` per partition default to :func:`partition_rows` (multiples of :data:`ALIGN`: the
    one-machine numbers to the bit); ``threads`` is each partition's kernel threads;
    ``exact=False`` adds each partition's blocks on its worker, so that only one sum per
    partition comes back (for very many blocks; then the numbers agree to about 1e-15).
    """

    def __init__(
        self,
        x=None,
        observed=None,
        activation=DEFAULT_ACTIVATION,
        *,
        path=None,
        client=None,
        scheduler=None,
        workers=None,
        rows=None,
        threads=1,
        exact=True,
    ):
        if (path is None) == (x is None):
            raise ValueError("give the data as x and observed, or as path, not both")
        if activation not in network.ACTIVATIONS:
            raise ValueError(f"unknown activation {activation!r}")
        self.activation, self.exact, self.path = activation, exact, path
        self.units, self._placed = IDENTITY, True  # the units the data is read in; whether close() releases it
        self._owned = []  # what close() closes, in order
        self._parts = []
        try:
            self.client = client if client is not None else self._connect(scheduler, workers)
            self._place(x, observed, path, rows, threads)
        except BaseException:
            self.close()
            raise

    def _connect(self, scheduler, workers):
        if scheduler is None:
            cluster = distributed.LocalCluster(n_workers=workers, threads_per_worker=1, **QUIET)
            self._owned.append(cluster)
            scheduler = cluster
        if isinstance(scheduler, str):
            distributed.comm.parse_host_port(distributed.comm.get_address_host_port(scheduler))  # ValueError at once
        client = distributed.Client(scheduler, set_as_default=False, timeout="10s")
        self._owned.insert(0, client)  # the client closes before its cluster
        return client

    def _place(self, x, observed, path, rows, threads):
        client = self.client
        if path is not None:
            future = client.submit(npy_rows, path, pure=False)
            try:
                n = future.result()
            finally:  # an error's traceback keeps the future: it must not keep the task too
                client.cancel([future])
        else:
            x, observed = np.ascontiguousarray(x, np.float64), np.ascontiguousarray(observed, np.float64)
            if x.shape != observed.shape or x.ndim != 1:
                raise ValueError(f"x and observed must be 1-D of one length; got {x.shape} and {observed.shape}")
            n = len(x)
        nthreads = sum(client.nthreads().values())
        self.n = n
        self.rows = rows = int(rows or partition_rows(n, nthreads))
        bounds = [(lo, min(lo + rows, n)) for lo in range(0, n, rows)] or [(0, 0)]
        if path is not None:
            self._parts = [
                client.submit(read_part, path, lo, hi, n, self.activation, threads, pure=False) for lo, hi in bounds
            ]
            self._observed = None  # the spread: on the workers, when asked
        else:
            parts = [Part(x[lo:hi], observed[lo:hi], lo, n, self.activation, threads) for lo, hi in bounds]
            self._parts = client.scatter(parts, hash=False)
            self._observed = observed  # the data is here: the spread is network's own numbers, bit for bit
        self._spreads = {}
        for future in self._parts:  # wait for every partition to be in place (nothing comes back)
            error = future.exception()
            if error is not None:
                raise error  # the worker's, here: a file that cannot be read, say
        self.bounds = bounds

    # --- one map-reduce per call ---------------------------------------------------------

    def _map(self, function, *args):
        """``function(part, *args)`` for every partition, one task each; the results, in partition order.

        The tasks' futures are dropped on return, so the scheduler forgets them: the task graph
        never grows with the calls."""
        futures = [self.client.submit(function, part, *args, pure=False) for part in self._parts]
        try:
            return self.client.gather(futures)
        finally:  # the last references: the scheduler forgets the tasks (client.cancel would cost a round trip)
            del futures

    def __call__(self, theta):
        """SSR and gradient at ``theta`` (P,) or (R, P), as :class:`~nnbackprop.kernel.Kernel`."""
        theta = np.asarray(theta, dtype=np.float64)
        flat = theta.ndim == 1
        theta2 = np.ascontiguousarray(theta[None] if flat else theta)
        sums = None
        for blocks in self._map(block_sums, theta2, self.exact, self.units):  # added in global block order
            for block in blocks:
                if sums is None:
                    sums = block.copy()
                else:
                    sums += block
        ssr, grad = finish(sums, theta2)
        return (ssr[0], grad[0]) if flat else (ssr, grad)

    def normal_equations(self, theta, columns, full=True):
        """SSR, JᵀJ (or its diagonal) and Jᵀr at ``theta`` over ``columns``, as :class:`~nnbackprop.kernel.Kernel`."""
        theta = np.asarray(theta, dtype=np.float64)
        columns = np.asarray(columns)
        partitions = self._map(normal_parts, theta, columns, full, self.exact, self.units)
        blocks = ((float(s[k]), a[k], b[k]) for s, a, b in partitions for k in range(len(s)))
        return network.added(blocks, len(columns), full)  # in global block order, as the kernel adds

    def spread(self, centred: bool = True) -> float:
        """:func:`network.spread` of the targets: of the arrays given, or, for a ``.npy`` file,
        computed on the workers as network does for data on disk (blocks of SPREAD_ROWS rows)."""
        if centred not in self._spreads:
            local = self._observed is not None
            value = network.spread(self._observed, centred) if local else self._spread_on_workers(centred)
            self._spreads[centred] = value
        return self._spreads[centred]

    def _spread_on_workers(self, centred) -> float:
        n = self.n
        if not n:
            return 0.0
        scale = max(self._map(spread_max, self.units))
        if not 0 < scale < math.inf:
            return 0.0
        with np.errstate(all="ignore"):
            sums = self._map(spread_sums, scale, None, self.units)
            mean = sum(value for values in sums for value in values) / n if centred else 0.0
            squares = sum(value for values in self._map(spread_sums, scale, mean, self.units) for value in values)
            return scale * math.sqrt(squares)

    # --- the cluster's lifetime ----------------------------------------------------------

    def scheduler_tasks(self) -> int:
        """How many tasks the scheduler holds now (the partitions, between calls)."""
        return self.client.run_on_scheduler(_count_tasks)

    def in_units(self, units) -> DaskObjective:
        """This objective over its data in ``units`` (:class:`~nnbackprop.units.Units`): the same
        partitions, which each task maps as it reads them; closing it releases nothing (close this one)."""
        other = copy.copy(self)
        other.units, other._placed, other._owned, other._spreads = units, False, [], {}
        other._observed = None if self._observed is None else units.y(self._observed)
        return other

    def close(self):
        """Release the partitions; close the client and cluster this object started."""
        parts, self._parts = self._parts, []
        client = getattr(self, "client", None)
        if self._placed and parts and client is not None and client.status == "running":
            client.cancel(parts)
        del parts
        owned, self._owned = self._owned, []
        for thing in owned:  # the client before its cluster
            thing.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _count_tasks(dask_scheduler) -> int:
    return len(dask_scheduler.tasks)
