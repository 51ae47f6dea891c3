# datamapper developer entry points.  `make test` and `make demo` work on a
# fresh machine: the first run creates .venv and installs the project
# (editable) with its extras; later runs reinstall only when pyproject.toml
# changes (stamp file .venv/.stamp).

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.stamp
EXTRAS := test,postgresql,mysql,bench
# pytest-xdist workers for `make test` (`auto`: one per CPU; 0 runs in-process).
# Each worker creates its own database on each server (tests/_support.py).
TEST_WORKERS ?= auto
# The test runs write bytecode caches (__pycache__/, ignored by git) even where the
# environment says not to (PYTHONDONTWRITEBYTECODE): each pytest-xdist worker
# otherwise rewrites the asserts of and compiles every test module again, 10 s of
# CPU per worker against 2.5 s from the cache.
TEST_ENV := PYTHONDONTWRITEBYTECODE=

# Lint only the trees that exist (bench/ and src/ may not yet).
LINT_DIRS := $(wildcard src tests bench)

# the other supported SQLAlchemy series (issue 15): a second virtualenv
SA20_VENV := .venv-sa20

.PHONY: test-sa20 venv demo lint test bench bench-peer clean compat compat-classify compat-guide compat-examples

venv: $(STAMP)

$(PY):
	$(PYTHON) -m venv $(VENV)

# (setup.py builds the optional C row loader into src/: rebuilt when its source changes)
$(STAMP): pyproject.toml setup.py src/datamapper/_util/_speedups.c src/datamapper/_util/_speedups_flush.h | $(PY)
	$(PY) -m pip install --quiet -e '.[$(EXTRAS)]'
	touch $(STAMP)

demo: venv
	$(PY) -m datamapper.demo

lint: venv
	$(VENV)/bin/ruff check $(LINT_DIRS)
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

test: venv lint
	$(TEST_ENV) $(PY) -m pytest -n $(TEST_WORKERS)

# SQLAlchemy 2.0 (datamapper supports 2.0 and 2.1): the Core-internals tests and the
# query, mapping, persistence, session and extension tests, on SQLite, in $(SA20_VENV).  CI runs it.
# (tests/reliability/test_crash_matrix.py and tests/typing/ are 2.1-only: Core 2.0 does
# not wrap exceptions raised by before_cursor_execute listeners, and its Select is
# typed Select[tuple[...]], which datamapper's annotations do not follow.)
test-sa20:
	test -x $(SA20_VENV)/bin/python || $(PYTHON) -m venv $(SA20_VENV)
	$(SA20_VENV)/bin/python -m pip install --quiet -e '.[test]' 'sqlalchemy>=2.0,<2.1'
	$(TEST_ENV) DATAMAPPER_TEST_BACKENDS=sqlite DATAMAPPER_REQUIRE_BACKENDS= $(SA20_VENV)/bin/python -m pytest -n $(TEST_WORKERS) -p no:cacheprovider -q \
	  tests/test_core_internals.py tests/query tests/mapping tests/persistence tests/session tests/ext

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

compat-examples: venv
	$(PY) compat/examples/examples.py

# Propose expectations.csv entries for failures that have none (review them).
compat-classify: venv
	$(COMPAT) classify

clean:
	rm -rf build dist src/*.egg-info .mypy_cache .ruff_cache .pytest_cache .import_linter_cache
