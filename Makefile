# The README's commands. Everything installs itself on first use.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
VENV_STAMP := $(VENV)/.installed

.PHONY: install run up down status test test-unit bench lint format

$(VENV_STAMP): requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -r requirements-dev.txt
	touch $@

install: $(VENV_STAMP)

run: install
	$(PY) -m stack run

up: install
	$(PY) -m stack up

down: install
	$(PY) -m stack down

status: install
	$(PY) -m stack status

test: install
	$(PY) -m pytest

test-unit: install
	$(PY) -m pytest -m "not integration and not e2e and not faults"

bench: install
	$(PY) -m bench

lint: install
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy

format: install
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .
