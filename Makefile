# The two commands a newcomer needs: `make run` and `make test`. Everything else supports them.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
CHECKOV_VENV ?= .tools/checkov
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

.PHONY: run test venv tools browser bench clean help

help:
	@echo "make run    start emulator, Redis (if needed), worker and portal on http://127.0.0.1:8000"
	@echo "make test   run every test: Python, Go, templates, browser"
	@echo "make bench  run the deployment benchmark (results in bench/results/)"

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

# checkov pins an old boto3, so it lives in a virtualenv of its own and runs as a command.
tools: $(CHECKOV_VENV)/.installed

$(CHECKOV_VENV)/.installed:
	test -x $(CHECKOV_VENV)/bin/python || $(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --quiet 'checkov>=3.2,<4'
	touch $@

run: venv
	@scripts/run.sh

# Two xdist workers, each running whole test areas (tests/conftest.py XDIST_GROUPS); TEST_WORKERS=0 runs in one process.
TEST_WORKERS ?= 2
test: venv tools
	$(PY) -m pytest -n $(TEST_WORKERS) --dist loadgroup $(PYTEST_ARGS)

bench: venv
	$(PY) bench/deploy_lag.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) $(CHECKOV_VENV) instance .pytest_cache sample_app/.build
