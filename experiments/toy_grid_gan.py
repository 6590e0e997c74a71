"""GAN on the grid of 25 Gaussians, PacGAN's set-up (Lin et al. 2018, Table 1: 17.3 ± 0.8
modes, 94.8 ± 0.7 % high-quality samples, reverse KL 0.70 ± 0.07 over 10 runs); PacGAN2-4
with --config.pack=2..4.

  make train EXP=toy_grid_gan                                      # 400,000 updates
  make train EXP=toy_grid_gan ARGS="--config.num_steps=20000"      # a quick look
"""

from ebgan_jax.configs import pacgan_config


def get_config():
  return pacgan_config("grid", "gan")
