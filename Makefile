# Two commands on a fresh machine: `make run` and `make test`. Both build the virtual environment themselves.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export SAFEWINDOW_DATA_DIR ?= $(CURDIR)/var
# One test worker per core (pytest-xdist); PYTEST_ARGS= runs them in one process, PYTEST_ARGS="-k orders" picks.
PYTEST_ARGS ?= -n auto

.PHONY: run test lint typecheck bench clean setup

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

run: $(STAMP)
	$(BIN)/safewindow db upgrade
	$(BIN)/safewindow demo load
	$(BIN)/safewindow worker --interval 30 & worker=$$!; \
	trap "kill $$worker 2>/dev/null" EXIT INT TERM; \
	$(BIN)/safewindow serve --host 127.0.0.1 --port 8000

test: $(STAMP)
	$(BIN)/ruff check safewindow tests bench
	$(BIN)/mypy
	@$(BIN)/python -m pytest $(PYTEST_ARGS); code=$$?; \
	if [ $$code -eq 5 ]; then echo "make test: pytest collected no tests: that is a failure"; exit 1; fi; \
	exit $$code

lint: $(STAMP)
	$(BIN)/ruff check safewindow tests bench
	$(BIN)/ruff format --check safewindow tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python bench/advice.py

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache build *.egg-info
