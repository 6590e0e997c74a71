# ebgan_jax: set-up, training, tests and benchmarks. Every target but device-check creates .venv when missing.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
EXP ?= digits_ebgan_pt
WORKDIR ?= runs/$(EXP)
ARGS ?=
PYTEST_ARGS ?=

.PHONY: install train sample eval results likelihood semi-supervised sweep margin-sweep recipes began grid-search theory evaluation-function superres synthetic-celeba test test-slow bench bench-sweep device-check clean

$(VENV)/.installed: setup.cfg pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	@touch $@

install: $(VENV)/.installed

train: install
	$(PY) -m ebgan_jax.main --config experiments/$(EXP).py --workdir $(WORKDIR) $(ARGS)

eval: install
	$(PY) -m ebgan_jax.evaluate --workdir $(WORKDIR) $(if $(HR_DIR),--hr_dir $(HR_DIR)) $(ARGS)

# PROTOCOL=embedded: the family on the embedded data, short budget (results/README.md);
# PROTOCOL=pacgan: PacGAN's 2-D protocol at its own budget (results/pacgan/README.md).
PROTOCOL ?= embedded
results: install
	@case "$(PROTOCOL)" in \
	  embedded) $(PY) -m ebgan_jax.studies.family $(ARGS) ;; \
	  pacgan) $(PY) -m ebgan_jax.studies.pacgan $(ARGS) ;; \
	  *) echo "error: PROTOCOL must be embedded or pacgan, got '$(PROTOCOL)'." >&2; exit 2 ;; \
	esac

# The default sweep is the EBGAN paper's Figure 9 (experiments/digits_margin_sweep.py); EXP=...
# sweeps another experiment.
SWEEP ?= margin=1,2,4,6,8,12,16,32
SWEEP_EXP := $(if $(filter command line environment,$(origin EXP)),$(EXP),digits_margin_sweep)
# make sweep writes under WORKDIR when it is given, like every other target.
SWEEP_WORKDIR := $(if $(filter command line environment,$(origin WORKDIR)),$(WORKDIR),runs/$(SWEEP_EXP)_sweep)
likelihood: install
	$(PY) -m ebgan_jax.studies.likelihood $(ARGS)

semi-supervised: install
	$(PY) -m ebgan_jax.studies.semisupervised $(ARGS)

sweep: install
	$(PY) -m ebgan_jax.sweep --config experiments/$(SWEEP_EXP).py --workdir $(SWEEP_WORKDIR) --sweep "$(SWEEP)" $(ARGS)

# The EBGAN paper's grid search (Table 1): SUBSET=N network settings (default: 64 on a CPU, the
# whole grid on an accelerator), SUBSET=all for the paper's 512 EBGAN and 6,144 GAN settings.
SUBSET ?=
CONFIG ?= experiments/digits_grid_search.py
grid-search: install
	$(PY) -m ebgan_jax.studies.grid_search --config $(CONFIG) $(if $(SUBSET),--subset $(SUBSET)) $(ARGS)

# The EBGAN paper's margin sweep (Fig. 9) and its page (results/margin_sweep).
margin-sweep: install
	$(PY) -m ebgan_jax.studies.margin_sweep $(ARGS)

# BEGAN and MAGAN with their papers' recipes, three seeds each, and BEGAN's gamma sweep
# (results/recipes).
recipes: install
	$(PY) -m ebgan_jax.studies.recipes $(ARGS)

# BEGAN on the digits: the paper's recipe diagnosed, a search fixed before it ran, the adopted
# recipe on held-out seeds (results/began; resumable, the search from its committed JSON).
began: install
	$(PY) -m ebgan_jax.studies.began $(ARGS)

# GAN Proposition 1 and EBGAN Theorems 1-2 on toys (results/theory).
theory: install
	$(PY) -m ebgan_jax.studies.theory $(ARGS)

# The evaluation-function view: the structured perceptron, experience replay and negatives by
# Langevin dynamics against a generator's (results/evaluation_function).
evaluation-function: install
	$(PY) -m ebgan_jax.studies.evaluation_function $(ARGS)

# Super-resolution at x2 and x4 on held-out photographs (results/superres; about 50 minutes).
superres: install
	$(PY) -m ebgan_jax.studies.superres $(ARGS)

# CelebA-shaped JPEGs as a TFDS dataset (synthetic_celeb_a), to measure the input pipeline.
synthetic-celeba: install
	$(PY) -m ebgan_jax.data.synthetic_celeba $(ARGS)

N ?= 64
sample: install
	$(PY) -m ebgan_jax.sample --workdir $(WORKDIR) --n $(N) $(if $(INPUT),--input $(INPUT) --output $(OUTPUT)) $(ARGS)

# Test processes (pytest-xdist): one per core, at most 4 (each holds its own JAX). A module's
# tests run in one process (--dist loadfile), so the programs they share compile once there:
# 7 % less CPU than spreading them over the processes (tests/conftest.py hands out the
# heaviest modules first).
JOBS ?= $(shell $(PYTHON) -c "import os; print(min(4, os.cpu_count() or 1))")
test: install
	$(PY) -m pytest -m "not slow" -n $(JOBS) --dist loadfile $(PYTEST_ARGS)

test-slow: install
	$(PY) -m pytest -m slow $(PYTEST_ARGS)

bench: install
	$(PY) -m ebgan_jax.tools.bench $(ARGS)

# On a machine with an accelerator and no network (ebgan_jax/tools/device_check.py): the
# project's .venv when there is one, else the machine's python3 and its JAX, with ML Collections,
# which such images lack, installed from third_party/. Without an accelerator: one line, exit 2.
DEVICE_OUT ?= results/device
DEVICE_SITE ?= /tmp/ebgan_jax_site
device-check:
	@py=$(PY); test -x $$py || py=$(PYTHON); \
	$$py -c "import ml_collections" 2>/dev/null || $$py -m pip install --quiet --no-index --no-deps \
	  --target $(DEVICE_SITE) third_party/ml_collections-1.1.0-py3-none-any.whl || exit 1; \
	PYTHONPATH=$(CURDIR):$(DEVICE_SITE)$${PYTHONPATH:+:$$PYTHONPATH} $$py -m ebgan_jax.tools.device_check --out $(DEVICE_OUT) $(ARGS)

bench-sweep: install
	$(PY) -m ebgan_jax.sweep --config experiments/$(SWEEP_EXP).py --bench --sweep "$(SWEEP)" --config.num_steps=500 --config.sample_every=100000 --config.checkpoint_every=100000 $(ARGS)

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache
