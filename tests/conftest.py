"""Test settings: strict shapes, and the project's CPU XLA default, before jax loads; the
tiny ring run that the tests which only read or copy a finished run share."""

import os
import shutil

os.environ.setdefault("XLA_FLAGS", "--xla_cpu_experimental_ynn_fusion_type=")

import jax  # noqa: E402

# Implicit rank and dtype promotion hide shape and precision bugs; make them errors in the
# tests (Python scalars still combine with arrays of any dtype).
jax.config.update("jax_numpy_rank_promotion", "raise")
jax.config.update("jax_numpy_dtype_promotion", "strict")

import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _no_inception_weights_from_the_environment(monkeypatch):
  # A developer's own weights path must not change what the tests measure.
  monkeypatch.delenv("EBGAN_JAX_INCEPTION_WEIGHTS", raising=False)


def tiny(**overrides):
  """The tiny EBGAN ring run of the checkpoint and robustness tests (20 steps, a checkpoint
  every 10)."""
  from ebgan_jax import configs
  return configs.with_values(configs.load_config("toy_ring_ebgan"), **{
      "model.size_g": 32, "model.size_d": 32, "margin": 0.5, "num_steps": 20, "log_every": 10,
      "checkpoint_every": 10, "sample_every": 1000, "async_checkpoints": False, **overrides})


@pytest.fixture(scope="session")
def finished_run(tmp_path_factory):
  """:func:`tiny` trained once per session; tests that change it work on a copy
  (:func:`copy_of`)."""
  from ebgan_jax import train
  workdir = tmp_path_factory.mktemp("finished")
  train.train_and_evaluate(tiny(), str(workdir), progress=False)
  return workdir


def copy_of(run, tmp_path):
  target = tmp_path / "run"
  shutil.copytree(run, target)
  return target


def assert_resume_is_bitwise(config, full_workdir, split_workdir, split_at: int):
  """Trains ``config`` in ``split_workdir`` in two calls, stopping at ``split_at`` first, and
  checks that its final state equals, bit for bit, that of the run in ``full_workdir`` (the
  same config trained in one call)."""
  import numpy as np
  from ebgan_jax import configs, train, trained
  first = configs.with_values(config.copy_and_resolve_references(), num_steps=split_at)
  train.train_and_evaluate(first, str(split_workdir), progress=False)
  train.train_and_evaluate(config, str(split_workdir), progress=False)
  a, b = trained.load(str(full_workdir)), trained.load(str(split_workdir))
  assert a.step == b.step == config.num_steps
  for x, y in zip(jax.tree.leaves(a.state), jax.tree.leaves(b.state)):
    np.testing.assert_array_equal(np.asarray(x), np.asarray(y))
