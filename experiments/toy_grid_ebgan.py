"""EBGAN on the grid of 25 Gaussians at {-4, -2, 0, 2, 4}^2 (SPEC §9, PacGAN protocol).

  make train EXP=toy_grid_ebgan
"""

from ebgan_jax.configs import base_config


def get_config():
  c = base_config()
  c.data.name = "grid"
  c.model.arch = "mlp"
  c.model.n_layers_g = 4
  c.model.size_g = 256
  c.model.output_activation = "none"
  c.model.n_layers_d = 2
  c.model.size_d = 256
  c.latent_dim = 16
  c.latent_dist = "normal"
  c.num_steps = 5000
  c.batch_size = 256
  c.margin = 2.0
  c.sample_every = 1000
  return c
