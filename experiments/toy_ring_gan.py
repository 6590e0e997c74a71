"""GAN on the ring of 8 Gaussians (PacGAN protocol), MLP networks as in toy_ring_ebgan.

  make train EXP=toy_ring_gan
"""

from ebgan_jax.configs import toy_config


def get_config():
  return toy_config("ring", "gan")
