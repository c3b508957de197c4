# The Pix2Pix course. Two commands matter:
#   make demo   trains Pix2Pix on the real maps data and evaluates it (about 15 minutes on a 2-core CPU)
#   make test   the whole test suite
SHELL := /bin/bash
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# A local mirror of the data sets, used instead of the network when present.
MIRROR ?= $(firstword $(wildcard ../shared/data) $(PIX2PIX_DATA_MIRROR))
MIRROR_ARG := $(if $(MIRROR),--mirror $(MIRROR),)
DATASETS ?= maps facades isbi2012
RUN ?= runs/demo
JOBS ?= 2
# OpenMP threads sleep instead of spin-waiting: on a 2-core machine that is busy with anything
# else, spinning makes torch's 2-thread ops several times slower (measured 1.03 -> 0.29 s/step).
export OMP_WAIT_POLICY ?= PASSIVE

.PHONY: setup install data demo test test-fast lint release results clean help

help:
	@echo "make setup   create $(VENV), install course_utils[dev], fetch and verify the data"
	@echo "make demo    install, fetch maps, then train aerial->map (cpu-quick) into $(RUN), evaluate, write samples"
	@echo "make test    setup, then the whole test suite: tests/unit, tests/integration, tests/course, notebooks"
	@echo "make test-fast  the unit tier and the solution notebooks in fast mode (a few minutes)"
	@echo "make lint    ruff and notebook hygiene"
	@echo "make release regenerate notebooks/ from solutions/ with nbgrader"
	@echo "make results write docs/results.md from the measurement records in results/*.jsonl"

setup: install data

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $@

data: install
	$(BIN)/pix2pix data fetch $(DATASETS) $(MIRROR_ARG)

demo: install
	$(BIN)/pix2pix data fetch maps $(MIRROR_ARG)
	$(BIN)/python -m course_utils.demo --out $(RUN)

test: setup
	# Two xdist workers on two cores: one thread each (OpenMP spin-waits collapse when oversubscribed).
	PIX2PIX_FAST=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 $(BIN)/python -m pytest -n $(JOBS) --dist loadgroup -p no:cacheprovider --durations=25 tests solutions --nbmake --nbmake-timeout=600

test-fast: setup
	PIX2PIX_FAST=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 $(BIN)/python -m pytest -n $(JOBS) -p no:cacheprovider tests/unit solutions --nbmake --nbmake-timeout=600

lint: install
	$(BIN)/ruff check course_utils tests benchmarks scripts
	$(BIN)/nbstripout --verify --keep-id solutions/*/*.ipynb notebooks/*/*.ipynb

release: install
	$(BIN)/python scripts/generate_release.py

results: install
	$(BIN)/python scripts/make_results.py

clean:
	rm -rf $(VENV) runs .pytest_cache
