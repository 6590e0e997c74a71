"""Super-resolution x4 by sufficient statistics: ``superres_x2_stats`` with two sub-pixel x2
stages in the network that predicts the statistics.

  make train EXP=superres_x4_stats
"""

from ebgan_jax.configs import load_config


def get_config():
  c = load_config("superres_x2_stats")
  c.model.scale = 4
  return c
