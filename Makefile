# The course's commands. Start here:
#   make lab      set up (first time only) and open the course in JupyterLab
#   make test     set up (first time only) and run every test
# Instructors: make release (regenerate course/ from solutions/), make grade SUBMISSIONS=<folder or zip>,
#   make site (the course as a website; SOLUTIONS=1 for the instructors' edition), make environment.yml,
#   make classroom (a trial JupyterHub for a class, as root).

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
KERNEL := deadrelu
KERNEL_DISPLAY_NAME := Python 3 (deadrelu)
# On the course's JupyterHub (classroom/) every user's server has COURSE_ENV, the hub's shared
# environment: the commands use it and build nothing. Elsewhere they use (and build) .venv.
ifdef COURSE_ENV
BIN := $(COURSE_ENV)/bin
INSTALLED :=
else
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
endif
ASSIGNMENTS := $(sort $(notdir $(wildcard solutions/[0-9]*)))
LAB_ARGS ?=
# Jupyter refuses to run as root unless told; containers and course VMs often are root.
ALLOW_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root)
PYTEST_ARGS ?=
# Tools started by the tools (nbgrader runs `alembic`, pytest runs `nbgrader`) come from the venv.
export PATH := $(abspath $(BIN)):$(PATH)

.PHONY: lab test lint format release grade site classroom classroom-env env clean-env

# The environment: Debian packages where we can install them (bubblewrap for the grader's
# sandbox, chromium for the browser tests: scripts/install_system_packages.sh), then a virtual environment with the pinned versions, the helper package
# (editable, so changes to deadrelu/ apply at once), a named Jupyter kernel and JupyterHub's proxy inside it.
# It is rebuilt when requirements.txt or pyproject.toml change.
ifndef COURSE_ENV
$(INSTALLED): requirements.txt pyproject.toml scripts/install_system_packages.sh scripts/install_hub_proxy.sh
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else "The course needs Python 3.11, but $(PYTHON) is " + sys.version.split()[0] + ". Run: make $(MAKECMDGOALS) PYTHON=python3.11")'
	@bash scripts/install_system_packages.sh
	@echo "==> Creating $(VENV) and installing the pinned packages (about a minute)"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --requirement requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps --editable .
	$(BIN)/python -m ipykernel install --sys-prefix --name $(KERNEL) --display-name "$(KERNEL_DISPLAY_NAME)"
	$(BIN)/jupyter labextension enable --level=sys_prefix @jupyter/nbgrader
	@bash scripts/install_hub_proxy.sh $(VENV)
	@touch $@
	@echo "==> Environment ready: $(VENV), kernel '$(KERNEL_DISPLAY_NAME)'"
endif

env: $(INSTALLED)

lab: $(INSTALLED)
	$(BIN)/jupyter lab --ServerApp.root_dir="$(CURDIR)" --LabApp.default_url=/lab/tree/course $(ALLOW_ROOT) $(LAB_ARGS)

test: $(INSTALLED)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# ruff alone (tests/test_lint.py runs the same two commands inside `make test`); `make format` fixes what it can.
lint: $(INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(INSTALLED)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Regenerate every student notebook in course/ from its source in solutions/ with nbgrader.
# This also records the assignments in the gradebook (autograder/gradebook.db).
release: $(INSTALLED)
	@test -n "$(ASSIGNMENTS)" || { echo "no assignments found in solutions/"; exit 1; }
	@for id in $(ASSIGNMENTS); do \
	  echo "==> nbgrader generate_assignment $$id"; \
	  $(BIN)/nbgrader generate_assignment --force --log-level=WARN "$$id" || exit 1; \
	done

# Grade a class: every notebook in SUBMISSIONS (a folder <student>/<assignment>/<notebook>.ipynb,
# default autograder/submitted, or an LMS zip), in parallel, each in a bubblewrap sandbox.
# Writes autograder/grades.csv, autograder/test_results.csv, autograded notebooks and feedback.
# Options: JOBS=2, GRADE_ARGS="--require-sandbox --cell-timeout 60 ..." (see: make grade GRADE_ARGS=--help)
# SCHEDULER=tcp://host:8786 grades on that Dask cluster; DB=postgresql://user@host/db keeps the gradebook there.
# Run it again after an interruption: it grades only what the gradebook does not hold yet.
SUBMISSIONS ?=
JOBS ?=
SCHEDULER ?=
DB ?=
GRADE_ARGS ?=
grade: $(INSTALLED)
	$(BIN)/python -m autograder.grade $(SUBMISSIONS) $(if $(JOBS),--jobs $(JOBS)) $(if $(SCHEDULER),--scheduler $(SCHEDULER)) $(if $(DB),--db '$(DB)') $(GRADE_ARGS)

# A trial classroom on this machine, as root: JupyterHub on http://127.0.0.1:8000 with accounts for an
# instructor and three students (created where missing) and one shared trial password (printed).
# CLASSROOM_ARGS="--students ann,ben --port 8001"; CLASSROOM_ARGS=--remove-accounts deletes the accounts.
CLASSROOM_ARGS ?=
classroom: classroom-env
	COURSE_ENV=$(CLASSROOM_ENV) $(CLASSROOM_ENV)/bin/python -m classroom.trial $(CLASSROOM_ARGS)

# The classroom's shared environment, where every user's JupyterLab and kernel run (what The Littlest
# JupyterHub calls the user environment): the pinned packages, the helper package (copied in, not
# linked), the kernel, JupyterHub and its proxy. It is built from a Python every account can run:
# students cannot run a Python inside root's home (pyenv's, say), which .venv may be built from.
CLASSROOM_ENV ?= $(CURDIR)/build/classroom/env
CLASSROOM_PYTHON ?= /usr/bin/python3.11
$(CLASSROOM_ENV)/.installed: requirements.txt pyproject.toml scripts/install_hub_proxy.sh classroom/lab_overrides.json
	@$(CLASSROOM_PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else "the classroom needs Python 3.11: set CLASSROOM_PYTHON")'
	@echo "==> Creating the classroom's shared environment $(CLASSROOM_ENV) (about a minute)"
	$(CLASSROOM_PYTHON) -m venv $(CLASSROOM_ENV)
	$(CLASSROOM_ENV)/bin/python -m pip install --quiet --requirement requirements.txt
	$(CLASSROOM_ENV)/bin/python -m ipykernel install --sys-prefix --name $(KERNEL) --display-name "$(KERNEL_DISPLAY_NAME)"
	$(CLASSROOM_ENV)/bin/jupyter labextension enable --level=sys_prefix @jupyter/nbgrader
	@# no "Would you like to get notified about official Jupyter news?" for a class on a closed network
	mkdir -p $(CLASSROOM_ENV)/share/jupyter/lab/settings
	cp classroom/lab_overrides.json $(CLASSROOM_ENV)/share/jupyter/lab/settings/overrides.json
	@bash scripts/install_hub_proxy.sh $(CLASSROOM_ENV)
	@touch $@

# Each time: the helper package and the roles' settings (classroom/jupyter/) copied in afresh, so that
# users need nothing from this folder.
classroom-env: $(CLASSROOM_ENV)/.installed
	@$(CLASSROOM_ENV)/bin/python -m pip install --quiet --no-deps --force-reinstall . 2>&1 | grep -v "^WARNING: Location" || true
	@rm -rf $(CLASSROOM_ENV)/etc/classroom && mkdir -p $(CLASSROOM_ENV)/etc/classroom
	@cp -R classroom/jupyter/. $(CLASSROOM_ENV)/etc/classroom/

# The course as a static website in build/site/html (open index.html, or copy the folder to any
# static host): each notebook in the student's view with a reference run's outputs, no solutions.
# SOLUTIONS=1 builds the instructors' edition, with solutions, into build/site-solutions/html.
SOLUTIONS ?=
site: $(INSTALLED)
	$(BIN)/python -m website.build $(if $(filter-out 0,$(SOLUTIONS)),--solutions)

environment.yml: requirements.txt scripts/write_environment_yml.py
	$(PYTHON) scripts/write_environment_yml.py

clean-env:
	rm -rf $(VENV)
