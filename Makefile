# Deep Learning in 12 Days -- one command each:
#   make lab    create .venv, install everything, open JupyterLab on notebooks/
#   make test   create .venv if missing, install, run every test in the smoke profile
#   make test-colab  the Colab leg: Python 3.13 with Colab's package versions (.venv-colab),
#               the unit tests and every notebook run alone in an empty folder, as on Colab
#   make bench  run notebooks in the cpu (or gpu) profile, write bench/results.json + RESULTS.md
#               (DAYS=05 or DAYS="01 02" to rerun some days only)
#   make data   install Debian's Fashion-MNIST package where possible
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DAYS ?=
COLAB_VENV := .venv-colab
COLAB_PY := $(COLAB_VENV)/bin/python
COLAB_STAMP := $(COLAB_VENV)/.installed
PYTHON_COLAB ?=

.PHONY: lab practice test test-colab bench data sync clean

$(STAMP): requirements.txt pyproject.toml
	@echo "== [1/3] creating $(VENV) with $$($(PYTHON) --version 2>&1)"
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@echo "== [2/3] installing the pinned packages (about 3.5 GB with the CPU build of torch; 1-5 minutes, depending on the connection)"
	$(PY) -m pip install -q -r requirements.txt
	@echo "== [3/3] installing mlcourse from this folder, then checking the environment"
	$(PY) -m pip install -q --no-deps -e .
	$(PY) -m pip check
	touch $(STAMP)
	@echo "== $(VENV) is ready"

# ARGS passes options to JupyterLab, e.g. make lab ARGS="--no-browser --port 8899" on a remote
# machine. As root (Docker, cloud VMs, WSL) JupyterLab needs --allow-root: added, with a note.
ARGS ?=
ROOT_FLAG := $(if $(filter 0,$(shell id -u 2>/dev/null)),--allow-root)
LAB_DIR ?= notebooks
lab: $(STAMP)
	@$(if $(ROOT_FLAG),echo "== running as root: starting JupyterLab with --allow-root")
	$(VENV)/bin/jupyter lab $(ROOT_FLAG) $(ARGS) $(LAB_DIR)/

# Your own copies of the notebooks in practice/ (ignored by git), so that `git pull` updates
# notebooks/ without touching your work. Copies only the notebooks you do not have yet.
practice: $(STAMP)
	@mkdir -p practice
	@for f in notebooks/*.ipynb; do t=practice/$$(basename $$f); \
		if [ -e $$t ]; then echo "kept   $$t (your copy)"; else cp $$f $$t && echo "copied $$t"; fi; done
	$(MAKE) --no-print-directory lab LAB_DIR=practice

# Checkpoints go to a fresh folder, so that Days 11/12 train (not resume an earlier test run).
# The tests run in WORKERS processes side by side (pytest-xdist). `--dist loadscope` keeps the
# tests of one file on one worker, in order: a notebook's cells share one kernel, and a module's
# fixtures (the simulated Colab, which pip-installs into one environment) are built once. One
# thread per process (OMP_NUM_THREADS): small tensors, and threads that wait for each other's
# cores are slower than none. Files start in the order of tests/conftest.py (the longest first,
# not xdist's default of the most tests first). WORKERS=1 runs everything in one process, as before.
WORKERS ?= 2
XDIST := $(if $(filter-out 1,$(WORKERS)),-n $(WORKERS) --dist loadscope --no-loadscope-reorder)
test: $(STAMP)
	ckpt=$$(mktemp -d) && trap 'rm -rf "$$ckpt"' EXIT && \
	OMP_NUM_THREADS=$${OMP_NUM_THREADS:-1} MLCOURSE_PROFILE=smoke MLCOURSE_CHECKPOINTS=$$ckpt $(PY) -m pytest -v \
		--durations=15 $(XDIST) --nbval-lax --nbval-current-env --nbval-cell-timeout=300 --timeout=900

$(COLAB_STAMP): tests/colab/requirements.txt
	@echo "== creating $(COLAB_VENV): Python 3.13 with Google Colab's package versions (a few GB, some minutes)"
	test -x $(COLAB_PY) || $${PYTHON_COLAB:-$$(tools/find_python.sh 3.13)} -m venv $(COLAB_VENV)
	$(COLAB_PY) -m pip install -q -r tests/colab/requirements.txt
	$(COLAB_PY) -m pip check
	touch $(COLAB_STAMP)

# mlcourse is deliberately not installed in .venv-colab: each notebook's setup cell installs it,
# as on Colab (tests/colab/test_colab_sim.py). The unit tests import it from this folder; the
# checks of the repository itself (marker `repository`: notebook files, README, pins) run in
# `make test` only, since Colab's versions cannot change their outcome.
# Two shards side by side, one thread each (OMP_NUM_THREADS=1; with torch's default two threads per
# process on two cores, two processes took 906 s against 713 s in one): shard 0 runs the unit tests
# and the notebooks of COLAB_DAYS_0, shard 1 those of COLAB_DAYS_1. Measured with the odd days in
# shard 0 and the even ones in shard 1: 497 s and 285 s, the leg 518 s against 765 s in one process;
# Day 11 (90 s) then moved to shard 1 to even them out.
# Each notebook's setup cell pip-installs mlcourse into its environment, so shard 1 runs in a copy
# of .venv-colab made of hard links (seconds, no disk space): two shards installing into one
# environment would pull mlcourse from under each other.
COLAB_DAYS_0 := 01 03 05 07 09
COLAB_DAYS_1 := 02 04 06 08 10 11 12
COLAB_B := $(COLAB_VENV)-b
COLAB_ENV := MLCOURSE_PROFILE=smoke MLCOURSE_COLAB_SIM=1 OMP_NUM_THREADS=$${OMP_NUM_THREADS:-1}
COLAB_PYTEST := -m pytest -v --durations=15 -m "not repository" --timeout=900
test-colab: $(COLAB_STAMP)
	$(COLAB_PY) -m pip uninstall -q -y mlcourse 2>/dev/null || true
	rm -rf $(COLAB_B) && cp -al $(COLAB_VENV) $(COLAB_B)
	log=$$(mktemp) && shard1= && \
	trap 'if [ -n "$$shard1" ]; then kill $$shard1 2>/dev/null; wait $$shard1 2>/dev/null; fi; \
	      echo "== shard 1 of the Colab leg (tests/colab: days $(COLAB_DAYS_1)):"; cat "$$log"; rm -rf "$$log" $(COLAB_B)' EXIT && \
	{ MLCOURSE_COLAB_DAYS="$(COLAB_DAYS_1)" $(COLAB_ENV) $(COLAB_B)/bin/python $(COLAB_PYTEST) tests/colab > "$$log" 2>&1 & } && shard1=$$! && \
	{ MLCOURSE_COLAB_DAYS="$(COLAB_DAYS_0)" $(COLAB_ENV) $(COLAB_PY) $(COLAB_PYTEST) tests; status0=$$?; } ; \
	wait $$shard1; status1=$$?; shard1=; \
	echo "== Colab leg: shard 0 exited with $$status0, shard 1 with $$status1 (its log follows)"; \
	test $$status0 = 0 && test $$status1 = 0

bench: $(STAMP)
	$(PY) bench/run.py $(if $(DAYS),--days $(DAYS))

data:
	@if [ -f /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ]; then \
		echo "Fashion-MNIST is already installed under /usr/share/datasets/fashion-mnist"; \
	elif command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
		apt-get update -qq && apt-get install -y -qq dataset-fashion-mnist; \
	else \
		echo "No apt-get with root here: nothing to install. The loaders download the data"; \
		echo "on first use (internet needed once) and cache it in \$$MLCOURSE_DATA (~/.cache/mlcourse)."; \
	fi

sync: $(STAMP)
	$(PY) tools/sync_notebooks.py

clean:
	rm -rf $(VENV) $(COLAB_VENV)
