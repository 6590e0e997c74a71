"""Super-resolution x4 for mean-squared error: ``superres_x2_mse`` (its network, data and
budget) with two sub-pixel x2 stages.

  make train EXP=superres_x4_mse
  make sample WORKDIR=runs/superres_x4_mse INPUT=low.png OUTPUT=high.png
"""

from ebgan_jax.configs import load_config


def get_config():
  c = load_config("superres_x2_mse")
  c.model.scale = 4
  return c
