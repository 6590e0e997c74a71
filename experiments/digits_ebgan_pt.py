"""EBGAN-PT on scikit-learn's handwritten digits (embedded, no download): the default experiment.

  make train                       # = make train EXP=digits_ebgan_pt
  python -m ebgan_jax.main --config experiments/digits_ebgan_pt.py --workdir runs/digits_ebgan_pt
"""

from ebgan_jax.configs import base_config


def get_config():
  c = base_config()
  c.data.name = "digits"
  c.data.image_size = 16
  c.model.arch = "small_conv"
  c.num_steps = 3000
  c.batch_size = 64
  c.margin = 1.0
  c.pt_weight = 0.1
  c.optimizer.lr_g = 1e-3
  c.optimizer.lr_d = 1e-3
  c.sample_every = 500
  return c
