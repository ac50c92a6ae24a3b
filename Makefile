# Two commands do everything on a fresh machine (Python 3.11, JDK 17, Maven):
#   make demo   - the main job end to end on embedded defaults
#   make test   - the static checks and the whole test suite (starts its own services); CI runs it
# Both install what they need first, idempotently, into ignored folders (.venv, .cache).
#   make check  - the fast lane while you work: the static checks and the tests that need no service

PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
# The interpreter itself, not a shim (pyenv's): uv replaces a venv whose base differs from the
# path it is given, so a shim path reinstalled every package on every `make` (2.5 min).
PYTHON_EXE := $(shell $(PYTHON) -c 'import sys; print(sys.executable)')
UV_VERSION := 0.13.9
UV := .cache/tools/bin/uv
VENV := .venv
export UV_CACHE_DIR ?= $(CURDIR)/.cache/uv
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(CURDIR)/$(VENV)

.PHONY: setup python jars browser demo test check static lint types sql stack-up stack-down stack-status clean

setup: python jars browser

# Debian's Chromium and its driver, for the live board's browser test (root, or sudo).
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
browser:
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || \
	  ($(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium chromium-driver >/dev/null)

$(UV):
	$(PYTHON) -m venv .cache/tools
	.cache/tools/bin/pip install --quiet uv==$(UV_VERSION)

# Bytecode compiled at install: with PYTHONDONTWRITEBYTECODE set (as on CI machines) Python never
# caches it, and every process (each CLI command, Spark's Python workers, dbt, Airflow's tasks)
# compiled its imports again: 8 s of a 20 s one-season backfill (measured).
python: $(UV)
	$(UV) sync --locked --python $(PYTHON_EXE) --quiet --compile-bytecode

jars: python
	$(VENV)/bin/lakehouse setup

demo: python jars
	$(VENV)/bin/lakehouse demo

# The JVM artifacts' download and the static checks run side by side (network vs CPU).
test:
	$(MAKE) --no-print-directory -j3 --output-sync=target setup static
	$(VENV)/bin/pytest --durations=30

check: python static
	$(VENV)/bin/pytest -q -m "not integration and not spark"

static: lint types sql

lint: python
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check .

types: python
	$(VENV)/bin/mypy

sql: python
	cd dbt && ../$(VENV)/bin/sqlfluff lint --disable-progress-bar models analyses data-tests

stack-up: setup
	$(VENV)/bin/lakehouse stack up --with-moto

stack-down:
	$(VENV)/bin/lakehouse stack down

stack-status:
	$(VENV)/bin/lakehouse stack status

clean: stack-down
	rm -rf .local
