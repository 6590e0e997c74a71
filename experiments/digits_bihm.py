"""Bidirectional Helmholtz Machine (Bornschein et al. 2016) on the embedded digits binarised at
0.5, with 297 digits held out (the same fixed set as ``digits_vae``): sigmoid belief networks
64-32-16 over the 64 pixels, K = 10 importance samples, Adam 1e-3, minibatch 100 (the paper's
MNIST recipe, smaller layers for 8x8 images). At the end, ``log p*(x)``, ``log p~*(x)`` and
``log Z`` of the held-out digits go to ``summary.json``.

  make train EXP=digits_bihm
"""

from ebgan_jax.configs import base_config


def get_config():
  c = base_config()
  c.algorithm = "bihm"
  c.data.name = "digits"
  c.data.binarize = True
  c.data.holdout = 297
  c.model.arch = "sbn"
  c.model.sbn_sizes = (64, 32, 16)
  c.latent_dim = sum(c.model.sbn_sizes)
  c.latent_dist = "uniform"
  c.bihm.num_samples = 10
  c.num_steps, c.batch_size = 30000, 100
  c.optimizer.b1 = 0.9
  c.optimizer.lr_g = c.optimizer.lr_d = 1e-3
  c.log_every, c.sample_every = 500, 5000
  return c
