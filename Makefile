# Two commands for a fresh machine: `make run` and `make test`. Both create .venv.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
LOWEST := .venv-lowest

.PHONY: run test test-lowest bench bench-quick bench-serialization lint coverage mutation clean

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

# The suite on the oldest release pyproject.toml allows of every runtime
# dependency and of the s3 extra (the test tools at their newest that fit):
# a floor that is too low fails here. The pins come from pyproject.toml; uv
# resolves the test tools around them in seconds, where pip backtracks for minutes.
test-lowest: $(STAMP)
	rm -rf $(LOWEST)
	$(PYTHON) -m venv $(LOWEST)
	$(PY) .ci/floors.py constraints > $(LOWEST)/floors.txt
	$(VENV)/bin/uv pip install --quiet --python $(LOWEST)/bin/python \
		--constraint $(LOWEST)/floors.txt -e '.[s3,cli,html,test]'
	$(LOWEST)/bin/python .ci/floors.py check
	$(LOWEST)/bin/python -m pytest -q -p no:cacheprovider

# Every backend against its floors, from one run: docs/benchmarks.md, its charts
# (docs/img/bench-*.png) and docs/benchmarks.json (a few minutes; starts and
# stops moto's server and SeaweedFS on 127.0.0.1, their logs in a temporary folder).
bench: $(STAMP)
	$(PY) benchmarks/bench_backends.py

# Every case once at small size, output thrown away: the benchmarks still run (under a minute).
bench-quick: $(STAMP)
	$(PY) benchmarks/bench_backends.py --quick

# The results writer against the original serializer (docs/benchmarks-serialization.md).
bench-serialization: $(STAMP)
	$(PY) benchmarks/bench_serialization.py

lint: $(STAMP)
	$(VENV)/bin/ruff check pyexec_store tests benchmarks examples
	$(VENV)/bin/ruff format --check pyexec_store tests benchmarks examples
	$(VENV)/bin/mypy

# Line and branch coverage of the whole suite (the code the tests run in this
# process; the command's child processes are not traced), worst files first.
coverage: $(STAMP)
	$(VENV)/bin/coverage run -m pytest -q -p no:cacheprovider
	$(VENV)/bin/coverage report

# Mutation testing of the core modules with mutmut 3 (configured in
# pyproject.toml, [tool.mutmut]); not part of `make test`. Results are cached in
# mutants/: a second run only retests the functions that changed (rm -rf mutants
# to start over). Prints every mutant that was not killed.
MUTMUT_JOBS ?= 2
mutation: $(STAMP)
	$(PY) -c 'import mutmut' 2>/dev/null || $(PY) -m pip install --quiet 'mutmut>=3.3,<4'
	$(VENV)/bin/mutmut run --max-children $(MUTMUT_JOBS)
	$(VENV)/bin/mutmut results

clean:
	rm -rf $(VENV) $(LOWEST) mutants .coverage _agent_data .pytest_cache .mypy_cache .ruff_cache
