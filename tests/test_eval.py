"""Mixture metrics on inputs with a known answer."""

import numpy as np

from ebgan_jax import data, eval as evaluation


def test_samples_on_every_mode_cover_all():
  ring = data.ring_mixture()
  samples = np.repeat(ring.modes, 10, axis=0)
  stats = evaluation.mixture_mode_stats(samples, ring.modes, ring.std)
  assert stats == {"modes_covered": 8, "high_quality": 1.0, "reverse_kl": 0.0}


def test_one_mode_and_far_samples():
  grid = data.grid_mixture()
  samples = np.concatenate([np.tile(grid.modes[3], (30, 1)), np.full((10, 2), 1.0)])
  stats = evaluation.mixture_mode_stats(samples, grid.modes, grid.std)
  assert stats["modes_covered"] == 1
  assert stats["high_quality"] == 0.75
  np.testing.assert_allclose(stats["reverse_kl"], np.log(25))
  none = evaluation.mixture_mode_stats(np.full((5, 2), 1.0), grid.modes, grid.std)
  assert none["modes_covered"] == 0 and none["reverse_kl"] == float("inf")
