"""GAN on the grid of 25 Gaussians (PacGAN protocol), MLP networks as in toy_grid_ebgan.

  make train EXP=toy_grid_gan
"""

from ebgan_jax.configs import toy_config


def get_config():
  return toy_config("grid", "gan")
