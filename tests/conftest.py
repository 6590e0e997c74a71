"""Test settings: strict shapes, and the project's CPU XLA default, before jax loads."""

import os

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
