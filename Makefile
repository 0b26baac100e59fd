# Two commands set everything up: `make lab` and `make test`. Both are idempotent.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)
COURSE ?= $(CURDIR)/course
# Jupyter settings per role (deploy/jupyter/<role>): a self-learner's view has no nbgrader tools but
# Validate (no exchange, no course); a hub student's (deploy/jupyter/student) adds the Assignments tab.
SELF_VIEW    := JUPYTER_CONFIG_PATH=$(CURDIR)/deploy/jupyter/self
STAFF_VIEW   := JUPYTER_CONFIG_PATH=$(CURDIR)/deploy/jupyter/staff EMBER_COURSE=$(COURSE)

.PHONY: lab instructor nbgrader hub-deps test release bench clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test,onnx,hub]'
	touch $(STAMP)

lab: $(STAMP)  ## a self-learner's JupyterLab on notebooks/ (student view)
	$(SELF_VIEW) $(VENV)/bin/jupyter lab --ServerApp.root_dir=notebooks $(ROOT_FLAG)

instructor: $(STAMP)  ## the instructor's JupyterLab on course/ (or COURSE=...), with formgrader
	test -n "$$EMBER_EXCHANGE" || test -d /srv/nbgrader/exchange || mkdir -p $(COURSE)/exchange
	$(STAFF_VIEW) PATH=$(CURDIR)/$(VENV)/bin:$$PATH $(VENV)/bin/jupyter lab --ServerApp.root_dir=$(COURSE) $(ROOT_FLAG)

nbgrader: $(STAMP)  ## any nbgrader command on the course: make nbgrader ARGS="collect 01_backprop"
	test -n "$$EMBER_EXCHANGE" || test -d /srv/nbgrader/exchange || mkdir -p $(COURSE)/exchange
	cd $(COURSE) && $(STAFF_VIEW) PATH=$(CURDIR)/$(VENV)/bin:$$PATH $(CURDIR)/$(VENV)/bin/nbgrader $(ARGS)

hub-deps:  ## configurable-http-proxy for deploy/hub (pinned in deploy/hub/package-lock.json)
	npm ci --prefix deploy/hub --no-audit --no-fund

test: $(STAMP)  ## run the whole test suite
	$(PY) -m pytest -q

release: $(STAMP)  ## regenerate notebooks/ from course/source
	$(PY) -m autograder release

bench: $(STAMP)
	for b in bench/*.py; do $(PY) $$b || exit 1; done

clean:
	rm -rf $(VENV) course/release course/autograded course/feedback course/submitted course/gradebook.db course/exchange
