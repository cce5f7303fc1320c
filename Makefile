# Two commands: `make demo` and `make test`. Both set everything up first (idempotent).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
SYS_STAMP := $(VENV)/.sysdeps
DEMO_WS ?= data/demo-workspace
# Mesa's EGL + software GL for offscreen rendering (pyrender via PYOPENGL_PLATFORM=egl).
APT_PACKAGES := libegl1 libegl-mesa0 libgl1-mesa-dri libgles2 libglx-mesa0
# Headless Chromium for the tests that open the HTML report and the app in a browser.
APT_TEST_PACKAGES := chromium
BROWSER_STAMP := $(VENV)/.browser

.PHONY: demo demo-compare app test test-all bench setup sysdeps browser lint clean help

help:  ## show the targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

demo: setup  ## set up, then run the main job on the built-in demo data
	$(VENV)/bin/curator demo --workspace $(DEMO_WS)

# Behaviour check for refactors: build the demo from REF (a commit) and from this working tree
# into fresh workspaces and compare every file but times, random ids and shard suffixes.
REF ?= HEAD
demo-compare: setup  ## build the demo at REF (default HEAD) and from the working tree, and compare
	@set -e; tmp=$$(mktemp -d); \
	trap 'git worktree remove --force "$$tmp/src" >/dev/null 2>&1; rm -rf "$$tmp"' EXIT; \
	git worktree add -q --detach "$$tmp/src" "$(REF)"; \
	echo "building the demo at $(REF) ..."; \
	PYTHONPATH="$$tmp/src" $(VENV)/bin/curator demo --workspace "$$tmp/ref-ws" > "$$tmp/ref.log" 2>&1 \
	  || { tail -20 "$$tmp/ref.log"; exit 1; }; \
	echo "building the demo from the working tree ..."; \
	PYTHONPATH="$$PWD" $(VENV)/bin/curator demo --workspace "$$tmp/new-ws" > "$$tmp/new.log" 2>&1 \
	  || { tail -20 "$$tmp/new.log"; exit 1; }; \
	$(PY) scripts/compare_demo.py "$$tmp/ref-ws" "$$tmp/new-ws"

app: setup  ## the app on the demo workspace (run make demo first), on 127.0.0.1:8501
	$(VENV)/bin/curator app $(DEMO_WS)

test: setup browser  ## set up, then run the test suite (slow suites excluded)
	$(PY) -m pytest -m "not slow"

test-all: setup browser  ## every test, slow suites included
	$(PY) -m pytest

bench: setup  ## run the benchmarks (prints ratio tables)
	$(PY) benchmarks/bench_store.py
	$(PY) benchmarks/bench_generate.py
	$(PY) benchmarks/bench_neighbors.py
	$(PY) benchmarks/bench_embed.py
	$(PY) benchmarks/bench_gap.py
	$(PY) benchmarks/bench_report.py
	$(PY) benchmarks/bench_oversample.py
	$(PY) benchmarks/bench_experiment.py
	$(PY) benchmarks/bench_app.py
	$(PY) benchmarks/bench_executor.py
	$(PY) benchmarks/bench_scale.py
	$(PY) benchmarks/bench_index_kinds.py

lint: setup
	$(VENV)/bin/ruff check curator generators app reports tests benchmarks

setup: sysdeps $(STAMP)

# System packages: installed with apt when missing (root or sudo), checked quickly otherwise.
define apt_install
	@missing=$$(for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  if ! command -v apt-get >/dev/null; then \
	    echo "warning: no apt-get; install by hand ($(2)): $$missing" >&2; \
	  else \
	    SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	    echo "installing system packages: $$missing"; \
	    $$SUDO apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing; \
	  fi; \
	fi
	@mkdir -p $(VENV) && touch $@
endef

sysdeps: $(SYS_STAMP)
$(SYS_STAMP):
	$(call apt_install,$(APT_PACKAGES),Mesa EGL: libEGL + swrast)

browser: $(BROWSER_STAMP)
$(BROWSER_STAMP):
	$(call apt_install,$(APT_TEST_PACKAGES),headless Chromium for the browser tests)

# torch is pinned in the same pip command as the `cnn` extra so its CPU build is taken
# (any other torch spec can pull a multi-GB CUDA build).
$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev,cnn,distributed]" "torch==2.13.0"
	@touch $@

clean:  ## remove the virtualenv and demo outputs
	rm -rf $(VENV) $(DEMO_WS) .pytest_cache
