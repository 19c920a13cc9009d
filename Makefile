# The two commands of the README: `make demo` (the main job) and `make test`.
# `make demo ARGS="--duration 120"` passes options to `cachesync demo`.
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin

.PHONY: bootstrap demo test lint stack stack-down unit

bootstrap:
	bash scripts/bootstrap.sh

demo: bootstrap
	bash scripts/demo.sh $(ARGS)

test: bootstrap
	bash scripts/test.sh

lint: bootstrap
	$(BIN)/ruff check .
	$(BIN)/mypy

unit: bootstrap
	$(BIN)/pytest tests/unit

stack: bootstrap
	$(BIN)/cachesync stack up
	$(BIN)/cachesync stack status

stack-down:
	$(BIN)/cachesync stack down
