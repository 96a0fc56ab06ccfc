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
# The tests' scratch files (each test's tmp_path, the embedded Postgres and Valkey) go to memory when the
# machine has a writable /dev/shm: the embedded Qdrant syncs its write-ahead log to disk on every
# collection change, and on a busy disk those syncs were most of a gateway test's set-up (0.07-0.27 s
# per gateway start in /dev/shm against 2-3 s on disk). TEST_TMPDIR= (empty) keeps them on disk.
TEST_TMPDIR ?= $(shell [ -d /dev/shm ] && [ -w /dev/shm ] && echo /dev/shm)

.PHONY: dev test install lint format typecheck check bench clean test-n8n fuzz

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check "$(UV_REQUIREMENT)"

install: $(UV)
	$(UV) sync --frozen

dev: install
	$(UV) run --frozen pma up

MEMBERS := core memory-gateway planner-engine scheduler-engine observer-agent

# Each member's tests run in an environment holding only what that member declares (in .venvs/), so
# an undeclared import fails here and not in production; then the cross-service tests run in the
# full workspace environment. pytest's exit 5 (no test collected, e.g. a -k matching nothing) is
# reported, not a failure. PYTEST_ARGS go to every run.
test: install
	@$(if $(TEST_TMPDIR),export TMPDIR=$(TEST_TMPDIR);) status=0; \
	for member in $(MEMBERS); do \
	  package=$$member; [ "$$member" = core ] && package=pma-core; \
	  echo "== $$package: services/$$member/tests, in its own environment"; \
	  UV_PROJECT_ENVIRONMENT=.venvs/$$member $(UV) run --frozen --package $$package \
	    pytest services/$$member/tests $(PYTEST_ARGS); \
	  code=$$?; [ $$code -eq 5 ] && { echo "no tests collected"; code=0; }; \
	  [ $$code -ne 0 ] && status=$$code; \
	done; \
	echo "== cross-service tests: tests/"; \
	$(UV) run --frozen pytest tests $(PYTEST_ARGS); \
	code=$$?; [ $$code -eq 5 ] && { echo "no tests collected"; code=0; }; \
	[ $$code -ne 0 ] && status=$$code; \
	[ $$status -eq 0 ] && echo "all test runs passed" || echo "some test runs failed"; \
	exit $$status

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
	rm -rf $(TOOLS) .venv .venvs .mypy_cache .ruff_cache .pytest_cache

# The five n8n workflows in a real n8n (n8n-workflows/README.md): npm installs n8n-workflows/runtime/package.json
# into .tools/n8n once (needs Node.js 20.19+), then tests/n8n/run_n8n.py runs them against `pma up`, a fake
# Coda and a fake Google Calendar. Not part of `make test` (about three minutes once n8n is installed).
test-n8n: install
	$(UV) run --frozen python tests/n8n/run_n8n.py

# Schemathesis against each service's own OpenAPI (pma_core.testing.fuzz), longer than the seeded run in
# `make test` and with the coverage phase (each schema keyword's boundary and negative values) too:
# FUZZ_EXAMPLES examples per operation and a new seed each run unless FUZZ_SEED is given (the
# report prints the seed, so a finding can be replayed with FUZZ_SEED=<it>).
FUZZ_EXAMPLES ?= 100
FUZZ_SEED ?= $(shell date +%s)
fuzz: install
	@$(if $(TEST_TMPDIR),export TMPDIR=$(TEST_TMPDIR);) status=0; \
	for member in memory-gateway planner-engine scheduler-engine observer-agent; do \
	  echo "== $$member: $(FUZZ_EXAMPLES) examples per operation, seed $(FUZZ_SEED)"; \
	  PMA_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) PMA_FUZZ_SEED=$(FUZZ_SEED) PMA_FUZZ_PHASES=examples,coverage,fuzzing,stateful \
	    UV_PROJECT_ENVIRONMENT=.venvs/$$member \
	    $(UV) run --frozen --package $$member pytest services/$$member/tests -k under_fuzzing -o timeout=3600 $(PYTEST_ARGS) \
	    || status=1; \
	done; \
	exit $$status
