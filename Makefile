# datamapper developer entry points.  `make test` and `make demo` work on a
# fresh machine: the first run creates .venv and installs the project
# (editable) with its extras; later runs reinstall only when pyproject.toml
# changes (stamp file .venv/.stamp).

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.stamp
EXTRAS := test,postgresql,mysql,bench

# Lint only the trees that exist (bench/ and src/ may not yet).
LINT_DIRS := $(wildcard src tests bench)

.PHONY: venv demo lint test bench clean

venv: $(STAMP)

$(PY):
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e '.[$(EXTRAS)]'
	touch $(STAMP)

demo: venv
	$(PY) -m datamapper.demo

lint: venv
	$(VENV)/bin/ruff check $(LINT_DIRS)
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

test: venv lint
	$(PY) -m pytest

bench: venv
	$(PY) bench/run.py

clean:
	rm -rf build dist src/*.egg-info .mypy_cache .ruff_cache .pytest_cache .import_linter_cache
