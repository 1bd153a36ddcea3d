# Two entry points for a fresh machine with Python 3.11 and make: `make demo` and `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
# One stamp per extra: the demo installs only what it runs (.[demo]), the tests add their tools (.[dev]).
DEMO_STAMP := $(VENV)/.installed-demo
DEV_STAMP := $(VENV)/.installed-dev

# Never let an SDK probe a cloud metadata endpoint from the demo or the tests.
export AWS_EC2_METADATA_DISABLED := true
export GCE_METADATA_HOST := 127.0.0.1:9
export GCE_METADATA_IP := 127.0.0.1:9

.PHONY: demo test lint bench clean

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "$(PYTHON) not found; run 'make PYTHON=python3 ...'"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(DEMO_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[demo]'
	touch $@

$(DEV_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

demo: $(DEMO_STAMP)
	$(BIN)/skywarden demo
	@echo "skywarden is installed in $(BIN): run '. $(BIN)/activate' once, then 'skywarden --help'"

test: $(DEV_STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -n 2 --dist loadfile -q

lint: $(DEV_STAMP)
	$(BIN)/ruff check .

bench: $(DEV_STAMP)
	$(BIN)/python bench/engine_bench.py
	$(BIN)/python bench/scan_bench.py
	$(BIN)/python bench/scale_bench.py

clean:
	rm -rf $(VENV) .pytest_cache skywarden.db skywarden.db-*
