VENV ?= .venv
PY := $(VENV)/bin/python
PORT ?= 3306
DATA ?= ./data

.PHONY: run test test-unit test-e2e bench lint install docs

$(VENV)/.installed-run: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $@ $(VENV)/.installed-run

install: $(VENV)/.installed-run

run: $(VENV)/.installed-run
	$(VENV)/bin/drlab node --data $(DATA) --host 127.0.0.1 --port $(PORT)

# test-unit: seconds, no processes; test-e2e: real node processes on loopback. CI runs `make test`, both.
test: $(VENV)/.installed-test
	$(PY) -m pytest -q tests

test-unit: $(VENV)/.installed-test
	$(PY) -m pytest -q tests/unit

test-e2e: $(VENV)/.installed-test
	$(PY) -m pytest -q tests/e2e

# ruff, then mypy over the packages (pyproject.toml [tool.mypy] names them)
lint: $(VENV)/.installed-test
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

# the captured sessions in README.md and docs/*.md, regenerated from real runs (docs/capture.py)
docs: $(VENV)/.installed-test
	$(PY) docs/capture.py

bench: $(VENV)/.installed-test
	bench/run

# The Raft core's simulation over thousands of seeds (make test runs 300); RAFT_SIM_FIRST=<n> shifts them.
.PHONY: raft-sim
raft-sim: $(VENV)/.installed-test
	RAFT_SIM_RUNS=$${RAFT_SIM_RUNS:-5000} $(PY) -m pytest -q tests/unit/test_raft_sim.py -k seeded

# Election time of the Raft core in simulation (in election timeouts), after the leader crashes.
.PHONY: raft-elections
raft-elections: $(VENV)/.installed-test
	$(PY) -m tests.unit.raft_sim

.PHONY: bench-replication
bench-replication: $(VENV)/.installed-test
	$(PY) bench/replication.py

.PHONY: bench-failback
bench-failback: $(VENV)/.installed-test
	$(PY) bench/failback.py

.PHONY: bench-retention
bench-retention: $(VENV)/.installed-test
	$(PY) bench/retention.py
