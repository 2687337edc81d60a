# Release Desk — the two commands a newcomer needs:
#   make demo   set up, seed demo users and cases, serve on http://127.0.0.1:5000/
#   make test   set up, run the whole test suite (engine, web, browser)
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: setup demo test lint bench clean browser-deps

setup: $(VENV)/.installed node_modules/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

demo: setup
	$(BIN)/releasedesk demo --serve

test: setup
	$(BIN)/python -m pytest

lint: setup
	$(BIN)/ruff check engine web tests
	node_modules/.bin/bpmnlint workflows/*.bpmn

bench: setup
	$(BIN)/python tests/bench/bench_http.py --cases 200
	$(BIN)/python tests/bench/bench_instances.py --backend sqlite
	$(BIN)/python tests/bench/bench_vs_engine.py --cases 200
	$(BIN)/python tests/bench/bench_scaling.py --tasks 1000
	$(BIN)/python tests/bench/bench_loop_state.py --loops 50 --cases 2

browser-deps:
	apt-get update -qq && apt-get install -y -qq chromium

clean:
	rm -rf $(VENV) node_modules instance .pytest_cache
