# Two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Reinstall (a normal, non-editable install) whenever the package changes.
SOURCES := $(shell find cpflow -type f -not -path '*/__pycache__/*' 2>/dev/null)

.PHONY: demo test test-slow lint bench install clean serve

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml $(SOURCES)
	$(BIN)/python -m pip install --quiet ".[test,postgres,web,standards]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/cpflow demo

test: $(STAMP) lint
	$(BIN)/python -m pytest -n 2 -p no:cacheprovider -m "not slow"

# The long reliability runs at full size: the 10,000-invocation CLI fuzz, a 200,000-activity
# load killed at random points, longer races (CI runs bounded samples of each).
test-slow: $(STAMP)
	CPFLOW_CRASH_ACTIVITIES=200000 CPFLOW_MIXED_SECONDS=60 CPFLOW_RACE_MOVES=500 \
		$(BIN)/python -m pytest -n 2 -p no:cacheprovider tests/test_fuzz_cli.py tests/test_crash.py tests/test_concurrency.py

# The everyday checks: style, the layer contracts (docs/architecture.md) and types.
lint: $(STAMP)
	$(BIN)/ruff check cpflow tests benchmarks examples scripts
	$(BIN)/ruff format --check cpflow tests benchmarks examples scripts
	$(BIN)/lint-imports
	$(BIN)/mypy

# The web app on the demo database (make demo first); http://127.0.0.1:8000
serve: $(STAMP)
	$(BIN)/cpflow --db sqlite:///cpflow-demo/cpflow.db serve

bench: $(STAMP)
	$(BIN)/python -m benchmarks --size small

clean:
	rm -rf $(VENV) cpflow-demo build *.egg-info
