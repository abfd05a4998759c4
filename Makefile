# madoguchi — the two commands of the README are `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
EMBEDDED := DEBUG=1

.PHONY: run test bench lint format lock messages check-catalogue clean system-deps

$(STAMP): pyproject.toml requirements/dev.lock
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade "pip>=24"
	$(BIN)/pip install --quiet --require-hashes -r requirements/dev.lock
	$(BIN)/pip install --quiet --no-deps -e .
	$(EMBEDDED) $(BIN)/madoguchi compile_translations
	touch $(STAMP)

## run: the platform on its embedded defaults at http://127.0.0.1:8000 (SQLite and files under var/)
run: $(STAMP)
	$(EMBEDDED) $(BIN)/madoguchi migrate --no-input -v0
	$(EMBEDDED) $(BIN)/madoguchi createcachetable
	$(EMBEDDED) $(BIN)/madoguchi sample load --if-empty
	$(EMBEDDED) $(BIN)/madoguchi runserver 127.0.0.1:8000

## test: the whole suite (SQLite unless DATABASE_URL names another database)
test: $(STAMP)
	$(BIN)/pytest

## bench: benchmarks against PostgreSQL; writes docs/benchmarks.md
bench: $(STAMP)
	$(BIN)/python bench/run.py

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

format: $(STAMP)
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench

check-catalogue: $(STAMP)
	$(BIN)/madoguchi procedures check src/madoguchi/sample/catalogue

## lock: regenerate the lock files from pyproject.toml
lock:
	$(BIN)/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras -o requirements/base.lock pyproject.toml
	$(BIN)/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras --extra dev -o requirements/dev.lock pyproject.toml

messages: $(STAMP)
	cd src/madoguchi && ../../$(BIN)/madoguchi makemessages -l en --no-obsolete --ignore "*/tests/*"
	$(BIN)/madoguchi compile_translations

## system-deps: Debian packages for browser tests and benchmarks (needs root)
system-deps:
	apt-get update
	apt-get install -y --no-install-recommends chromium wrk poppler-utils

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache
