"""EBGAN on the ring of 8 Gaussians (PacGAN protocol, Lin et al. 2018), MLP networks, margin 0.5.

  make train EXP=toy_ring_ebgan
"""

from ebgan_jax.configs import toy_config


def get_config():
  return toy_config("ring", "ebgan")
