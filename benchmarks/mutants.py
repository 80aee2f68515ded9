# ruff: noqa: E501  (the mutant keys in EQUIVALENT are long literal strings)
"""Mutation testing of the core modules, on a scratch copy (the checkout is never touched).

    python benchmarks/mutants.py map                    # copy the repo, run the suite under coverage: line -> tests
    python benchmarks/mutants.py run [--sample 300] [--seed 13] [--jobs 2] [--modules training.py ...]
    python benchmarks/mutants.py rerun                  # the survivors again, with the tests as they are now
    python benchmarks/mutants.py report                 # counts per module, the score, every survivor
    python benchmarks/mutants.py show KEY               # the diff of one mutant

Work folder: ``--work`` (default ``/tmp/mut``). ``map`` copies the package and the tests at ``--rev``
(default ``HEAD``: ``git archive``, so half-done edits in the working tree do not count; ``--rev WORKTREE``
copies the working tree instead) plus any untracked ``tests/test_mutants_*.py``, installs ``coverage``
into ``WORK/pylib`` (``pip install --target``: nothing of it enters the project's environment), and runs
the whole suite once with a per-test coverage context (subprocesses too, through a ``sitecustomize``),
so that each mutant runs only the tests that execute its line, fastest first, with ``-x``.

Operators (on the AST, written back as a source-segment replacement): ``cmp`` flips a comparison
(``<`` ``<=``, ``==`` ``!=``, ``is``/``in`` and their negations); ``num`` changes a numeric constant (+1,
x10, 0 <-> 1); ``bool`` swaps True/False; ``boolop`` swaps and/or; ``not`` drops a ``not``; ``neg`` negates
an ``if``/``while`` condition; ``drop`` replaces a raise, a call statement, an augmented assignment, an
``if`` block (a check) or an ``assert`` with ``pass``; ``slice`` moves a slice bound by one; ``range``
moves a ``range`` stop by one; ``arith`` swaps ``+``/``-`` and ``*``/``/``.

A mutant is *killed* when its tests fail (or time out). ``rerun`` (or ``run --files``) takes a survivor
again against every test file that holds one of its covering tests plus every ``tests/test_mutants_*.py``
(a module fixture executes a line for the first test only; a Dask worker's lines are not always traced). Survivors listed in :data:`EQUIVALENT` are
the ones judged not to change behaviour; the score counts the others.
"""

from __future__ import annotations

import argparse
import ast
import difflib
import io
import itertools
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tarfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable

CORE = [
    "network.py",
    "kernel/__init__.py",
    "kernel/block.py",
    "kernel/descent.py",
    "kernel/forms.py",
    "training.py",
    "optimizers.py",
    "results.py",
    "data.py",
    "config.py",
    "yamltree.py",
    "files.py",
    "run.py",
    "disk.py",
    "stopping.py",
]

# Survivors judged equivalent: key -> why the behaviour cannot change. Filled in from `report`.
EQUIVALENT: dict[str, str] = {
    "network.py::softplus::cmp `z >= 0` -> `(z > 0)`#0": "at z = 0 both branches give t = e^0 = 1, so sigmoid = 1 / (1 + 1) either way",
    "kernel/__init__.py::Kernel._work::boolop `len(self.blocks) > 1 and loaded.get(id(space)) != b` -> "
    "`(len(self.blocks) > 1 or loaded.get(id(space)) != b)`#0": "one block: the mutant reloads the same rows into the work space each pass (slower, same numbers)",
    "data.py::_parse_fast::cmp `raw == ord(\",\")` -> `(raw != ord(','))`#0": "the field counts no longer match, so the fast parser declines (None) and the slow one parses the same",
    "disk.py::Table.read::drop `if last is not None and last[0] == (lo, hi):` -> `pass`#0": "drops the one-block cache: the same rows are read from disk again (slower, same array)",
    "results.py::state_from::boolop `isinstance(v, (int, float)) and not isinstance(v, bool)` -> "
    "`(isinstance(v, (int, float)) or not isinstance(v, bool))`#0": "a bool or string in loss_history is still refused, one line later, by number() (ResultError naming it)",
    "kernel/__init__.py::Kernel.block_sums::range `r` -> `(r + 1)`#0": "the extra group starts at row r and ends at min(r + g, r) = r: an empty group adds nothing",
    "files.py::Outputs.write_bytes::num `0` -> `1`#0": "os.umask(x) only reads the umask here: it is set back at once, so only the old value matters",
    "network.py::pack::slice `2 * h` -> `(2 * h + 1)`#1": "1:2h:2 and 1:2h+1:2 pick the same odd indices 1, 3, ..., 2h-1",
}

PLUGIN = """
import json, os, time
import coverage
import pytest

_durations = {}

@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    cov = coverage.Coverage.current()
    os.environ["MUTCOV_CTX"] = item.nodeid
    if cov is not None:
        cov.switch_context(item.nodeid)
    t = time.perf_counter()
    yield
    _durations[item.nodeid] = time.perf_counter() - t
    if cov is not None:
        cov.switch_context("")

def pytest_sessionfinish(session):
    with open(os.environ["MUTCOV_DURATIONS"], "w") as f:
        json.dump(_durations, f)
"""

SITECUSTOMIZE = """
import os
if os.environ.get("COVERAGE_PROCESS_START"):
    import coverage
    _cov = coverage.process_startup()
    if _cov is not None and os.environ.get("MUTCOV_CTX"):
        _cov.switch_context(os.environ["MUTCOV_CTX"])
"""


# --- the copy -------------------------------------------------------------------------------------


def make_copy(dest: Path, rev: str) -> None:
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    if rev == "WORKTREE":
        files = subprocess.run(
            ["git", "-C", str(ROOT), "ls-files", "--cached", "--others", "--exclude-standard"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
        for name in files:
            src = ROOT / name
            if src.is_file():
                (dest / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(src, dest / name)
    else:
        blob = subprocess.run(["git", "-C", str(ROOT), "archive", rev], capture_output=True, check=True).stdout
        with tarfile.open(fileobj=io.BytesIO(blob)) as tar:
            tar.extractall(dest)
        for extra in (ROOT / "tests").glob("test_mutants_*.py"):
            shutil.copy2(extra, dest / "tests" / extra.name)


def sync_new_tests(dest: Path) -> None:
    for extra in (ROOT / "tests").glob("test_mutants_*.py"):
        shutil.copy2(extra, dest / "tests" / extra.name)


def env_for(copy: Path, extra: dict | None = None) -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(copy)  # absolute: the tests' subprocesses run in other folders
    env["PYTHONDONTWRITEBYTECODE"] = "1"  # a mutant of the same size and second must not reuse a .pyc
    env.pop("COVERAGE_PROCESS_START", None)
    env.update(extra or {})
    return env


def check_import(copy: Path) -> None:
    out = subprocess.run(
        [PYTHON, "-c", "import nnbackprop; print(nnbackprop.__file__)"],
        cwd=copy,
        env=env_for(copy),
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    if not out.startswith(str(copy)):
        sys.exit(f"the copy is not what is imported: {out}")


# --- map: which tests run which line --------------------------------------------------------------


def cmd_map(args) -> None:
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    pylib = work / "pylib"
    if not (pylib / "coverage").exists():
        subprocess.run([PYTHON, "-m", "pip", "install", "--quiet", "--target", str(pylib), "coverage"], check=True)
    base = work / "base"
    make_copy(base, args.rev)
    check_import(base)
    hook = work / "hook"
    hook.mkdir(exist_ok=True)
    (hook / "mutcov_plugin.py").write_text(PLUGIN)
    (hook / "sitecustomize.py").write_text(SITECUSTOMIZE)
    rc = work / "coveragerc"
    rc.write_text(
        f"[run]\nsource = {base / 'nnbackprop'}\nparallel = true\ndata_file = {work / 'cov' / '.coverage'}\n"
        "concurrency = thread,multiprocessing\n"
    )
    if (work / "cov").exists():
        shutil.rmtree(work / "cov")
    (work / "cov").mkdir()
    env = env_for(base)
    env["PYTHONPATH"] = os.pathsep.join([str(base), str(hook), str(pylib)])
    env["COVERAGE_PROCESS_START"] = str(rc)
    env["MUTCOV_DURATIONS"] = str(work / "durations.json")
    t = time.time()
    run = subprocess.run(
        [PYTHON, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "mutcov_plugin", "tests"],
        cwd=base,
        env=env,
        capture_output=True,
        text=True,
    )
    print(run.stdout.splitlines()[-1] if run.stdout else run.stderr[-2000:])
    print(f"suite under coverage: {time.time() - t:.0f} s")
    code = (
        "import coverage, json, sys\n"
        f"cov = coverage.Coverage(data_file={str(work / 'cov' / '.coverage')!r})\n"
        "cov.combine()\n"
        "data = cov.get_data()\n"
        "out = {}\n"
        "for f in data.measured_files():\n"
        "    ctx = data.contexts_by_lineno(f)\n"
        "    out[f] = {str(k): sorted(c for c in v if c) for k, v in ctx.items()}\n"
        f"json.dump(out, open({str(work / 'lines.json')!r}, 'w'))\n"
    )
    subprocess.run([PYTHON, "-c", code], env={**env, "COVERAGE_PROCESS_START": ""}, check=True, cwd=base)
    print(f"wrote {work / 'lines.json'}")


# --- mutants --------------------------------------------------------------------------------------

CMP_SWAP = {
    ast.Lt: ast.LtE,
    ast.LtE: ast.Lt,
    ast.Gt: ast.GtE,
    ast.GtE: ast.Gt,
    ast.Eq: ast.NotEq,
    ast.NotEq: ast.Eq,
    ast.Is: ast.IsNot,
    ast.IsNot: ast.Is,
    ast.In: ast.NotIn,
    ast.NotIn: ast.In,
}
ARITH_SWAP = {ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Div, ast.Div: ast.Mult}


def _parents(tree):
    parent = {}
    for node in ast.walk(tree):
        for child in ast.iter_child_nodes(node):
            parent[child] = node
    return parent


def _segment(lines, node):
    if node.lineno == node.end_lineno:
        return lines[node.lineno - 1][node.col_offset : node.end_col_offset]
    parts = [lines[node.lineno - 1][node.col_offset :]]
    parts += lines[node.lineno : node.end_lineno - 1]
    parts.append(lines[node.end_lineno - 1][: node.end_col_offset])
    return "\n".join(parts)


def _replace(source: str, node, text: str) -> str:
    lines = source.split("\n")
    before = lines[node.lineno - 1][: node.col_offset]
    after = lines[node.end_lineno - 1][node.end_col_offset :]
    new = before + text + after
    return "\n".join(lines[: node.lineno - 1] + new.split("\n") + lines[node.end_lineno :])


def mutants_of(module: str, source: str):
    """Every mutant of one module: dicts with key, op, line, in_function, source."""
    tree = ast.parse(source)
    parent = _parents(tree)
    lines = source.split("\n")
    out = []
    seen: dict[str, int] = {}

    def scope(node):
        names, n = [], node
        while n in parent:
            n = parent[n]
            if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                names.append(n.name)
        return ".".join(reversed(names)) or "<module>"

    def in_function(node):
        n = node
        while n in parent:
            n = parent[n]
            if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                return True
        return False

    def skipped(node):
        n = node
        while n in parent:
            n = parent[n]
            if isinstance(n, ast.JoinedStr):
                return True  # positions inside f-strings are unreliable before 3.12
            if isinstance(n, ast.arguments):
                return False
        return False

    def add(op, node, text, line=None):
        old = _segment(lines, node)
        if old == text:
            return
        new = _replace(source, node, text)
        try:
            ast.parse(new)
        except SyntaxError:
            return
        first = old.split("\n")[0].strip()
        base = f"{module}::{scope(node)}::{op} `{first[:60]}` -> `{text.split(chr(10))[0][:60]}`"
        k = seen.get(base, 0)
        seen[base] = k + 1
        out.append(
            {
                "key": f"{base}#{k}",
                "module": module,
                "op": op,
                "line": line or node.lineno,
                "in_function": in_function(node),
                "source": new,
            }
        )

    def unparse(node):
        return ast.unparse(node)

    for node in ast.walk(tree):
        if not hasattr(node, "lineno") or skipped(node):
            continue
        if isinstance(node, ast.Compare):
            for i, op in enumerate(node.ops):
                swap = CMP_SWAP.get(type(op))
                if swap:
                    m = ast.Compare(left=node.left, ops=list(node.ops), comparators=node.comparators)
                    m.ops[i] = swap()
                    add("cmp", node, f"({unparse(m)})")
        elif isinstance(node, ast.Constant) and not isinstance(node.value, str | bytes):
            parent_node = parent.get(node)
            if isinstance(parent_node, ast.Expr):
                continue
            v = node.value
            if isinstance(v, bool):
                add("bool", node, repr(not v))
            elif isinstance(v, int):
                add("num", node, repr(v + 1))
                add("num", node, "1" if v == 0 else "0")
            elif isinstance(v, float):
                add("num", node, "1.0" if v == 0 else repr(v * 10))
        elif isinstance(node, ast.BoolOp):
            m = ast.BoolOp(op=ast.Or() if isinstance(node.op, ast.And) else ast.And(), values=node.values)
            add("boolop", node, f"({unparse(m)})")
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            add("not", node, f"({unparse(node.operand)})")
        elif isinstance(node, ast.BinOp) and type(node.op) in ARITH_SWAP:
            m = ast.BinOp(left=node.left, op=ARITH_SWAP[type(node.op)](), right=node.right)
            add("arith", node, f"({unparse(m)})")
        elif isinstance(node, ast.Slice):
            for bound in ("lower", "upper"):
                b = getattr(node, bound)
                if b is not None:
                    add("slice", b, f"({unparse(b)} + 1)")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "range" and node.args:
            stop = node.args[1] if len(node.args) > 1 else node.args[0]
            add("range", stop, f"({unparse(stop)} + 1)")
        if isinstance(node, (ast.If, ast.While)) and not isinstance(parent.get(node), ast.Module):
            add("neg", node.test, f"not ({unparse(node.test)})")
        if isinstance(node, ast.stmt) and in_function(node):
            drop = isinstance(node, (ast.Raise, ast.AugAssign, ast.Assert, ast.If)) or (
                isinstance(node, ast.Expr) and isinstance(node.value, ast.Call)
            )
            if drop:
                if isinstance(node, ast.If):
                    add("drop", node, "pass", line=node.lineno)
                else:
                    add("drop", node, "pass")
    return out


def all_mutants(base: Path):
    result = []
    for module in CORE:
        source = (base / "nnbackprop" / module).read_text()
        result += mutants_of(module, source)
    return result


def sample(mutants, n, seed, modules=None):
    rng = random.Random(seed)
    by_module: dict[str, list] = {}
    for m in mutants:
        if modules and m["module"] not in modules:
            continue
        by_module.setdefault(m["module"], []).append(m)
    total = sum(len(v) for v in by_module.values())
    chosen = []
    for _module, ms in by_module.items():
        k = min(len(ms), max(8, round(n * len(ms) / total)))
        by_op: dict[str, list] = {}
        for m in rng.sample(ms, len(ms)):
            by_op.setdefault(m["op"], []).append(m)
        picked = []  # round-robin over the operators: each kind of fault gets its share
        while len(picked) < k:
            for op in sorted(by_op):
                if by_op[op] and len(picked) < k:
                    picked.append(by_op[op].pop())
        chosen.append(picked)
    # interleaved across the modules: a run cut short still has every module
    return [m for group in itertools.zip_longest(*chosen) for m in group if m is not None]


# --- running --------------------------------------------------------------------------------------


def load_map(work: Path):
    lines = json.loads((work / "lines.json").read_text())
    durations = json.loads((work / "durations.json").read_text())
    base = str(work / "base" / "nnbackprop")
    by_module = {}
    for f, ctx in lines.items():
        rel = os.path.relpath(f, base)
        by_module[rel] = {int(k): v for k, v in ctx.items()}
    return by_module, durations


def select(m, by_module, durations):
    ctx = by_module.get(m["module"], {})
    if m["in_function"]:
        tests = set()
        # every line the mutated node spans counts (a multi-line statement)
        tests.update(ctx.get(m["line"], []))
    else:
        tests = set()
        for v in ctx.values():
            tests.update(v)
    timed = {}
    for t in tests:  # a parameter id with spaces, slashes or quotes: pytest takes the whole function instead
        name = t.split("[")[0] if "[" in t and re.search(r"[^\w.\-\[\]]", t.split("::")[-1]) else t
        timed[name] = timed.get(name, 0.0) + durations.get(t, 1.0)
    return sorted(timed, key=lambda t: (timed[t], t))


def files_of(tests):
    return sorted({t.split("::")[0] for t in tests})


def run_tests(copy: Path, targets, timeout):
    t = time.time()
    try:
        run = subprocess.run(
            [
                PYTHON,
                "-m",
                "pytest",
                "-x",
                "-q",
                "-p",
                "no:cacheprovider",
                "--no-header",
                "-o",
                "addopts=--strict-markers",
                *targets,
            ],
            cwd=copy,
            env=env_for(copy),
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        return "timeout", time.time() - t, ""
    tail = "\n".join(run.stdout.strip().splitlines()[-3:])
    if run.returncode == 0:
        return "survived", time.time() - t, tail
    if run.returncode in (4, 5):
        return "error", time.time() - t, tail + run.stderr[-500:]
    return "killed", time.time() - t, tail


def run_one(m, copy: Path, by_module, durations, timeout, stage2_only=False, files_stage=False):
    target = copy / "nnbackprop" / m["module"]
    original = target.read_text()
    newtests = [f"tests/{p.name}" for p in sorted((copy / "tests").glob("test_mutants_*.py"))]
    try:
        target.write_text(m["source"])
        tests = select(m, by_module, durations)
        res = {"key": m["key"], "module": m["module"], "op": m["op"], "line": m["line"], "ntests": len(tests)}
        if not tests and not newtests:
            res.update(status="survived", stage="no-coverage", seconds=0.0)
            return res
        budget = timeout + 3 * sum(durations.get(t, 1.0) for t in tests)
        if tests and not stage2_only:
            status, secs, tail = run_tests(copy, tests, budget)
            if status == "error":  # a node id pytest cannot take: run the files
                status, secs, tail = run_tests(copy, files_of(tests), budget * 3)
            res.update(status=status, stage="covering", seconds=round(secs, 1), tail=tail)
            if status != "survived" or not files_stage:
                return res
        files = sorted(set(files_of(tests)) | set(newtests), key=lambda f: (f not in newtests, f))
        status, secs, tail = run_tests(copy, files, max(budget * 4, 300))
        res.update(status=status, stage="files", seconds=round(res.get("seconds", 0) + secs, 1), tail=tail)
        return res
    finally:
        target.write_text(original)


def _workers(work: Path, jobs: int):
    copies = []
    for i in range(jobs):
        w = work / f"w{i}"
        make_copy_from(work / "base", w)
        sync_new_tests(w)
        copies.append(w)
    return copies


def make_copy_from(src: Path, dest: Path):
    if dest.exists():
        shutil.rmtree(dest)
    shutil.copytree(src, dest, ignore=shutil.ignore_patterns("__pycache__", ".hypothesis", "runs"))


def execute(work: Path, chosen, jobs, timeout, out_name, stage2_only=False, files_stage=False, reuse=False):
    by_module, durations = load_map(work)
    copies = _workers(work, jobs)
    for c in copies:
        check_import(c)
    results = []
    free = list(copies)
    t0 = time.time()
    out = work / out_name

    cache = {}
    if reuse and out.exists():
        cache = {r["key"]: r for r in json.loads(out.read_text())}

    def task(m):
        if m["key"] in cache:
            return cache[m["key"]]
        copy = free.pop()
        try:
            return run_one(m, copy, by_module, durations, timeout, stage2_only, files_stage)
        finally:
            free.append(copy)

    with ThreadPoolExecutor(jobs) as pool:
        for i, r in enumerate(pool.map(task, chosen)):
            results.append(r)
            print(f"[{i + 1}/{len(chosen)} {time.time() - t0:5.0f}s] {r['status']:8s} {r['key']}", flush=True)
            out.write_text(json.dumps(results, indent=1))
    print(f"{len(results)} mutants in {time.time() - t0:.0f} s -> {out}")


def cmd_run(args):
    work = Path(args.work)
    mutants = all_mutants(work / "base")
    chosen = sample(mutants, args.sample, args.seed, args.modules)
    print(f"{len(mutants)} mutants in all, {len(chosen)} sampled")
    (work / "chosen.json").write_text(json.dumps([m["key"] for m in chosen]))
    execute(work, chosen, args.jobs, args.timeout, "results.json", files_stage=args.files, reuse=args.resume)


def cmd_rerun(args):
    work = Path(args.work)
    results = json.loads((work / "results.json").read_text())
    index = {m["key"]: m for m in all_mutants(work / "base")}
    keys = [r["key"] for r in results if r["status"] == "survived" and r["key"] not in EQUIVALENT]
    if args.keys:
        keys = args.keys
    execute(work, [index[k] for k in keys], args.jobs, args.timeout, "rerun.json", stage2_only=True, files_stage=True)


def cmd_report(args):
    work = Path(args.work)
    results = {r["key"]: r for r in json.loads((work / "results.json").read_text())}
    rerun = work / "rerun.json"
    if rerun.exists():
        for r in json.loads(rerun.read_text()):
            if results[r["key"]]["status"] == "survived":
                results[r["key"]] = {**r, "rerun": True}
    rows = {}
    for r in results.values():
        row = rows.setdefault(r["module"], {"mutants": 0, "killed": 0, "equivalent": 0, "survived": 0})
        row["mutants"] += 1
        if r["status"] in ("killed", "timeout"):
            row["killed"] += 1 + 0 * (r.get("rerun") is True)
        elif r["key"] in EQUIVALENT:
            row["equivalent"] += 1
        else:
            row["survived"] += 1
    print("| module | mutants | killed | survived, equivalent | survived, behaviour | score |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    tot = {"mutants": 0, "killed": 0, "equivalent": 0, "survived": 0}
    for module in CORE:
        if module not in rows:
            continue
        row = rows[module]
        for k in tot:
            tot[k] += row[k]
        score = row["killed"] / max(1, row["killed"] + row["survived"])
        print(
            f"| {module} | {row['mutants']} | {row['killed']} | {row['equivalent']} | {row['survived']} | {score:.0%} |"
        )
    score = tot["killed"] / max(1, tot["killed"] + tot["survived"])
    print(f"| all | {tot['mutants']} | {tot['killed']} | {tot['equivalent']} | {tot['survived']} | {score:.1%} |")
    if args.verbose:
        print("\nsurvivors:")
        for r in results.values():
            if r["status"] == "survived":
                tag = "EQUIV " if r["key"] in EQUIVALENT else ""
                print(f"  {tag}{r['key']}  (line {r['line']}, {r.get('stage')}, {r['ntests']} tests)")
                if tag:
                    print(f"      {EQUIVALENT[r['key']]}")


def cmd_show(args):
    work = Path(args.work)
    index = {m["key"]: m for m in all_mutants(work / "base")}
    for key in args.keys:
        m = index[key]
        old = (work / "base" / "nnbackprop" / m["module"]).read_text()
        print(f"### {key}")
        sys.stdout.writelines(
            difflib.unified_diff(
                old.splitlines(True), m["source"].splitlines(True), f"a/{m['module']}", f"b/{m['module']}", n=2
            )
        )


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--work", default="/tmp/mut")
    sub = p.add_subparsers(dest="cmd", required=True)
    m = sub.add_parser("map")
    m.add_argument("--rev", default="HEAD")
    r = sub.add_parser("run")
    r.add_argument("--sample", type=int, default=300)
    r.add_argument("--seed", type=int, default=13)
    r.add_argument("--jobs", type=int, default=2)
    r.add_argument("--timeout", type=float, default=60)
    r.add_argument("--modules", nargs="*")
    r.add_argument("--resume", action="store_true", help="keep the results already in results.json")
    r.add_argument("--files", action="store_true", help="re-run a survivor against its whole test files at once")
    rr = sub.add_parser("rerun")
    rr.add_argument("--jobs", type=int, default=2)
    rr.add_argument("--timeout", type=float, default=60)
    rr.add_argument("keys", nargs="*")
    rp = sub.add_parser("report")
    rp.add_argument("-v", "--verbose", action="store_true")
    s = sub.add_parser("show")
    s.add_argument("keys", nargs="+")
    args = p.parse_args(argv)
    {"map": cmd_map, "run": cmd_run, "rerun": cmd_rerun, "report": cmd_report, "show": cmd_show}[args.cmd](args)


if __name__ == "__main__":
    main()
