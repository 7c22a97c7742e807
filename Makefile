# simtrain — the two commands a newcomer needs are `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
DEBUG ?=
PYTEST_ARGS ?=

PO_FILES := $(wildcard locale/*/LC_MESSAGES/django.po)
MO_FILES := $(PO_FILES:.po=.mo)

.DEFAULT_GOAL := help

.PHONY: help
help: ## List the targets
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[1m%-14s\033[0m %s\n", $$1, $$2}'

$(STAMP): requirements.lock pyproject.toml
	@scripts/check-python.sh $(PYTHON)
	@scripts/ensure-system.sh gettext libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.lock
	@touch $(STAMP)

locale/%/LC_MESSAGES/django.mo: locale/%/LC_MESSAGES/django.po
	@scripts/ensure-system.sh gettext
	msgfmt --check-format -o $@ $<

.PHONY: install
install: $(STAMP) $(MO_FILES) ## Create .venv, install the pinned dependencies, compile translations (idempotent)

.PHONY: migrate
migrate: install
	$(PY) manage.py migrate --noinput

.PHONY: demo
demo: migrate ## Load the shipped scenarios and the demo accounts
	$(PY) manage.py import_scenario fixtures/scenarios/*
	$(PY) manage.py create_demo_users

.PHONY: run
run: demo ## Install, migrate, load the demo data and serve on http://127.0.0.1:8000 (DEBUG=1: debug mode)
	@$(PY) manage.py create_demo_users --print-only --host $(HOST) --port $(PORT)
	$(PY) -m simtrain.serve -b $(HOST) -p $(PORT) $(if $(filter 1 yes true on,$(DEBUG)),--debug)

.PHONY: run-scaled
run-scaled: install ## The production shape on one machine: PostgreSQL, Redis, 2 Daphne workers, scheduler, nginx
	scripts/run-scaled.sh

.PHONY: bench
bench: install ## Benchmarks (never part of make test): fan-out latency, replay, syndicates, soak, editor; writes bench/results and docs/performance.md
	$(PY) -m bench.fanout
	$(PY) -m bench.replay_bench
	$(PY) -m bench.syndicates
	$(PY) -m bench.soak
	$(PY) -m bench.editor

.PHONY: soak
soak: install ## The soak alone: 2 h of exercise at ×60 with 100 screens (about 3 min); writes bench/results/soak.json
	$(PY) -m bench.soak

.PHONY: test
test: install ## Run the whole test suite (installs what it needs first)
	@scripts/ensure-system.sh chromium
	$(BIN)/pytest -m "not scaleout" $(PYTEST_ARGS)

.PHONY: test-scaleout
test-scaleout: install ## Cross-process tests: PostgreSQL, Redis, two Daphne workers, schedulers
	@scripts/ensure-system.sh postgresql redis-server nginx
	@eval "$$(scripts/postgres.sh start)" && DATABASE_URL="$$DATABASE_URL" $(BIN)/pytest -m scaleout tests/scaleout $(PYTEST_ARGS)

.PHONY: lint
lint: install ## Lint and check formatting with ruff
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

.PHONY: messages
messages: install ## Extract the strings to translate into locale/*/django.po
	$(PY) manage.py makemessages -l fr -l en --no-obsolete --ignore=.venv --ignore=static/vendor --ignore=tests --ignore=bench

.PHONY: lock
lock: ## Re-resolve pyproject.toml's dependencies into requirements.lock
	rm -rf /tmp/simtrain-lock && $(PYTHON) -m venv /tmp/simtrain-lock
	/tmp/simtrain-lock/bin/python -c "import tomllib; p = tomllib.load(open('pyproject.toml', 'rb'))['project']; print('\n'.join(p['dependencies'] + p['optional-dependencies']['dev']))" > /tmp/simtrain-lock/wanted.txt
	/tmp/simtrain-lock/bin/pip install --quiet --disable-pip-version-check -r /tmp/simtrain-lock/wanted.txt
	{ echo "# Pinned versions of every package simtrain installs (runtime + test)."; \
	  echo "# Regenerate with \`make lock\` after changing pyproject.toml."; \
	  /tmp/simtrain-lock/bin/pip freeze | grep -viE '^(pip|setuptools|wheel)=='; \
	} > requirements.lock

.PHONY: clean
clean: ## Remove the virtualenv, the local database and caches
	rm -rf $(VENV) db.sqlite3 db.sqlite3-wal db.sqlite3-shm var .pytest_cache .hypothesis
