"""BEGAN on the grid of 25 Gaussians (PacGAN protocol), gamma = 0.5, lambda_k = 0.001.

  make train EXP=toy_grid_began
"""

from ebgan_jax.configs import toy_config


def get_config():
  return toy_config("grid", "began")
