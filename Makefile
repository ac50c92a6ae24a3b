# Two commands do everything on a fresh machine (Python 3.11, JDK 17, Maven):
#   make demo   - the main job end to end on embedded defaults
#   make test   - the test suite (starts its own services)
# Both install what they need first, idempotently, into ignored folders (.venv, .cache).

PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
UV_VERSION := 0.13.9
UV := .cache/tools/bin/uv
VENV := .venv
export UV_CACHE_DIR ?= $(CURDIR)/.cache/uv
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(CURDIR)/$(VENV)

.PHONY: setup python jars demo test lint stack-up stack-down stack-status clean

setup: python jars

$(UV):
	$(PYTHON) -m venv .cache/tools
	.cache/tools/bin/pip install --quiet uv==$(UV_VERSION)

python: $(UV)
	$(UV) sync --locked --python $(PYTHON) --quiet

jars: python
	$(VENV)/bin/lakehouse setup

demo: setup
	$(VENV)/bin/lakehouse demo

test: setup
	$(VENV)/bin/pytest

lint: python
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check .

stack-up: setup
	$(VENV)/bin/lakehouse stack up --with-moto

stack-down:
	$(VENV)/bin/lakehouse stack down

stack-status:
	$(VENV)/bin/lakehouse stack status

clean: stack-down
	rm -rf .local
