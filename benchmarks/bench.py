"""``make bench``: how fast nnbackprop trains, against the usual ways of writing it.

Per-epoch times (medians of several runs) of nnbackprop's trainer and of the
implementations in ``others.py`` on three workloads; restarts as one batch; peak memory;
loading a CSV of 10^6 rows; and the whole ``nnbackprop train`` command against a PyTorch
script.  Every implementation's numbers are checked against nnbackprop's before timing.
The table goes to stdout and to ``benchmarks/RESULTS.md``.

    python benchmarks/bench.py [--quick] [--out PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [ROOT, os.path.dirname(os.path.abspath(__file__))]

import others  # noqa: E402

from nnbackprop import data as data_mod  # noqa: E402
from nnbackprop.kernel import Kernel  # noqa: E402
from nnbackprop.training import Settings, State, initial_theta, train  # noqa: E402

STATQUEST = np.array([2.74, 0.0, -1.13, 0.0, 0.36, 0.63, 0.0])  # w1, b1, w2, b2, w3, w4, b3


def workload(n):
    """(x, y, learning rate): the dosage data for n = 3, else x in [0, 1], 4x(1-x) + noise."""
    if n == 3:
        return np.array([0.0, 0.5, 1.0]), np.array([0.0, 1.0, 0.0]), 0.01
    rng = np.random.default_rng(0)
    x = rng.uniform(0.0, 1.0, n)
    return x, 4 * x * (1 - x) + 0.1 * rng.standard_normal(n), 0.03 / n  # steps as large as for n = 3


def core(threads=None):
    """nnbackprop's trainer, with the signature of ``others.train_*``."""

    def run(x, y, theta, rate, epochs, min_step=0.0, objective=None):
        objective = objective or Kernel(x, y, threads=threads)
        state = train(objective, State.start(theta), Settings(rate, epochs, min_step, np.ones(len(theta), bool)))
        return state.theta[0], np.concatenate(state.losses[:epochs])  # one call: the harness costs no epoch time

    return run


def per_epoch(run, x, y, rate, epochs, repeats, **kw):
    """Median over ``repeats`` runs of the wall time of one epoch, after 0.3 s of untimed runs.

    The untimed runs are a warm-up: the first runs in a process measured up to 1.8x slower
    on 3 rows here, which would penalize whichever implementation is timed first."""
    warm = time.perf_counter() + 0.3
    while time.perf_counter() < warm:
        run(x, y, STATQUEST, rate, epochs, **kw)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run(x, y, STATQUEST, rate, epochs, **kw)
        times.append((time.perf_counter() - start) / epochs)
    return statistics.median(times)


def check(name, run, x, y, rate, reference):
    theta, losses = run(x, y, STATQUEST, rate, 3)
    want_theta, want_losses = reference
    if not (np.allclose(theta, want_theta, rtol=1e-10, atol=0) and np.allclose(losses, want_losses, rtol=1e-10)):
        sys.exit(f"{name} disagrees with nnbackprop: theta {theta} vs {want_theta}")


def epochs_table(args):
    """Rows (workload, implementation, seconds per epoch, note), with the numbers checked first."""
    implementations = [
        ("nnbackprop core", core(), None),
        ("nnbackprop core, 1 thread", core(threads=1), "big"),
        ("straightforward NumPy", others.train_numpy, None),
        ("per-sample Python loop", others.train_loop, None),
        ("PyTorch eager autograd", others.torch_trainer(), None),
        ("JAX jit", others.jax_trainer(), None),
    ]
    for name, run, _ in implementations:
        if run is None:
            print(f"note: {name} skipped: not installed", file=sys.stderr)
    q = args.quick
    epochs = {3: 300 if q else 2000, 10**4: 20 if q else 200, 10**6: 5 if q else 10}
    repeats = 3 if q else 7
    rows = []
    for n in (3, 10**4, 10**6):
        x, y, rate = workload(n)
        reference = core()(x, y, STATQUEST, rate, 3)
        for name, run, only in implementations:
            if run is None or (only == "big" and n == 3):
                continue
            note, xs, ys, e = "", x, y, epochs[n]
            if run is others.train_loop:
                e = max(1, min(e, 2_000 // max(1, n // 1000)))
                if n > 10**4:  # time a subsample, scale up: the loop is linear in n
                    xs, ys, note = x[: 10**4], y[: 10**4], "timed on 10^4 rows, x100"
            ref = reference if xs is x else core()(xs, ys, STATQUEST, rate, 3)
            check(name, run, xs, ys, rate, ref)
            if "nnbackprop" in name:  # one Objective for every repeat, as in training
                objective = Kernel(xs, ys, threads=1 if "1 thread" in name else None)
                t = per_epoch(run, xs, ys, rate, e, repeats, objective=objective)
            else:
                t = per_epoch(run, xs, ys, rate, e, repeats if n < 10**6 or "NumPy" in name else max(3, repeats // 2))
            rows.append((n, name, t * len(x) / len(xs), note or f"{e} epochs x {repeats} runs"))
            print(f"  {n:>8} {name:28s} {rows[-1][2] * 1e6:12.1f} us", file=sys.stderr)
    return rows


def restarts(args, single):
    """Seconds per epoch of 256 starts trained as one batch on the dosage data."""
    x, y, rate = workload(3)
    theta = initial_theta(2, 0, {}, 256)
    objective, epochs = Kernel(x, y), 100 if args.quick else 500
    times = []
    for _ in range(3 if args.quick else 5):
        start = time.perf_counter()
        train(objective, State.start(theta), Settings(rate, epochs, 0.0, np.ones(7, bool)))
        times.append((time.perf_counter() - start) / epochs)
    return statistics.median(times)


def lm_passes(args):
    """Rows (rows, readable seconds, kernel seconds) of one LM pass, the normal equations at the
    sine config's H = 4 (P = 13), SSR, full JᵀJ and Jᵀr: network's readable math against the
    kernel's, their numbers checked against each other first."""
    from nnbackprop.network import Objective

    theta, columns, rows = initial_theta(4, 0, {}, 1)[0], np.arange(13), []
    for n in (3, 400, 10**4, 10**6):
        x, y, _ = workload(n)
        readable, kernel = Objective(x, y).normal_equations, Kernel(x, y).normal_equations
        for got, want in zip(kernel(theta, columns), readable(theta, columns)):
            if not np.allclose(got, want, rtol=1e-12, atol=0):
                sys.exit(f"the kernel's normal equations disagree with network's on {n} rows")
        times = []
        for pass_ in (readable, kernel):
            calls = max(5, min(2000, int(2e7 // (n * 13))) // (10 if args.quick else 1))
            pass_(theta, columns)  # warm: the kernel's buffers
            start = time.perf_counter()
            for _ in range(calls):
                pass_(theta, columns)
            times.append((time.perf_counter() - start) / calls)
        rows.append((n, *times))
        print(f"  lm pass {n:>8}: readable {times[0] * 1e6:.1f} us, kernel {times[1] * 1e6:.1f} us", file=sys.stderr)
    return rows


def peak_memory(n, epochs, run="core"):
    """Peak bytes that NumPy and Python allocate while training, the data already loaded."""
    x, y, rate = workload(n)
    tracemalloc.start()
    tracemalloc.reset_peak()
    before = tracemalloc.get_traced_memory()[0]
    if run == "core":
        core()(x, y, STATQUEST, rate, epochs)
    else:
        others.train_numpy(x, y, STATQUEST, rate, epochs)
    peak = tracemalloc.get_traced_memory()[1] - before
    tracemalloc.stop()
    return peak


def csv_load(args):
    x, y, _ = workload(10**6)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "big.csv")
        np.savetxt(path, np.column_stack([x, y]), fmt="%.17g", delimiter=",", header="x,y", comments="")
        times = []
        for _ in range(1 if args.quick else 3):
            start = time.perf_counter()
            _, (xs, ys) = data_mod.load_columns(path, [None, None])
            times.append(time.perf_counter() - start)
        assert np.array_equal(xs, x) and np.array_equal(ys, y)
    return statistics.median(times)


TORCH_SCRIPT = """
import torch
x = torch.tensor([0.0, 0.5, 1.0], dtype=torch.float64)
y = torch.tensor([0.0, 1.0, 0.0], dtype=torch.float64)
theta = torch.tensor([2.74, 0.0, -1.13, 0.0, 0.36, 0.63, 0.0], dtype=torch.float64, requires_grad=True)
losses = []
for epoch in range(1, 20001):
    z = x[:, None] * theta[0:4:2] + theta[1:4:2]
    predicted = torch.logaddexp(torch.zeros((), dtype=torch.float64), z) @ theta[4:6] + theta[6]
    loss = ((y - predicted) ** 2).sum()
    loss.backward()
    losses.append(loss.item())
    with torch.no_grad():
        step = 0.01 * theta.grad
        theta -= step
        theta.grad = None
    if step.abs().max().item() < 1e-6:
        break
print(epoch, losses[-1])
"""


def whole_commands(args):
    """{name: (wall seconds, epochs run)} of ``nnbackprop train`` on the dosage config and the PyTorch script."""
    env = {**os.environ, "PYTHONPATH": ROOT}
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        script, result = os.path.join(tmp, "torch_dosage.py"), os.path.join(tmp, "dosage.json")
        with open(script, "w") as f:
            f.write(TORCH_SCRIPT)
        commands = {
            "nnbackprop train --config configs/dosage.yaml": [sys.executable, "-m", "nnbackprop", "train", "-q"]
            + ["--config", "configs/dosage.yaml", "--out", result],
            "the same training as a PyTorch script": [sys.executable, script] if others.torch_trainer() else None,
        }
        for name, command in commands.items():
            if command is None:
                continue
            times = []
            for _ in range(1 if args.quick else 3):
                start = time.perf_counter()
                done = subprocess.run(command, cwd=ROOT, env=env, check=True, capture_output=True, text=True)
                times.append(time.perf_counter() - start)
            if command[-1] == result:
                with open(result) as f:
                    epochs = json.load(f)["epochs"]
            else:
                epochs = int(done.stdout.split()[0])
            out[name] = statistics.median(times), epochs
    return out


def machine():
    model = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            model = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    versions = [f"Python {platform.python_version()}", f"NumPy {np.__version__}"]
    for module in ("torch", "jax"):
        try:
            versions.append(f"{module} {__import__(module).__version__}")
        except ImportError:
            pass
    return f"{model}, {cores} cores; " + ", ".join(versions)


def fmt(seconds):
    for unit, scale in (("s", 1), ("ms", 1e-3), ("us", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds * 1e9:.3g} ns"


def report(args):
    rows = epochs_table(args)
    base = {n: t for n, name, t, _ in rows if name == "straightforward NumPy"}
    single = next(t for n, name, t, _ in rows if n == 3 and name == "nnbackprop core")
    lines = [
        "# Benchmark results",
        "",
        f"Machine: {machine()}. float64. `python benchmarks/bench.py{' --quick' if args.quick else ''}`.",
        "",
        "Per epoch (gradient, step, stop check, loss recorded), median of runs; x = times faster than",
        "the straightforward NumPy baseline measured in the same run.",
        "",
        "| rows | implementation | per epoch | vs NumPy baseline | measured |",
        "| ---: | --- | ---: | ---: | --- |",
    ]
    for n, name, t, note in rows:
        lines.append(f"| {n:,} | {name} | {fmt(t)} | {base[n] / t:.2f}x | {note} |")
    torch = {n: t for n, name, t, _ in rows if name.startswith("PyTorch")}
    core_big = next(t for n, name, t, _ in rows if n == 10**6 and name == "nnbackprop core")
    if 10**6 in torch:
        lines += ["", f"At 10^6 rows nnbackprop's epoch is {torch[10**6] / core_big:.2f}x faster than PyTorch eager's."]
    batch = restarts(args, single)
    lines += [
        "",
        f"Restarts: 256 starts on the dosage data as one batch: {fmt(batch)} per epoch, against "
        f"256 x {fmt(single)} = {fmt(256 * single)} run one by one: {batch / (256 * single):.3f} of it.",
        "",
        "Peak memory allocated while training (tracemalloc; the data itself excluded):",
        "",
        f"| rows | implementation | 2 epochs | {4 if args.quick else 20} epochs |",
        "| ---: | --- | ---: | ---: |",
    ]
    for n in (3, 10**6):
        for run, name in (("core", "nnbackprop core"), ("numpy", "straightforward NumPy")):
            two, twenty = (peak_memory(n, e, run) for e in (2, 4 if args.quick else 20))
            lines.append(f"| {n:,} | {name} | {two / 2**20:.2f} MiB | {twenty / 2**20:.2f} MiB |")
    lines += [
        "",
        "One LM iteration's pass over the data (`normal_equations`: SSR, JᵀJ and Jᵀr; H = 4, 13 parameters),",
        "mean of repeated calls: network's readable math against the kernel's, which `train` runs.",
        "",
        "| rows | readable | kernel | x faster |",
        "| ---: | ---: | ---: | ---: |",
    ]
    lines += [f"| {n:,} | {fmt(a)} | {fmt(b)} | {a / b:.2f}x |" for n, a, b in lm_passes(args)]
    load = csv_load(args)
    commands = whole_commands(args)
    lines += ["", f"Loading 10^6 CSV rows with `nnbackprop.data.load_columns`: {fmt(load)}.", ""]
    lines.append("Whole command, the dosage config trained to convergence (20000-epoch cap), wall time:")
    lines += [f"- {name}: {fmt(t)} ({epochs} epochs)" for name, (t, epochs) in commands.items()]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
        with open(args.out, "w") as f:
            f.write(text)
        print(f"wrote {args.out}", file=sys.stderr)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer epochs and runs (about a minute)")
    parser.add_argument("--out", default=os.path.join(ROOT, "benchmarks", "RESULTS.md"), help="'' writes nothing")
    report(parser.parse_args())


if __name__ == "__main__":
    main()
