# madoguchi — the two commands of the README are `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
EMBEDDED := DEBUG=1

.PHONY: run-deps run test test-prepare bench faults lint format lock messages check-catalogue clean system-deps audit

$(STAMP): pyproject.toml requirements/dev.lock | run-deps
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade "pip>=24"
	$(BIN)/pip install --quiet --require-hashes -r requirements/dev.lock
	$(BIN)/pip install --quiet --no-deps -e .
	$(EMBEDDED) $(BIN)/madoguchi compile_translations
	touch $(STAMP)

# The English catalogue, compiled again whenever its .po changes (the .mo is build output).
CATALOGUE := src/madoguchi/locale/en/LC_MESSAGES/django
$(CATALOGUE).mo: $(CATALOGUE).po | $(STAMP)
	$(EMBEDDED) $(BIN)/madoguchi compile_translations

## run: the platform on its embedded defaults at http://127.0.0.1:8000 (SQLite and files under var/)
run: $(STAMP) $(CATALOGUE).mo
	$(EMBEDDED) $(BIN)/madoguchi migrate --no-input -v0
	$(EMBEDDED) $(BIN)/madoguchi createcachetable
	$(EMBEDDED) $(BIN)/madoguchi sample load --if-empty
	$(EMBEDDED) $(BIN)/madoguchi runserver 127.0.0.1:8000

# The real OpenID Connect provider of the identity tests (panva's oidc-provider, locked);
# installed once, after which the suite runs offline. Without npm those tests are skipped.
OIDC_PROVIDER := tests/identity/oidc_provider/node_modules/.package-lock.json

## test: the whole suite (SQLite unless DATABASE_URL names another database)
test: test-prepare
	$(BIN)/pytest --durations=15

# What the suite needs; CI prepares it once, then runs the two databases' suites at once.
test-prepare: system-deps $(STAMP) $(CATALOGUE).mo $(OIDC_PROVIDER)

$(OIDC_PROVIDER): tests/identity/oidc_provider/package-lock.json
	@if command -v npm >/dev/null; then \
	  cd tests/identity/oidc_provider && npm ci --no-audit --no-fund --loglevel=error; \
	else echo "npm not found: the OpenID Connect tests will be skipped (install Node.js 20+ and npm)"; fi

# Each benchmark is a script that writes its own section of docs/benchmarks.md.
BENCH_SCRIPTS := bench/run.py bench/booking.py bench/documents.py bench/ledger.py bench/queue.py bench/spike.py bench/memory.py

## bench: every benchmark against PostgreSQL; writes docs/benchmarks.md (exit 1 if a target is missed)
bench: $(STAMP)
	@status=0; for script in $(BENCH_SCRIPTS); do \
	  echo "== $$script"; $(BIN)/python $$script || status=$$?; \
	done; exit $$status

## faults: kill -9 a web server, restart PostgreSQL, kill the worker mid-signing, refuse mail; checks after each (docs/benchmarks.md)
faults: $(STAMP)
	$(BIN)/python bench/faults.py

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

## audit: bandit and ruff's security rules over src; every finding fixed or marked with its reason
audit: $(STAMP)
	$(BIN)/bandit -q -c pyproject.toml -r src
	$(BIN)/ruff check --select S src

format: $(STAMP)
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench

check-catalogue: $(STAMP)
	$(BIN)/madoguchi procedures check src/madoguchi/sample/catalogue
	$(BIN)/madoguchi routes check src/madoguchi/sample/routes

## lock: regenerate the lock files from pyproject.toml
lock:
	$(BIN)/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras -o requirements/base.lock pyproject.toml
	$(BIN)/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras --extra dev -o requirements/dev.lock pyproject.toml

messages: $(STAMP)
	cd src/madoguchi && $(EMBEDDED) ../../$(BIN)/madoguchi makemessages -l en --no-obsolete --ignore "*/tests/*"
	$(EMBEDDED) $(BIN)/madoguchi compile_translations

# Debian packages the project needs. To run: python3-venv, Pango (WeasyPrint) and the fonts
# embedded in issued PDFs (BIZ UD Gothic and IPAmj Mincho, see FIELD-NOTES). To test as well:
# chromium (browser tests), wrk (benchmarks), poppler-utils (pdfsig/pdffonts checks), SoftHSM
# (a real PKCS#11 token for signing tests), haproxy (two web nodes behind a load balancer in
# the fault tests), nodejs and npm (the test OpenID Connect provider), libnss3-tools and
# gettext (`make messages`; a test checks the English catalogue has every message of the code).
RUN_PACKAGES := python3-venv libpango-1.0-0 libpangoft2-1.0-0 \
	fonts-morisawa-bizud-gothic fonts-ipamj-mincho
TEST_PACKAGES := $(RUN_PACKAGES) chromium wrk poppler-utils zbar-tools softhsm2 haproxy nodejs npm \
	libnss3-tools gettext

## system-deps: install the Debian packages that are missing (root or sudo; quick when none is)
system-deps:
	@bin/debian-packages $(TEST_PACKAGES)

run-deps:
	@bin/debian-packages $(RUN_PACKAGES)

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache
