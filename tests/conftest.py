"""Test settings: strict shapes, and the project's CPU XLA default, before jax loads; the
tiny ring run that the tests which only read or copy a finished run share."""

import os
import shutil
import tempfile

# The project's CPU default, XLA's backend at -O1 and its older loop emitters for fusions: the
# tests run a few steps of many small programs, so compiling them is about half of their time;
# -O1 compiles them faster than the default -O2 and runs them about as fast (-O0 compiles faster
# still but runs the longer tests two to three times slower), and without the MLIR fusion
# emitters XLA:CPU compiles the suite's programs in two thirds of the time (317 s against 467 s).
# Bitwise comparisons are between runs under the same flags.
SUITE_XLA_FLAGS = ("--xla_cpu_experimental_ynn_fusion_type= --xla_backend_optimization_level=1 "
                   "--xla_cpu_use_fusion_emitters=false")
os.environ.setdefault("XLA_FLAGS", SUITE_XLA_FLAGS)
# One compilation cache for the whole session, shared by the xdist workers (they inherit the
# controller's environment) and by the subprocesses that tests start: many tests compile the
# same small programs, and the per-module cache clearing below would otherwise recompile them.
# Removed when the session ends (pytest_unconfigure).
if "EBGAN_JAX_TEST_COMPILATION_CACHE" not in os.environ:
  os.environ["EBGAN_JAX_TEST_COMPILATION_CACHE"] = tempfile.mkdtemp(prefix="ebgan_jax_tests_")
  _OWN_CACHE = True
else:
  _OWN_CACHE = False
os.environ.setdefault("JAX_COMPILATION_CACHE_DIR", os.environ["EBGAN_JAX_TEST_COMPILATION_CACHE"])
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0")
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES", "0")

import jax  # noqa: E402

# Implicit rank and dtype promotion hide shape and precision bugs; make them errors in the
# tests (Python scalars still combine with arrays of any dtype).
jax.config.update("jax_numpy_rank_promotion", "raise")
jax.config.update("jax_numpy_dtype_promotion", "strict")

import pytest  # noqa: E402


# The modules that take the most CPU (about 140, 55, 50, 45, 40, 40, 40 and 35 s of the suite's
# 780 on 2 cores), handed out first: make test runs each module in one process
# (--dist loadfile), and a heavy module handed out last would leave the other processes idle.
HEAVY_FIRST = ("test_family.py", "test_robustness.py", "test_models.py", "test_bihm.py",
               "test_parallel.py", "test_ladder.py", "test_superres.py", "test_sweep.py")


def pytest_collection_modifyitems(config, items):
  rank = {name: i for i, name in enumerate(HEAVY_FIRST)}
  items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable: in-module order kept


def pytest_unconfigure(config):
  if _OWN_CACHE:  # the process that made the cache: the controller, or a run without xdist
    shutil.rmtree(os.environ["EBGAN_JAX_TEST_COMPILATION_CACHE"], ignore_errors=True)


@pytest.fixture(autouse=True, scope="module")
def _compiled_programs_do_not_outlive_their_module():
  # Each test module compiles its own programs; a worker that kept every module's would grow
  # by hundreds of MB per module over the session. Within a module they are shared.
  yield
  release_compiled_programs()


def release_compiled_programs():
  """Drops every compiled program and hands the freed heap back to the system (glibc keeps it
  otherwise, and the worker's resident size would never shrink)."""
  import ctypes
  import gc
  jax.clear_caches()
  gc.collect()
  try:
    ctypes.CDLL("libc.so.6").malloc_trim(0)
  except (OSError, AttributeError):  # not glibc
    pass


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

