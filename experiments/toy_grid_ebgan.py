"""EBGAN on the grid of 25 Gaussians at {-4, -2, 0, 2, 4}^2 (PacGAN protocol, Lin et al. 2018),
MLP networks, margin 2.

  make train EXP=toy_grid_ebgan
"""

from ebgan_jax.configs import toy_config


def get_config():
  return toy_config("grid", "ebgan")
