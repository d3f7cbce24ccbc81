# Two commands for a fresh machine: `make run` and `make test`. Both create .venv.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test bench lint clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e '.[s3,cli,html,test,dev]'
	touch $(STAMP)

run: $(STAMP)
	$(VENV)/bin/pyexec-store run examples/sensor_analysis.py
	$(VENV)/bin/pyexec-store ls --limit 5

test: $(STAMP)
	$(PY) -m pytest -q

bench: $(STAMP)
	@for f in benchmarks/bench_*.py; do echo "== $$f"; $(PY) $$f || exit 1; done

lint: $(STAMP)
	$(VENV)/bin/ruff check pyexec_store tests benchmarks examples
	$(VENV)/bin/ruff format --check pyexec_store tests benchmarks examples
	$(VENV)/bin/mypy

clean:
	rm -rf $(VENV) _agent_data .pytest_cache .mypy_cache .ruff_cache
