# outcome-gym: every target creates .venv and installs what it needs on first use.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
HASH := $(shell cksum pyproject.toml | cut -d' ' -f1)
STAMP := $(VENV)/.installed-$(HASH)
STAMP_EXTRAS := $(VENV)/.installed-extras-$(HASH)
OUT ?= results/demo

STUDIES := trap trap_confirm timing crowdout crowdout_tasks volume volume_worlds fragmentation frontier adaptive mechanisms nudge

.PHONY: install install-extras studio run experiments sensitivity test test-slow test-all lint bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[test]"
	rm -f $(VENV)/.installed-[0-9]* && touch $(STAMP)

# The optional extras the slow suites exercise: Stable-Baselines3 (rl), Dask (cluster), Streamlit
# (studio) and Playwright (browser; the browser itself is Debian's chromium, see .ci/run).
# torch is installed first, pinned to the CPU build (an unpinned torch pulls a multi-GB CUDA build).
$(STAMP_EXTRAS): $(STAMP)
	$(BIN)/python -m pip install -q torch==2.13.0
	$(BIN)/python -m pip install -q -e ".[test,rl,cluster,studio,browser]"
	rm -f $(VENV)/.installed-extras-* && touch $(STAMP_EXTRAS)

install: $(STAMP)  ## create .venv and install outcome-gym with its test tools

install-extras: $(STAMP_EXTRAS)  ## also the rl (Stable-Baselines3, CPU torch) and cluster (Dask) extras

studio: $(STAMP)  ## the designer studio on http://127.0.0.1:8501 (Ctrl-C stops it)
	$(BIN)/outcome-gym studio

run: $(STAMP)  ## the main job: compare policies on a bundled scenario and write the report
	$(BIN)/outcome-gym compare productivity_tool --policies static,engagement_bandit:levers=layout,outcome_bandit:levers=layout,engagement_bandit --seeds 10 --workers 2 --out $(OUT) --overwrite

experiments: $(STAMP)  ## every study of experiments/studies/ (full versions): results/<study>/ and results/README.md
	$(BIN)/outcome-gym study $(STUDIES) --workers 2 --overwrite

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks examples experiments

# The fast suites run on every core (pytest-xdist; `make test TEST_WORKERS=0` runs them in one
# process). worksteal: a worker that runs out takes tests from the other, so the few long tests
# (the JIT cache tests compile every pass in a fresh process) do not leave one core idle. Each
# worker compiles into a numba cache of its own (tests/conftest.py: numba's cache has no lock).
TEST_WORKERS ?= auto

test: $(STAMP) lint  ## the default test run (fast suites; under ~10 minutes on 2 cores)
	$(BIN)/python -m pytest -q -m "not slow" -n $(TEST_WORKERS) --dist worksteal

test-slow: $(STAMP_EXTRAS)  ## the slower statistical, end-to-end, training and cluster suites
	$(BIN)/python -m pytest -q -m slow

test-all: test test-slow

# BASELINE=<dir>/src also times another copy of the package (e.g. the plain-numpy step) in the
# same run; docs/performance.md explains every figure.
bench: $(STAMP)  ## step speed and memory (1e3 .. 1e6, vs the per-agent reference) and env steps/s
	$(BIN)/python benchmarks/bench_step.py $(if $(BASELINE),--baseline-src $(BASELINE))
	$(BIN)/python benchmarks/bench_env.py $(if $(BASELINE),--baseline-src $(BASELINE))

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache build dist src/*.egg-info

# Global sensitivity (issue #14 item 7): a Morris screening of 20 user parameters (r = 10, 210
# points) of productivity_tool, engagement_bandit vs static, 7 paired seeds per point, 500 users,
# 14 days: about 10 minutes on 2 cores. Runs are kept in results/sensitivity/runs/ (git-ignored).
SENS_PARAMS := no_click_mass,cascade_continue,position_exponent,open_base,open_relevance,open_wear,session_habit,habit_utility,goal_utility,fatigue_utility,residue,need_met_exit,max_engagements,trust_gain,churn_rate,susceptibility,goal_weight,attention_budget,session_propensity,habit_days

sensitivity: $(STAMP)  ## the committed sensitivity report: results/sensitivity/
	$(BIN)/outcome-gym sensitivity productivity_tool --policies engagement_bandit --method morris --params $(SENS_PARAMS) --trajectories 10 --workers 2 --out results/sensitivity --overwrite
