"""An energy-based model on scikit-learn's digits whose negatives are found by Langevin dynamics
on its own energy, with no generator (Du & Mordatch 2019; ``ebgan_jax.algorithms.langevin``).

The energy network (the MLP auto-encoder, 2 layers of 256), its margin loss, its optimizer,
batch and budget are ``digits_ebgan_pt``'s discriminator's: the two differ only in how the
negatives are found. The chains start from uniform noise on the data's range [-1, 1].

  make train EXP=digits_langevin
  make evaluation-function       # beside digits_ebgan_pt, and ring and grid, on one page
"""

from ebgan_jax.configs import base_config


def get_config():
  c = base_config()
  c.algorithm = "langevin"
  c.data.name = "digits"
  c.model.arch = "mlp"
  c.model.n_layers_d = 2
  c.model.size_d = 256
  c.latent_dim, c.latent_dist = 64, "uniform"  # the chains' starts: one 8x8 image of noise
  c.langevin.steps = 20
  c.langevin.step_size = 0.01
  c.langevin.noise = 0.1
  c.langevin.init_scale = 1.0
  c.langevin.clip = 1.0
  c.num_steps = 10000
  c.batch_size = 64
  c.margin = 0.5
  c.optimizer.lr_d = 5e-4
  c.log_every = 100
  c.sample_every = 2000
  return c
