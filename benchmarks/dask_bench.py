"""The Dask engine against the one-machine kernel: per-epoch wall time and overhead, as Markdown.

    python benchmarks/dask_bench.py [--rows 10000,100000,...] [--hidden 2] [--workers 2] [--out FILE]

For each size: the time to put the data on the workers (scattered from arrays, and read by the
workers from a .npy file), then the median wall time of one gradient-descent epoch
(``objective(theta)``: SSR and gradient) and of one LM pass (``normal_equations``, full JᵀJ) on
the :class:`~nnbackprop.kernel.Kernel` (all this machine's cores) and on a
:class:`~nnbackprop.cluster.DaskObjective` over a LocalCluster of ``--workers`` worker processes
(one thread each) on the same machine.  Overhead = cluster time - kernel time.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from nnbackprop.cluster import DaskObjective  # noqa: E402
from nnbackprop.kernel import THREADS, Kernel  # noqa: E402


def timed(call, budget=1.5, least=5, most=200):
    """The median wall time of ``call()`` over at least ``least`` runs or ``budget`` seconds."""
    call()  # warm: buffers, caches, the workers' first task
    times, start = [], time.perf_counter()
    while len(times) < least or (time.perf_counter() - start < budget and len(times) < most):
        t = time.perf_counter()
        call()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def measure(kernel, objective, theta, columns):
    """((kernel, dask) per gd epoch, (kernel, dask) per LM pass), in seconds."""
    epoch = timed(lambda: kernel(theta)), timed(lambda: objective(theta))
    lm = (
        timed(lambda: kernel.normal_equations(theta, columns)),
        timed(lambda: objective.normal_equations(theta, columns)),
    )
    return epoch, lm


def ms(seconds):
    return f"{seconds * 1e3:,.1f}"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", default="10000,100000,1000000,10000000")
    parser.add_argument("--hidden", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", help="also write the Markdown here")
    args = parser.parse_args(argv)
    import distributed

    from nnbackprop.cluster import QUIET

    sizes = [int(float(n)) for n in args.rows.split(",")]
    p = 3 * args.hidden + 1
    columns = np.arange(p)
    rng = np.random.default_rng(0)
    theta = rng.standard_normal(p)
    lines = [
        f"# Dask engine: {args.workers} local worker processes vs the one-machine kernel",
        "",
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores (kernel threads {THREADS}),"
        f" Python {platform.python_version()}, NumPy {np.__version__}, distributed {distributed.__version__};"
        f" H = {args.hidden} (P = {p}), softplus, one start; times in ms, medians.",
        "",
        "| rows | partitions | place: scatter / .npy | gd epoch: kernel | dask | overhead |"
        " LM pass: kernel | dask | overhead |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    with (
        distributed.LocalCluster(n_workers=args.workers, threads_per_worker=1, **QUIET) as local,
        distributed.Client(local, set_as_default=False) as client,
        tempfile.TemporaryDirectory() as folder,
    ):
        for n in sizes:
            x = rng.uniform(0, 1, n)
            y = np.sin(6 * x) + 0.1 * rng.standard_normal(n)
            path = os.path.join(folder, "data.npy")
            np.save(path, np.column_stack([x, y]))
            kernel = Kernel(x, y)
            t = time.perf_counter()
            objective = DaskObjective(x, y, client=client)
            scatter = time.perf_counter() - t
            t = time.perf_counter()
            DaskObjective(path=path, client=client).close()
            read = time.perf_counter() - t
            with objective:
                epoch, lm = measure(kernel, objective, theta, columns)
                parts = len(objective.bounds)
            os.remove(path)
            lines.append(
                f"| {n:,} | {parts} | {ms(scatter)} / {ms(read)} | {ms(epoch[0])} | {ms(epoch[1])} |"
                f" {ms(epoch[1] - epoch[0])} | {ms(lm[0])} | {ms(lm[1])} | {ms(lm[1] - lm[0])} |"
            )
            print(lines[-1], file=sys.stderr, flush=True)
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(text)


if __name__ == "__main__":  # worker processes are spawned: they import this file without running it
    main()
