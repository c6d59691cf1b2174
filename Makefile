# The two commands a new machine needs: `make demo` and `make test`. Each creates .venv and installs.
VENV ?= .venv
PY := $(VENV)/bin/python
PYTHON ?= python3

.PHONY: demo test lint bench clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(PY)
	$(PY) -m pip install -q -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(PY)
	$(PY) -m pip install -q -e '.[dev,dask]'
	touch $@ $(VENV)/.installed

# Node tools for the tests (eslint, Prism), pinned by package-lock.json; Node and npm are on every machine.
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

demo: $(VENV)/.installed
	$(VENV)/bin/meltica-lab demo

test: $(VENV)/.installed-dev node_modules/.installed
	$(VENV)/bin/ruff check meltica_lab tests benchmarks
	$(VENV)/bin/ruff format --check meltica_lab tests benchmarks
	npx --no-install eslint meltica_lab/jshost/js
	$(PY) -m pytest

lint: $(VENV)/.installed-dev node_modules/.installed
	$(VENV)/bin/ruff check meltica_lab tests benchmarks
	$(VENV)/bin/ruff format --check meltica_lab tests benchmarks
	npx --no-install eslint meltica_lab/jshost/js

bench: $(VENV)/.installed-dev
	for b in benchmarks/*.py; do $(PY) $$b || exit 1; done

clean:
	rm -rf $(VENV) reports .pytest_cache node_modules
