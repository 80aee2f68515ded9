"""``make bench``: how well training fits people's own data, optimizer by optimizer.

Six 1-D datasets (fixed seeds), each trained from 20 seeded starts (``--seed 0..19``) by
``nnbackprop train`` (in-process, through Click's test runner) with four methods: ``gd``
at a fixed rate, ``gd`` with ``learning_rate: auto``, ``optimizer: lm`` and the config's
defaults (it names only data, hidden and a seed); and, when they
are installed, two anchors: SciPy's ``least_squares(method='trf')`` on the same network
from the same starts, and scikit-learn's ``MLPRegressor`` (lbfgs; relu and tanh). Per
dataset and method: median passes over the data, median wall time, median and best SSR,
median held-out R² and the share of starts within 1% of the best SSR found by the
softplus methods; then the issue's targets as PASS/FAIL lines.  With ``--replicates N``
(and scipy), lm and trf again on N fresh draws of each dataset from other starts: a
share out of 20 moves by a start or two with the draw, and this shows by how much.

    python benchmarks/fit_suite.py [--quick] [--replicates N] [--out PATH] [--data-dir DIR]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import statistics
import sys
import time
import warnings
from collections import Counter

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from click.testing import CliRunner  # noqa: E402

from nnbackprop.cli import cli  # noqa: E402
from nnbackprop.cli.common import ExitStatus  # noqa: E402
from nnbackprop.config import LM_MAX_EPOCHS  # noqa: E402
from nnbackprop.network import forward, jacobian, param_names  # noqa: E402
from nnbackprop.training import initial_theta  # noqa: E402
from nnbackprop.units import Units  # noqa: E402

MAX_EPOCHS = 20_000  # gd (fixed and auto): epochs; the shipped dosage config's budget
MAX_LM = 1000  # lm iterations; trf's max_nfev
GD_MIN_STEP = 1e-6  # gd at a fixed rate: the shipped dosage config's min_step_size
COSINE_FLAG = 1e-3  # "converged" but max_j |J_j.r| / (|J_j| |r|) above this, and no exact fit: flagged
EXACT = 1e-8  # an exact fit: SSR <= EXACT * sum((y - mean y)^2)
FLOOR = 1e-6  # success: SSR <= max(1.01 * best, FLOOR)


def _sine(rng, n):
    x = rng.uniform(0, 2, n)
    return x, np.sin(3 * x)


def _step(rng, n):
    x = rng.uniform(0, 1, n)
    return x, (x > 0.5).astype(float)


def _logistic(rng, n):
    x = rng.uniform(0, 4, n)
    return x, 1 / (1 + np.exp(-3 * (x - 2)))


def _cubic(rng, n):
    x = rng.uniform(-2, 2, n)
    return x, x**3 - 2 * x


# name: (generator, rows, noise sd, hidden). Hidden 4 where the curve has several bends (sine, step,
# cubic); 2 for the dosage data (StatQuest's network) and the logistic (one sigmoid is two softplus neurons).
DATASETS = {
    "dosage": (None, 3, 0.0, 2),
    "sine": (_sine, 400, 0.1, 4),
    "step": (_step, 200, 0.1, 4),
    "logistic": (_logistic, 50, 0.05, 2),
    "cubic": (_cubic, 1000, 0.3, 4),
    "sine-10k": (_sine, 10_000, 0.1, 4),
}
# The fixed gd rate is c / rows (the SSR's gradient grows with the rows): the largest c here at which every start
# is stable, none diverging or ending above its starting SSR. c = 0.03 is the dosage config's 0.01 on 3 rows.
RATES = (1.0, 0.3, 0.1, 0.03, 0.01, 0.003, 0.001)


def make_data(name, index):
    """(x, y, x_test, y_test, true y_test or None): training seed = index, held-out seed = 100 + index."""
    gen, n, sd, _ = DATASETS[name]
    if gen is None:  # the dosage data: no held-out set, the training set stands in
        x, y = np.loadtxt(os.path.join(ROOT, "data", "dosage.csv"), delimiter=",", skiprows=1).T
        return x, y, x, y, None
    sets = []
    for seed in (index, 100 + index):
        rng = np.random.default_rng(seed)
        x, f = gen(rng, n)
        sets += [x, f + sd * rng.standard_normal(n), f]
    return sets[0], sets[1], sets[3], sets[4], sets[5]


def success_limit(best):
    """The SSR a start must reach to count as a success: within 1% of the best found (or FLOOR)."""
    return max(1.01 * best, FLOOR)


def r2(y, predicted):
    y, predicted = np.asarray(y), np.asarray(predicted)
    return float(1 - np.sum((y - predicted) ** 2) / np.sum((y - y.mean()) ** 2))


def cosine(theta, x, y):
    """The gradient cosine, computed here: max_j |J_j.r| / (|J_j| |r|) (0 for an exact fit)."""
    jac, r = jacobian(theta, x), y - forward(theta, x)
    with np.errstate(all="ignore"):
        c = np.abs(r @ jac) / np.linalg.norm(jac, axis=0) / np.linalg.norm(r)
    return float(np.nan_to_num(c, nan=0.0).max())


RUNNER = CliRunner()


def run_cli(config, seed, sets, x, y, xt, yt, hidden):
    """One ``nnbackprop train`` run, in-process, and what the table needs from its result JSON."""
    args = ["train", "-c", config, "--seed", str(seed), "--out", "-", "-q"]
    for key, value in sets.items():
        args += ["--set", f"{key}={value}"]
    res = RUNNER.invoke(cli, args)
    if res.exit_code not in (0, ExitStatus.DIVERGED):
        raise SystemExit(f"nnbackprop {' '.join(args)}: exit {res.exit_code}: {res.stderr or res.exception}")
    doc = json.loads(res.stdout)
    params = doc["params"]
    theta = np.array([np.nan if params[k] is None else params[k] for k in param_names(hidden)])
    ssr = doc["final_loss"] if doc["final_loss"] is not None else np.inf
    run = {"ssr": ssr, "passes": doc.get("passes", doc["epochs"] + 1), "wall": doc["wall_time_s"]}
    run["stable"] = doc["stop_reason"] != "diverged" and ssr <= (doc["loss_history"][0] or np.inf)
    run.update(r2=r2(yt, forward(theta, xt)), epochs=doc["epochs"], converged=doc.get("converged"), exit=res.exit_code)
    run["diverged"] = doc["stop_reason"] == "diverged"
    flags = []
    exact = ssr <= EXACT * np.sum((y - y.mean()) ** 2)  # an exact fit: the residual has no direction to test
    if run["converged"] and not exact and (c := cosine(theta, x, y)) > COSINE_FLAG:
        flags.append(f"converged with gradient cosine {c:.1e} (seed {seed})")
    if run["diverged"] and res.exit_code == 0:
        flags.append(f"diverged but exit 0 (seed {seed})")
    run["flags"] = flags
    return run


def run_trf(seed, x, y, xt, yt, hidden, standard=False):
    """scipy's trf from lm's start, on the data as it is or (``standard``) in lm's own coordinates:
    x and y in standard units, where λ·I damps (the start and the answer mapped, the SSR the data's)."""
    from scipy.optimize import least_squares

    units = Units.of(x, y)
    theta0 = initial_theta(hidden, seed, {}, 1, units, spread=True)[0]  # lm's start, in standard units
    if standard:
        x, y = units.x(x)[:], units.y(y)[:]
        theta0 = units.standard(theta0)
    start = time.perf_counter()
    with np.errstate(all="ignore"):
        sol = least_squares(
            lambda t: forward(t, x) - y, theta0, jac=lambda t: jacobian(t, x), method="trf", max_nfev=MAX_LM
        )
    wall = time.perf_counter() - start
    ssr, theta = (units.ssr(2 * sol.cost), units.original(sol.x)) if standard else (2 * sol.cost, sol.x)
    return {"ssr": ssr, "passes": sol.nfev + (sol.njev or 0), "wall": wall, "r2": r2(yt, forward(theta, xt))}


def run_mlp(activation, seed, x, y, xt, yt, hidden):
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPRegressor

    model = MLPRegressor(
        hidden_layer_sizes=(hidden,), activation=activation, solver="lbfgs", random_state=seed, max_iter=5000
    )
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(x[:, None], y)
    wall = time.perf_counter() - start
    ssr = float(np.sum((model.predict(x[:, None]) - y) ** 2))
    return {"ssr": ssr, "passes": model.n_iter_, "wall": wall, "r2": r2(yt, model.predict(xt[:, None]))}


def methods():
    """name -> (kind, CLI settings or the anchor's activation), in the table's order."""
    out = {
        "gd (fixed rate)": ("fixed", {"training.min_step_size": GD_MIN_STEP}),
        "gd auto": ("cli", {"training.learning_rate": "auto"}),
        "lm": ("cli", {"training.optimizer": "lm", "training.max_epochs": MAX_LM}),
        "defaults": ("cli", {}),  # the config as written: data, hidden and a seed
    }
    for _, settings in out.values():
        if settings and "training.optimizer" not in settings:
            settings["training.max_epochs"] = MAX_EPOCHS
    if importlib.util.find_spec("scipy"):  # the anchors are optional: a missing one is left out
        out["scipy trf"] = ("trf", False)
        out["scipy trf, standard units"] = ("trf", True)
    if importlib.util.find_spec("sklearn"):
        out["sklearn lbfgs relu"] = ("mlp", "relu")
        out["sklearn lbfgs tanh"] = ("mlp", "tanh")
    return out


def fixed_gd(config, n, starts, data, sets):
    """(rate, runs) of gd at the largest rate c / n, c in RATES, at which every start is stable."""
    for c in RATES:
        runs = []
        for s in starts:  # a rate is dropped at its first unstable start
            runs.append(run_cli(config, s, {**sets, "training.learning_rate": f"{c / n:.6g}"}, *data))
            if not runs[-1]["stable"] and c != RATES[-1]:
                break
        else:
            return c / n, runs


def write_dataset(folder, name, index, stem=None):
    x, y, xt, yt, truth = make_data(name, index)
    stem = stem or name
    path = os.path.join(folder, f"{stem}.csv")
    np.savetxt(path, np.column_stack([x, y]), delimiter=",", header="x,y", comments="", fmt="%.17g")
    config = os.path.join(folder, f"{stem}.yaml")
    with open(config, "w") as f:  # only data, hidden and a seed: every other setting is the default
        f.write(f"data:\n  path: {stem}.csv\nmodel:\n  hidden: {DATASETS[name][3]}\ninit:\n  seed: 0\n")
    return config, x, y, xt, yt, truth


def machine():
    versions = [f"Python {platform.python_version()}", f"NumPy {np.__version__}"]
    for module in ("scipy", "sklearn"):
        if importlib.util.find_spec(module):
            versions.append(f"{module} {importlib.import_module(module).__version__}")
    return f"Machine: {platform.machine()}, {os.cpu_count()} cores; {', '.join(versions)}."


def fmt(v):
    return "—" if v is None else f"{v:.3g}" if abs(v) >= 1e-3 or v == 0 else f"{v:.2e}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="a smoke run: 3 starts, a tenth of the budgets")
    ap.add_argument("--replicates", type=int, default=0, help="lm and trf on this many fresh draws of each dataset")
    ap.add_argument("--out", default=os.path.join(ROOT, "benchmarks", "FIT_RESULTS.md"), help="the Markdown report")
    ap.add_argument("--data-dir", default=os.path.join(ROOT, "runs", "fit-data"), help="where the CSVs and configs go")
    args = ap.parse_args()
    global MAX_EPOCHS, MAX_LM
    starts = range(3 if args.quick else 20)
    if args.quick:
        MAX_EPOCHS, MAX_LM = MAX_EPOCHS // 10, MAX_LM // 10
    os.makedirs(args.data_dir, exist_ok=True)
    rows, summary, flags, results = [], [], [], {}
    for index, name in enumerate(DATASETS):
        _, n, _, hidden = DATASETS[name]
        config, x, y, xt, yt, truth = write_dataset(args.data_dir, name, index)
        data = (x, y, xt, yt, hidden)
        runs = {}
        for method, (kind, arg) in methods().items():
            started = time.perf_counter()
            if kind == "fixed":
                rate, runs[method] = fixed_gd(config, n, starts, data, arg)
            elif kind == "cli":
                runs[method] = [run_cli(config, s, arg, *data) for s in starts]
            elif kind == "trf":
                runs[method] = [run_trf(s, *data, arg) for s in starts]
            else:
                runs[method] = [run_mlp(arg, s, *data) for s in starts]
            print(f"{name}: {method}: {time.perf_counter() - started:.1f} s", file=sys.stderr)
        best = min(r["ssr"] for m, rs in runs.items() if "sklearn" not in m for r in rs)
        limit = success_limit(best)
        true_r2 = None if truth is None else r2(yt, truth)
        summary.append(f"| {name} | {n:,} | {hidden} | {rate:.3g} | {fmt(true_r2)} | {fmt(best)} |")
        for method, rs in runs.items():
            ssrs, share = [r["ssr"] for r in rs], sum(r["ssr"] <= limit for r in rs) / len(rs)
            conv = [r["converged"] for r in rs if r.get("converged") is not None]
            found = [f"{name}, {method}: {f}" for r in rs for f in r.get("flags", [])]
            flags += found
            median = {key: statistics.median(r[key] for r in rs) for key in ("passes", "wall", "r2")}
            cli = [f"{sum(conv)}/{len(conv)}" if conv else "—", sum(r.get("diverged", 0) for r in rs), len(found)]
            cli = cli if "diverged" in rs[0] else ["—"] * 3
            cells = [name, method, f"{median['passes']:.0f}", f"{median['wall']:.3f}", fmt(statistics.median(ssrs))]
            cells += [fmt(min(ssrs)), f"{median['r2']:.4f}", f"{share:.0%}", *cli]
            rows.append("| " + " | ".join(map(str, cells)) + " |")
            results.setdefault(name, {})[method] = {"share": share, "runs": rs, **median}
    options = (" --quick" if args.quick else "") + (f" --replicates {args.replicates}" if args.replicates else "")
    text = "\n".join(
        [
            f"# Fit suite\n\n`python benchmarks/fit_suite.py{options}`: {len(starts)} seeded "
            f"starts (--seed 0..{len(starts) - 1}) per dataset and method. gd: at most {MAX_EPOCHS} epochs (fixed "
            f"rate: min_step_size {GD_MIN_STEP:g}); lm: at most {MAX_LM} iterations; defaults: the config as written "
            f"(data, hidden, seed: lm, as it names no learning rate, at most {LM_MAX_EPOCHS} iterations); trf: "
            f"max_nfev {MAX_LM}, from lm's starts (a seed's draw in standard units, mapped to the data's; gd at a "
            f"fixed rate draws in the data's own), on the data as it is; trf, standard units: the same with x and y "
            f"in standard units, the coordinates lm takes its steps in (its λ·I damps there); "
            f"sklearn: max_iter 5000, its default alpha (an L2 penalty), "
            f"relu/tanh: not the same network, so left out of the best SSR.\n\n{machine()}\n",
            "| dataset | rows | hidden | gd fixed rate | true curve's held-out R² | best SSR (softplus methods) |",
            "| --- | ---: | ---: | ---: | ---: | ---: |",
            *summary,
            "\nPasses: passes over the data (`passes`; trf: nfev + njev; sklearn: lbfgs iterations). Wall: training "
            "only (`wall_time_s`; anchors: the fit call). Success: share of starts with SSR <= max(1.01 x best, "
            f"{FLOOR:g}). Conv: `converged: true`. Div: diverged. Flags: converged with a gradient cosine (computed "
            f"here) > {COSINE_FLAG:g} and no exact fit, or diverged with exit 0. Dosage: R² on the training set.\n",
            "| data | method | passes | wall s | median SSR | best SSR | held-out R² | success | conv | div | flags |",
            "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
            *rows,
            "",
            *(f"- flag: {f}" for f in flags),
            "",
            *targets(results, len(starts)),
            *replicates(args.replicates, len(starts), args.data_dir),
        ]
    )
    print(text)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        f.write(text + "\n")


def targets(results, starts):
    """The issue's targets, one PASS/FAIL (or SKIP) line each."""
    lines = []

    def check(ok, what):
        lines.append(f"{'PASS' if ok else 'FAIL'}: {what}")

    lm = results["dosage"]["lm"]["runs"]
    worst, med = max(r["ssr"] for r in lm), statistics.median(r["epochs"] for r in lm)
    check(
        worst <= 1e-6 and med <= 15,
        f"dosage, lm: SSR <= 1e-6 from all {starts} starts (worst {worst:.2e}), median iterations <= 15 ({med:g})",
    )
    if "scipy trf" not in results["dosage"]:
        lines.append("SKIP: lm against trf on every dataset: scipy is not installed")
    for name, runs in results.items():
        if "scipy trf" not in runs:
            continue
        lm, trf = runs["lm"], runs["scipy trf"]
        check(lm["share"] >= trf["share"], f"{name}: lm success {lm['share']:.0%} >= trf's {trf['share']:.0%}")
        check(lm["passes"] <= trf["passes"], f"{name}: lm median passes {lm['passes']:g} <= trf's {trf['passes']:g}")
        if "scipy trf, standard units" in runs:  # not a target: where trf's share comes from
            share = runs["scipy trf, standard units"]["share"]
            lines.append(f"INFO: {name}: trf in standard units (lm's coordinates): {share:.0%}")
    _, _, xt, yt, truth = make_data("sine", list(DATASETS).index("sine"))
    true_r2 = r2(yt, truth)
    defaults = results["sine"]["defaults"]["runs"]
    good = [r["converged"] and abs(r["r2"] - true_r2) <= 0.01 and r["wall"] < 1 for r in defaults]
    d = defaults[0]
    check(
        good[0],
        f"sine, defaults, seed 0: converged {d['converged']}, held-out R² {d['r2']:.4f} vs the true curve's "
        f"{true_r2:.4f}, {d['wall']:.3f} s of training ({sum(good)}/{len(good)} seeds pass all three)",
    )
    return lines


def replicates(count, starts, folder):
    """lm against trf on ``count`` fresh draws of each dataset (data seed index + 10 k), from starts 20 k.. ."""
    if not count or not importlib.util.find_spec("scipy"):
        return []
    lm = methods()["lm"][1]
    lines = [
        f"\n## Replicates\n\nlm and trf on {count} fresh draw{'s' * (count > 1)} of each dataset (the dosage "
        f"data: the same data), {starts} other starts each; success against the best SSR any of them found on that "
        "draw. trf std: trf in standard units, lm's coordinates.\n",
        "| dataset | draw | starts | lm success | trf success | trf std success |",
        "| --- | ---: | --- | ---: | ---: | ---: |",
    ]
    totals = {name: Counter() for name in DATASETS}
    for k in range(1, count + 1):
        seeds = range(k * starts, (k + 1) * starts)
        for index, name in enumerate(DATASETS):
            draw = index if DATASETS[name][0] is None else index + 10 * k
            config, x, y, xt, yt, _ = write_dataset(folder, name, draw, f"{name}-draw{draw}")
            data = (x, y, xt, yt, DATASETS[name][3])
            ssrs = {
                "lm": [run_cli(config, s, lm, *data)["ssr"] for s in seeds],
                "trf": [run_trf(s, *data)["ssr"] for s in seeds],
                "trf std": [run_trf(s, *data, True)["ssr"] for s in seeds],
            }
            limit = success_limit(min(min(v) for v in ssrs.values()))
            wins = {m: sum(v <= limit for v in values) for m, values in ssrs.items()}
            totals[name].update(wins)
            print(f"replicate {k}: {name}: " + ", ".join(f"{m} {w}" for m, w in wins.items()), file=sys.stderr)
            cells = [name, draw, f"{seeds[0]}..{seeds[-1]}", *(f"{w}/{starts}" for w in wins.values())]
            lines.append("| " + " | ".join(map(str, cells)) + " |")
    lines.append("")
    n = count * starts
    for name, won in totals.items():
        lines.append(f"- {name}, all {count} draws: " + ", ".join(f"{m} {won[m]}/{n}" for m in ssrs))
    return lines


if __name__ == "__main__":
    main()
