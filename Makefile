# Two commands set everything up: `make lab` and `make test`. Both are idempotent.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: lab test release bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test,onnx]'
	touch $(STAMP)

lab: $(STAMP)  ## open the course in JupyterLab
	$(VENV)/bin/jupyter lab --ServerApp.root_dir=. $(if $(filter 0,$(shell id -u)),--allow-root,)

test: $(STAMP)  ## run the whole test suite
	$(PY) -m pytest -q

release: $(STAMP)  ## regenerate notebooks/ from course/source
	$(PY) -m autograder release

bench: $(STAMP)
	for b in bench/*.py; do $(PY) $$b || exit 1; done

clean:
	rm -rf $(VENV) course/release course/autograded course/feedback course/submitted course/gradebook.db
