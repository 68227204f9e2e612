# The course's commands. Start here:
#   make lab      set up (first time only) and open the course in JupyterLab
#   make test     set up (first time only) and run every test
# Instructors: make release (regenerate course/ from solutions/), make grade SUBMISSIONS=<folder or zip>,
#   make site (the course as a website; SOLUTIONS=1 for the instructors' edition), make environment.yml.

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
KERNEL := deadrelu
KERNEL_DISPLAY_NAME := Python 3 (deadrelu)
INSTALLED := $(VENV)/.installed
ASSIGNMENTS := $(sort $(notdir $(wildcard solutions/[0-9]*)))
LAB_ARGS ?=
# Jupyter refuses to run as root unless told; containers and course VMs often are root.
ALLOW_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root)
PYTEST_ARGS ?=
# Tools started by the tools (nbgrader runs `alembic`, pytest runs `nbgrader`) come from the venv.
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: lab test lint format release grade site env clean-env

# The environment: Debian packages where we can install them (bubblewrap for the grader's
# sandbox, chromium for the browser tests: scripts/install_system_packages.sh), then a virtual environment with the pinned versions, the helper package
# (editable, so changes to deadrelu/ apply at once) and a named Jupyter kernel inside it.
# It is rebuilt when requirements.txt or pyproject.toml change.
$(INSTALLED): requirements.txt pyproject.toml scripts/install_system_packages.sh
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else "The course needs Python 3.11, but $(PYTHON) is " + sys.version.split()[0] + ". Run: make $(MAKECMDGOALS) PYTHON=python3.11")'
	@bash scripts/install_system_packages.sh
	@echo "==> Creating $(VENV) and installing the pinned packages (about a minute)"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --requirement requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps --editable .
	$(BIN)/python -m ipykernel install --sys-prefix --name $(KERNEL) --display-name "$(KERNEL_DISPLAY_NAME)"
	$(BIN)/jupyter labextension enable --level=sys_prefix @jupyter/nbgrader
	@touch $@
	@echo "==> Environment ready: $(VENV), kernel '$(KERNEL_DISPLAY_NAME)'"

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
