# Two commands for a fresh Debian machine with Python 3.11:
#   make demo   set up .venv and run the main job
#   make test   set up .venv and the system packages the tests need, then run every test
# and, to iterate: make test-unit   set up .venv, then the unit tier only (no apt, no clickhouse-server)
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed
APT_PACKAGES := clickhouse-server openssl chromium prometheus

.PHONY: setup kernels system-packages demo test test-unit clean-rings

setup: $(INSTALLED) kernels

# Compile the Numba kernels once (about a minute the first time, then cached), so no process
# pays for it while serving and tests do not compile them several times in parallel.
kernels: $(INSTALLED)
	$(PY) -m aggregator.main

$(PY):
	$(PYTHON) -m venv $(VENV) || { [ "$$(id -u)" = 0 ] && apt-get update -q && apt-get install -y -q python3-venv && rm -rf $(VENV) && $(PYTHON) -m venv $(VENV); }

# The feeds' compiled parts (feeds/_scan.c, _stage.c, _pump.c, built by the install) need a C compiler and Python's
# headers: installed with apt-get when missing (as root); without them the install goes on, the feeds pure Python.
$(INSTALLED): $(PY) setup.cfg pyproject.toml setup.py $(wildcard feeds/*.c feeds/*.h)
	@if ! command -v cc >/dev/null || ! $(PY) -c 'import os, sys, sysconfig; sys.exit(not os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h")))'; then \
		[ "$$(id -u)" = 0 ] && apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q gcc python3-dev \
		|| echo "no C compiler or Python headers (Debian: gcc, python3-dev): the feeds will run in pure Python"; \
	fi
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $@

# System packages the tests need (a ClickHouse 18.16 server that the tests start themselves; openssl makes
# the certificates of the TLS test; chromium, headless, opens the dashboard page; prometheus scrapes a running
# group in tests/integration/test_prometheus.py),
# installed with apt-get when missing.
system-packages:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" != 0 ]; then echo "make test needs these Debian packages:$$missing (run as root or install them)"; exit 1; fi; \
		apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing; \
	fi

# The demo runs until 8 s past the first minute boundary that is at least 40 s away (48 to 108 s), so every
# symbol closes a minute bar with its features and regime row; then it prints what was stored.
# (computed when the run starts, after set-up)
DEMO_SECONDS = $$(python3 -c 'import time; left = 60 - time.time() % 60; print(int(left + (60 if left < 40 else 0) + 8))')

demo: setup
	$(VENV)/bin/tickagg run --simulate --seconds $(DEMO_SECONDS) --group demo
	$(VENV)/bin/tickagg summary --group demo

test: setup system-packages
	TICKAGG_REQUIRE_STORES=1 TICKAGG_REQUIRE_COMPILED=1 $(PY) -m pytest -q --durations=25  # the slowest tests listed: CI time is watched

# The unit tier (tests/unit): no processes, servers or sockets, so no system packages either.
test-unit: setup
	$(PY) -m pytest -q -m "not slow" tests/unit

clean-rings:
	$(VENV)/bin/tickagg rings --remove default
