# The two entry points of the README. Both create .venv and install the
# project with its test extras first, so they work on a fresh machine with
# Python 3.11 and nothing else installed.
PYTHON ?= python3
VENV ?= .venv
PYTEST_ARGS ?=

.PHONY: install run test

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --upgrade pip
	$(VENV)/bin/python -m pip install --quiet -e '.[test]'
	touch $@

run: install
	$(VENV)/bin/catalog-tracker up

test: install
	$(VENV)/bin/python -m pytest $(PYTEST_ARGS)
