# chainsleuth: two commands on a fresh machine.
#   make demo  - set up .venv, install, simulate the small world, ingest, analyse, write a report
#   make test  - the same set-up, then the whole test suite
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
DEMO    := demo-out
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: setup demo test lint bench clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml scripts/setup.sh $(wildcard scripts/setup-*.sh)
	bash scripts/setup.sh $(PY) $(VENV)
	touch $@

demo: setup
	bash scripts/demo.sh $(DEMO)

test: setup
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/python -m pytest -q -n auto --dist loadgroup tests

lint: setup
	$(BIN)/ruff check src tests benchmarks

bench: setup
	$(BIN)/python benchmarks/run_all.py

clean:
	rm -rf $(VENV) .tools $(DEMO) .pytest_cache
