# Data platform: `make demo` and `make test` are the quick start; `make dev` opens the UI.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PLATFORM_HOME ?= $(CURDIR)/.platform
export PLATFORM_HOME
export DAGSTER_HOME := $(PLATFORM_HOME)/dagster_home

# uv: the one on PATH, else installed from PyPI into .platform/tools.
UV := $(shell command -v uv 2>/dev/null)
ifeq ($(UV),)
UV := $(PLATFORM_HOME)/tools/bin/uv
endif

HOST ?= 127.0.0.1
PORT ?= 3000
API_PORT ?= 8001

.PHONY: help install instance demo dev web-api test lint bench

help:
	@echo "make demo   materialize the five locations on sample data with a few weeks of history"
	@echo "make test   run the test suite"
	@echo "make dev    Dagster UI on http://$(HOST):$(PORT) against the same local instance"
	@echo "make web-api  the web system's API on http://$(HOST):$(API_PORT) (needs make dev running)"
	@echo "make lint   ruff"
	@echo "make bench  benchmarks (print figures and same-run baselines)"

$(PLATFORM_HOME)/tools/bin/uv:
	python3 -m pip install --quiet --target "$(PLATFORM_HOME)/tools" uv

install: $(UV)
	"$(UV)" sync --frozen --quiet

instance:
	@mkdir -p "$(DAGSTER_HOME)"
	@cp dagster.yaml "$(DAGSTER_HOME)/dagster.yaml"

demo: install instance
	"$(UV)" run --frozen python -m resources.local_services -- python -m resources.demo $(LOCATIONS)

dev: install instance
	"$(UV)" run --frozen python -m resources.local_services -- \
		dagster dev -w workspace.yaml -h $(HOST) -p $(PORT)

# The web system's API (inspig); it launches runs on the webserver of `make dev`.
web-api: install
	DAGSTER_WEBSERVER_URL=$${DAGSTER_WEBSERVER_URL:-http://$(HOST):$(PORT)} \
		"$(UV)" run --frozen python -m resources.local_services -- \
		python -m inspig_assets.web_api --host $(HOST) --port $(API_PORT)

test: install
	"$(UV)" run --frozen pytest $(PYTEST_ARGS)

lint: install
	"$(UV)" run --frozen ruff check .
	"$(UV)" run --frozen ruff format --check .

# Every bench/*.py is a benchmark, except its helper modules (benchdb.py, and any _*.py).
BENCH_HELPERS := bench/benchdb.py $(wildcard bench/_*.py)
BENCHMARKS := $(filter-out $(BENCH_HELPERS),$(sort $(wildcard bench/*.py)))

bench: install
	@set -e; for script in $(BENCHMARKS); do \
		echo "== $$script"; "$(UV)" run --frozen python "$$script"; \
	done
