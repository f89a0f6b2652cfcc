# coopmatrix: two commands. `make run` serves it on http://127.0.0.1:8000; `make test` runs every test.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test bench lint install install-test clean screenshots

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e .
	touch $(STAMP)

$(TEST_STAMP): $(STAMP)
	$(BIN)/pip install --quiet -e ".[test]"
	touch $(TEST_STAMP)

install: $(STAMP)

install-test: $(TEST_STAMP)

run: $(STAMP)
	$(BIN)/coopmatrix migrate --noinput
	$(BIN)/coopmatrix load_reference
	$(BIN)/coopmatrix collectstatic --noinput --verbosity 0
	@echo ""
	@echo "coopmatrix is served on http://$(HOST):$(PORT)/ (public records need no sign-in)."
	@echo "Create the first administrator with:  $(BIN)/coopmatrix createsuperuser"
	@echo ""
	$(BIN)/coopmatrix serve $(HOST):$(PORT)

test:
	bash scripts/test.sh

# PNGs of the main screens on a desktop and a phone, in var/screenshots, for a reviewer.
screenshots: $(TEST_STAMP)
	COOPMATRIX_SCREENSHOTS=$(CURDIR)/var/screenshots $(BIN)/pytest -q -p no:cacheprovider tests/test_screenshots.py
	@echo "Screenshots written to var/screenshots/"

bench: $(STAMP)
	$(BIN)/pip install --quiet -e ".[bench]"
	$(BIN)/python benchmarks/run.py

lint: $(TEST_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache

clean:
	rm -rf $(VENV) var
