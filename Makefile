# hybridflux — every target bootstraps its own virtual environment (.venv) on first use.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
# The fast suite: everything not marked slow, doctests of the package included; two worker
# processes (pytest-xdist), each test file in one of them.
PYTEST_FAST := $(PY) -m pytest -m "not slow" --doctest-modules hybridflux tests -n 2 --dist loadfile

.PHONY: help install test test-all demo lint format docs bench bench-torch clean

help:
	@echo "make demo      run the main job on the bundled real data"
	@echo "make test      the fast test suite (< 10 min on 2 cores)"
	@echo "make test-all  the fast suite plus the slow checks"
	@echo "make lint      ruff check + format check"
	@echo "make docs      build the documentation site (strict) into site/"
	@echo "make bench     run the benchmarks in benchmarks/"

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

test: $(STAMP)
	$(PYTEST_FAST) -q

test-all: $(STAMP)
	$(PY) -m pytest --doctest-modules hybridflux tests -q -n 2 --dist loadfile

demo: $(STAMP)
	$(VENV)/bin/hybridflux demo --out runs/demo

lint: $(STAMP)
	$(VENV)/bin/ruff check hybridflux tests benchmarks notebooks
	$(VENV)/bin/ruff format --check hybridflux tests benchmarks notebooks

format: $(STAMP)
	$(VENV)/bin/ruff format hybridflux tests benchmarks notebooks
	$(VENV)/bin/ruff check --fix hybridflux tests benchmarks notebooks

docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict --quiet --site-dir site

bench: $(STAMP)
	$(PY) benchmarks/bench_ecosystem.py
	$(PY) benchmarks/bench_training_flat.py

# The PyTorch peer of the training benchmark; torch 2.13.0 (CPU) is only needed here.
bench-torch: $(STAMP)
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) benchmarks/bench_training_compare.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis runs
