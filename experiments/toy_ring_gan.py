"""GAN on the ring of 8 Gaussians, PacGAN's set-up (Lin et al. 2018, Table 1: 6.3 ± 0.5 modes,
98.2 ± 0.2 % high-quality samples, reverse KL 0.45 ± 0.09 over 10 runs); PacGAN2-4 with
--config.pack=2..4.

  make train EXP=toy_ring_gan                                      # 400,000 updates
  make train EXP=toy_ring_gan ARGS="--config.num_steps=20000"      # a quick look
"""

from ebgan_jax.configs import pacgan_config


def get_config():
  return pacgan_config("ring", "gan")
