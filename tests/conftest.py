"""Test settings: strict shapes, and the project's CPU XLA default, before jax loads."""

import os

os.environ.setdefault("XLA_FLAGS", "--xla_cpu_experimental_ynn_fusion_type=")

import jax  # noqa: E402

# Implicit rank promotion hides shape bugs; make it an error in the tests.
jax.config.update("jax_numpy_rank_promotion", "raise")
