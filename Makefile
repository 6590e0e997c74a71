# ebgan_jax: set-up, training, tests and benchmarks. Every target creates .venv when missing.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
EXP ?= digits_ebgan_pt
WORKDIR ?= runs/$(EXP)
ARGS ?=
PYTEST_ARGS ?=

.PHONY: install train sample test test-slow bench clean

$(VENV)/.installed: setup.cfg pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	@touch $@

install: $(VENV)/.installed

train: install
	$(PY) -m ebgan_jax.main --config experiments/$(EXP).py --workdir $(WORKDIR) $(ARGS)

N ?= 64
sample: install
	$(PY) -m ebgan_jax.sample --workdir $(WORKDIR) --n $(N)

test: install
	$(PY) -m pytest -m "not slow" $(PYTEST_ARGS)

test-slow: install
	$(PY) -m pytest -m slow $(PYTEST_ARGS)

bench: install
	$(PY) -m ebgan_jax.bench $(ARGS)

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache
