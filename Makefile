# outcome-gym: every target creates .venv and installs what it needs on first use.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)
OUT ?= results/demo

.PHONY: install run test test-slow test-all lint bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[test]"
	rm -f $(VENV)/.installed-* && touch $(STAMP)

install: $(STAMP)  ## create .venv and install outcome-gym with its test tools

run: $(STAMP)  ## the main job: compare policies on a bundled scenario and write the report
	$(BIN)/outcome-gym compare productivity_tool --policies static,engagement_bandit,outcome_bandit --seeds 10 --workers 2 --out $(OUT)

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks

test: $(STAMP) lint  ## the default test run (fast suites; under ~10 minutes on 2 cores)
	$(BIN)/python -m pytest -q -m "not slow"

test-slow: $(STAMP)  ## the slower statistical and end-to-end suites
	$(BIN)/python -m pytest -q -m slow

test-all: test test-slow

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_step.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache build dist src/*.egg-info
