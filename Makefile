# Bastion: `make run` serves the example blueprint; `make test` runs the whole suite.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev

.PHONY: run test lint typecheck unit fuzz clean help

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(DEV_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@ $(STAMP)

run: $(STAMP) ## Serve examples/bastion.yaml on embedded SQLite at http://127.0.0.1:8000
	cd examples && ../$(BIN)/bastion serve bastion.yaml

lint: $(DEV_STAMP) ## ruff, mypy --strict and the import-layer contract
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests
	$(BIN)/mypy src
	$(BIN)/lint-imports

# The official AsyncAPI 3.0 JSON Schema (npm @asyncapi/specs; no PyPI package ships it):
# tests validate `bastion export asyncapi` against it. Kept in the venv, fetched once.
ASYNCAPI_SPECS_VERSION := 6.11.1
ASYNCAPI_SCHEMA := $(VENV)/share/asyncapi-specs/3.0.0.json
$(ASYNCAPI_SCHEMA): | $(BIN)/python
	@command -v npm >/dev/null || { echo "npm not found: the AsyncAPI schema test will skip (install npm to run it)"; exit 0; }; \
	rm -rf $(@D) && mkdir -p $(@D) && \
	cd $(@D) && npm pack --silent @asyncapi/specs@$(ASYNCAPI_SPECS_VERSION) >/dev/null \
	  && tar -xzf asyncapi-specs-$(ASYNCAPI_SPECS_VERSION).tgz --strip-components=2 \
	    'package/schemas/3.0.0-without-$$id.json' \
	  && mv '3.0.0-without-$$id.json' 3.0.0.json && rm asyncapi-specs-*.tgz

test: lint $(ASYNCAPI_SCHEMA) ## Lint, type-check, then run every test (SQLite and PostgreSQL)
	$(BIN)/pytest -n 2 -q

FUZZ_EXAMPLES ?= 300
fuzz: $(DEV_STAMP) ## Fuzz the API against its OpenAPI document (schemathesis, large budget; not in `make test`)
	BASTION_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(BIN)/pytest -n 2 -q -p no:cacheprovider tests/e2e/test_schemathesis.py

.PHONY: bench bench-scale bench-tokens bench-ops bench-events
bench: $(STAMP) ## Benchmark Bastion against the references in bench/ (~25 min; writes docs/benchmarks.md)
	$(BIN)/python bench/run.py bench --invoked-as "make bench"

bench-tokens: $(STAMP) ## Access-token verification per request against PyJWT directly (seconds)
	$(BIN)/python bench/tokens.py

bench-ops: $(STAMP) ## Cost per request of metrics, the access log and tracing, against none (seconds)
	$(BIN)/python bench/operations.py

bench-events: $(STAMP) ## Event log cost per create (on/off, PostgreSQL and SQLite) and relay events/s per broker (minutes)
	$(BIN)/python bench/events.py

bench-scale: $(STAMP) ## Get/list latency at 10k and 1M rows, deep cursor pages (BENCH_SCALE_10M=1 adds 10M)
	$(BIN)/python bench/run.py scale --invoked-as "make bench-scale"

clean: ## Remove the virtual environment and caches
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
