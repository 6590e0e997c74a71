"""EBGAN-PT on scikit-learn's handwritten digits (1,797 real 8x8 images, embedded, no download).

The default experiment: about a minute on 2 CPU cores, digits recognisable by eye.

  make train                       # = make train EXP=digits_ebgan_pt
  python -m ebgan_jax.main --config experiments/digits_ebgan_pt.py --workdir runs/digits_ebgan_pt

MLP networks as in the paper's MNIST grid search (Table 1); the margin is scaled to the
per-pixel MSE energy of 8x8 images in [-1, 1].
"""

from ebgan_jax.configs import base_config


def get_config():
  c = base_config()
  c.data.name = "digits"
  c.model.arch = "mlp"
  c.model.n_layers_g = 3
  c.model.size_g = 800
  c.model.n_layers_d = 2
  c.model.size_d = 256
  c.num_steps = 10000
  c.batch_size = 64
  c.margin = 0.5
  c.pt_weight = 0.1
  c.optimizer.lr_g = 5e-4
  c.optimizer.lr_d = 5e-4
  c.log_every = 100
  c.sample_every = 2000
  return c
