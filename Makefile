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

.PHONY: venv demo lint test bench bench-peer clean compat compat-classify compat-guide

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

# SQLAlchemy's examples/performance suites, ORM tests on datamapper (through the
# compat shim) and on SQLAlchemy's ORM; writes the README table. PEER_ARGS=--repeat 3 ...
bench-peer: venv
	$(PY) bench/peer.py --write-readme $(PEER_ARGS)

# SQLAlchemy's own ORM tests run against datamapper (README "Compatibility with
# SQLAlchemy's ORM test suite").  Not part of `make test` or CI: it downloads
# SQLAlchemy's source distribution (cached under compat/.cache/).
COMPAT := $(PY) compat/sqlalchemy_suite/compat.py
compat: venv
	$(PY) -m pip install --quiet -e '.[compat]'
	$(COMPAT) all

# SQLAlchemy 2.x's documentation doctests (querying guide, tutorial) on datamapper
# and on SQLAlchemy's ORM, SQLite/PostgreSQL/MariaDB (README "SQLAlchemy 2.x documentation scripts").
compat-guide: venv
	$(PY) -m pip install --quiet -e '.[compat]'
	$(PY) compat/queryguide/guide.py run
	$(PY) compat/queryguide/guide.py report --write-readme

# Propose expectations.csv entries for failures that have none (review them).
compat-classify: venv
	$(COMPAT) classify

clean:
	rm -rf build dist src/*.egg-info .mypy_cache .ruff_cache .pytest_cache .import_linter_cache
