"""``make bench``: data of any size: the CSV loader's speed, and a whole ``train`` run's peak memory.

Peak memory is the whole process's (its maximum resident set size, from the kernel), for
``nnbackprop train`` run as a command: 3 rows against 10^6 rows of CSV, and (with
``--big``) 10^8 rows from a .npy file.  Loading speed is MB of CSV text per second
through ``nnbackprop.data.load_xy``, against NumPy's own ``loadtxt`` and the text's size.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from nnbackprop import data as data_lib  # noqa: E402

# Runs one command and prints its peak resident set size in kB (ru_maxrss of the child).
PEAK = "import resource, subprocess, sys; subprocess.run(sys.argv[1:], check=True); "
PEAK += "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"


def write_csv(path, rows, seed=0):
    rng = np.random.default_rng(seed)
    with open(path, "w") as f:
        f.write("x,y\n")
        for lo in range(0, rows, 1_000_000):
            x = rng.uniform(0, 2, min(1_000_000, rows - lo))
            y = np.sin(3 * x) + 0.1 * rng.standard_normal(len(x))
            np.savetxt(f, np.column_stack([x, y]), delimiter=",", fmt="%.9f")


def write_npy(path, rows, seed=0):
    rng = np.random.default_rng(seed)
    with open(path, "wb") as f:
        np.lib.format.write_array_header_1_0(f, {"descr": "<f8", "fortran_order": False, "shape": (rows, 2)})
        for lo in range(0, rows, 1_000_000):
            x = rng.uniform(0, 2, min(1_000_000, rows - lo))
            f.write(np.column_stack([x, np.sin(3 * x) + 0.1 * rng.standard_normal(len(x))]).tobytes())


def write_config(path, data, **training):
    lines = [f"data:\n  path: {data}\nmodel:\n  hidden: 4\ninit:\n  seed: 0\ntraining:\n"]
    lines += [f"  {key}: {value}\n" for key, value in training.items()]
    with open(path, "w") as f:
        f.write("".join(lines))


def peak_mb(config, out):
    command = [sys.executable, "-m", "nnbackprop", "train", "-c", config, "--out", out, "-q"]
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-c", PEAK, *command], capture_output=True, text=True)
    if result.returncode:
        raise SystemExit(f"{' '.join(command)}: {result.stderr}")
    return int(result.stdout.split()[-1]) / 1024, time.perf_counter() - started


def best_of(f, repeat=3):
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        f()
        times.append(time.perf_counter() - started)
    return min(times)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=os.path.join(ROOT, "runs", "data-bench.md"))
    ap.add_argument("--dir", default=os.path.join(ROOT, "runs", "data-bench"))
    ap.add_argument("--big", action="store_true", help="also 10^8 rows from .npy (1.6 GB on disk, minutes)")
    args = ap.parse_args()
    os.makedirs(args.dir, exist_ok=True)
    lines = [
        "# Data of any size",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores; NumPy {np.__version__}.",
        "",
    ]

    small, large = (os.path.join(args.dir, f"{n}.csv") for n in ("small", "million"))
    write_csv(small, 3)
    write_csv(large, 1_000_000)
    size = os.path.getsize(large) / 1e6
    ours = best_of(lambda: data_lib.load_xy(large, None, None))
    theirs = best_of(lambda: np.loadtxt(large, delimiter=",", skiprows=1))
    lines += [
        "## Loading CSV",
        "",
        "| rows | MB of text | nnbackprop s | nnbackprop MB/s | numpy.loadtxt s | loadtxt MB/s |",
        "| ---: | ---: | ---: | ---: | ---: | ---: |",
        f"| 1,000,000 | {size:.1f} | {ours:.3f} | {size / ours:.0f} | {theirs:.3f} | {size / theirs:.0f} |",
        "",
    ]

    runs = [("3 rows (CSV)", small, {"learning_rate": 0.01, "max_epochs": 3})]
    runs.append(("10^6 rows (CSV)", large, {"learning_rate": 1e-7, "max_epochs": 3}))
    if args.big:
        big = os.path.join(args.dir, "hundred-million.npy")
        if not os.path.exists(big):
            write_npy(big, 100_000_000)
        runs.append(("10^8 rows (.npy), gd", big, {"learning_rate": 1e-9, "max_epochs": 3}))
        runs.append(("10^8 rows (.npy), lm", big, {"optimizer": "lm", "max_epochs": 2}))
    lines += ["## A whole `train` run", "", "| data | epochs | peak RSS MB | wall s |", "| --- | ---: | ---: | ---: |"]
    peaks = {}
    for label, data, training in runs:
        config = os.path.join(args.dir, "config.yaml")
        write_config(config, data, **training)
        peaks[label], wall = peak_mb(config, os.path.join(args.dir, "result.json"))
        lines.append(f"| {label} | {training['max_epochs']} | {peaks[label]:.0f} | {wall:.1f} |")
        print(lines[-1], file=sys.stderr)
    extra = peaks["10^6 rows (CSV)"] - peaks["3 rows (CSV)"]
    lines += [
        "",
        f"10^6 rows take {extra:.0f} MB more than 3 rows (their float64 columns: 16 MB; target: at most 70 MB more).",
        f"CSV loading: {size / ours:.0f} MB/s (target: at least 150 MB/s).",
    ]
    text = "\n".join(lines) + "\n"
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as f:
        f.write(text)
    print(text)


if __name__ == "__main__":
    main()
