# Two commands set up a fresh machine that has only Python 3.11+ and git:
#   make dev    install everything and run the whole stack locally (embedded defaults)
#   make test   install everything and run the whole test suite
SHELL := /bin/bash
PYTHON ?= python3
TOOLS := .tools
# uv is bootstrapped from PyPI into .tools, pinned, so every machine runs the same one.
UV_REQUIREMENT := uv>=0.9,<0.14
UV := $(TOOLS)/bin/uv
# Managed-Python downloads are unreachable on many machines: use the interpreter that is here.
export UV_PYTHON_DOWNLOADS := never
export UV_PYTHON_PREFERENCE := only-system
PYTEST_ARGS ?=

.PHONY: dev test install lint format typecheck check bench clean

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check "$(UV_REQUIREMENT)"

install: $(UV)
	$(UV) sync --frozen

dev: install
	$(UV) run --frozen pma up

# pytest exits 5 when it collects no test (e.g. a -k that matches nothing): reported, not a failure.
test: install
	@$(UV) run --frozen pytest $(PYTEST_ARGS); status=$$?; \
	if [ $$status -eq 5 ]; then echo "pytest collected no tests (exit 5)"; exit 0; fi; exit $$status

lint: install
	$(UV) run --frozen ruff check .
	$(UV) run --frozen ruff format --check .

format: install
	$(UV) run --frozen ruff check --fix .
	$(UV) run --frozen ruff format .

typecheck: install
	$(UV) run --frozen mypy

check: lint typecheck test

clean:
	rm -rf $(TOOLS) .venv .mypy_cache .ruff_cache .pytest_cache
