# `make train` and `make test` work on a fresh machine: each first builds .venv itself.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
READY := $(VENV)/.ready

.PHONY: train test lint format bench clean

train: $(READY)
	$(BIN)/nnbackprop train --config configs/dosage.yaml

test: $(READY)
	tests/setup_browser.sh $(BIN)/python
	$(BIN)/python -m pytest

lint: $(READY)
	$(BIN)/ruff check nnbackprop tests benchmarks
	$(BIN)/ruff format --check nnbackprop tests benchmarks

format: $(READY)
	$(BIN)/ruff format nnbackprop tests benchmarks

bench: $(READY)
	$(BIN)/python benchmarks/bench.py --out runs/bench.md
	$(BIN)/python -c 'import scipy, sklearn' 2>/dev/null || $(BIN)/python -m pip install --quiet scipy scikit-learn \
		|| echo 'no scipy/scikit-learn: the fit suite leaves its anchors out'
	$(BIN)/python benchmarks/fit_suite.py --replicates 2 --out runs/fit.md
	$(BIN)/python benchmarks/data_bench.py --out runs/data-bench.md

$(READY): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,plot,dev,sklearn,dask]'
	touch $(READY)

clean:
	rm -rf $(VENV) runs build *.egg-info .pytest_cache .ruff_cache .hypothesis
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
