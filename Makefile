# factory — one Makefile for the whole line. `make demo` and `make test` are the quickstart.
SHELL := /bin/bash
.SHELLFLAGS := -eo pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# The machine-wide pip config can point at missing local mirrors; drop only those warnings.
PIP := $(BIN)/pip -q --disable-pip-version-check
QUIET_PIP := sed "/^WARNING: Location 'file:/d"

export FACTORY_DATA_DIR ?= $(CURDIR)/data
export FACTORY_STATE_DIR ?= $(CURDIR)/.factory
export FACTORY_WAREHOUSE ?= $(FACTORY_STATE_DIR)/warehouse.sqlite
export DAGSTER_HOME ?= $(FACTORY_STATE_DIR)/dagster_home
export FACTORY_MLFLOW_TRACKING_URI ?= sqlite:///$(FACTORY_STATE_DIR)/mlflow.db
export FACTORY_MLFLOW_ARTIFACTS ?= file://$(FACTORY_STATE_DIR)/mlartifacts
# Telemetry off everywhere (see STACK.md §5): calls out can hang where egress is dropped.
export DO_NOT_TRACK := true
export MLFLOW_DISABLE_TELEMETRY := true
export DAGSTER_DISABLE_TELEMETRY := 1
export DBT_SEND_ANONYMOUS_USAGE_STATS := false
# torch on one thread: its nets are small, and on a busy 2-core machine a second OpenMP thread
# made a training step 26–100x slower (0.44 vs 11.5 ms at batch 64, 1.1 vs 84–119 ms at 1024)
export OMP_NUM_THREADS ?= 1

# dbt and the dagster CLIs are found on PATH by dagster-dbt; the venv comes first.
export PATH := $(CURDIR)/$(BIN):$(PATH)
STATE_STAMP := factory_assets/defs/.local_defs_state/.prepared
DBT_SOURCES := $(shell find dbt_project -name '*.sql' -o -name '*.yml' | grep -v -e target/ -e logs/)
# make demo replays, for each shipped dataset (DATASET=<one> for one), DAYS periods after its
# models' holdout (flights: from 2013-05-01; 0 = to the calendar's end), BATCH periods per line
# run; a batched dataset (screenings) replays its batches
DATASET ?=
DATASETS := $(or $(DATASET),nycflights chicago screenings)
# Chicago's counts go back to 2001: the demo lands what its models read (a year of training from
# 2014-10-01, counts up to 41 days before) and its first line runs from the oldest landed day
LANDING_chicago ?= --first 2014-08-01
DAYS ?= 14
# a week per line run: each day is still scored and judged on its own, and the sensors tick after
# each week (one run per day took 192 s instead of 92 s for the flights' 14 days, and every
# example has to fit in 8 minutes with the install); BATCH=1 replays a line run per day
BATCH ?= 7
MLFLOW_PORT ?= 5000
SERVE_HOST ?= 127.0.0.1
SERVE_PORT ?= 8000

.PHONY: help install demo year test ui mlflow-ui serve data check lint bench clean prod-home ui-prod \
	new-model
help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)

# torch first, on its own: this exact spec takes the local CPU wheel where one is offered.
$(VENV)/.installed: requirements.lock pyproject.toml | $(BIN)/activate
	$(PIP) install torch==2.13.0 2>&1 | $(QUIET_PIP)
	$(PIP) install -r requirements.lock 2>&1 | $(QUIET_PIP)
	$(PIP) install --no-deps --no-build-isolation -e . 2>&1 | $(QUIET_PIP)
	# DuckLake's extensions from their packages into DuckDB's extension folder: dbt, the DuckDB
	# CLI and notebooks then LOAD them with no network (the line loads them itself anyway)
	$(BIN)/python -m factory_assets.lib.lake
	touch $@

# The dbt manifest and the dbt component's state are prepared here, once, not at every load.
$(STATE_STAMP): $(VENV)/.installed $(DAGSTER_HOME)/dagster.yaml $(DBT_SOURCES)
	cd dbt_project && ../$(BIN)/dbt parse --quiet --profiles-dir .
	$(BIN)/dg utils refresh-defs-state
	mkdir -p $(dir $@)
	touch $@

$(DAGSTER_HOME)/dagster.yaml: dagster.yaml
	mkdir -p $(DAGSTER_HOME)
	cp dagster.yaml $@

install: $(VENV)/.installed $(STATE_STAMP) $(DAGSTER_HOME)/dagster.yaml  ## venv, locked deps, prepared dbt project

data: install  ## lay the example datasets out as landing files (DATASET: one of nycflights, chicago, screenings)
	$(foreach d,$(DATASETS),$(BIN)/factory landing --dataset $(d) $(LANDING_$(d)) &&) true

demo: data  ## install, land the data, train the first champions, replay DAYS days (default 14) of every example
	rc=0; $(foreach d,$(DATASETS),$(BIN)/factory replay --dataset $(d) --days $(DAYS) \
		--batch-days $(BATCH) || rc=1;) exit $$rc

year: data  ## each example's year replayed a week at a time: one line run, one monitoring run judging each day, then the sensors
	rc=0; for d in $(DATASETS); do \
		$(BIN)/factory replay --dataset $$d --days 0 --batch-days 7 || rc=1; done; exit $$rc

test: install  ## the test suite (CPU, offline)
	$(BIN)/pytest

ui: install  ## Dagster UI (webserver + daemon) on http://127.0.0.1:3000, same instance as the demo
	$(BIN)/dagster dev -w workspace.yaml -h 127.0.0.1 -p 3000

# Production tier (deploy/README.md): the instance in Postgres, credentials from DAGSTER_PG_*.
# Its home is FACTORY_PROD_HOME, never DAGSTER_HOME, so `make` never copies the embedded
# dagster.yaml over it.
FACTORY_PROD_HOME ?= $(FACTORY_STATE_DIR)/dagster_home_prod
PG_VARS := DAGSTER_PG_HOST DAGSTER_PG_PORT DAGSTER_PG_USER DAGSTER_PG_PASSWORD DAGSTER_PG_DB

prod-home:  ## production instance: deploy/dagster.yaml into $FACTORY_PROD_HOME (Postgres)
	@for v in $(PG_VARS); do [ -n "$${!v+set}" ] || { echo "set $$v (deploy/README.md)"; exit 1; }; done
	mkdir -p $(FACTORY_PROD_HOME)
	cp deploy/dagster.yaml $(FACTORY_PROD_HOME)/dagster.yaml

ui-prod: install prod-home  ## Dagster UI + daemon on the Postgres instance, http://127.0.0.1:3000
	DAGSTER_HOME=$(FACTORY_PROD_HOME) $(BIN)/dagster dev -w workspace.yaml -h 127.0.0.1 -p 3000

mlflow-ui: install  ## MLflow UI on http://127.0.0.1:5000 over the same tracking store and registry
	$(BIN)/mlflow ui --host 127.0.0.1 --port $(MLFLOW_PORT) \
		--backend-store-uri $(FACTORY_MLFLOW_TRACKING_URI) \
		--default-artifact-root $(FACTORY_MLFLOW_ARTIFACTS)

serve: install  ## scoring service (FastAPI) of every model spec on http://$(SERVE_HOST):$(SERVE_PORT), docs at /docs (after make demo)
	$(BIN)/python -m factory_assets.serving_app --host $(SERVE_HOST) --port $(SERVE_PORT)

# NAME=<name>: defs/models/<name>/defs.yaml, a commented spec that loads as is (the skeleton is
# factory_assets/components/model_spec_skeleton.yaml); refuses a bad name or an existing model.
new-model: install  ## a new model's spec in defs/models/$(NAME)/defs.yaml, then dg check defs
	@[[ "$(NAME)" =~ ^[^/]+$$ ]] || { echo "usage: make new-model NAME=<name> (e.g. cancellations)"; exit 2; }
	$(BIN)/dg scaffold defs factory_assets.components.model_spec.ModelSpec "models/$(NAME)"
	$(BIN)/dg check defs

check: install  ## ruff + definitions validation
	$(BIN)/ruff check factory_assets tests benchmarks
	$(BIN)/ruff format --check factory_assets tests benchmarks
	$(BIN)/dg check defs

bench: install  ## benchmarks, results in benchmarks/results/*.json
	$(BIN)/python -m benchmarks

clean:  ## remove local state (warehouse, Dagster home) but keep the venv and the landing data
	rm -rf $(FACTORY_STATE_DIR) factory_assets/defs/.local_defs_state dbt_project/target
