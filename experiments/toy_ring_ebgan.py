"""EBGAN on the ring of 8 Gaussians (SPEC §9, PacGAN protocol), MLP networks.

  make train EXP=toy_ring_ebgan
"""

from ebgan_jax.configs import base_config


def get_config():
  c = base_config()
  c.data.name = "ring"
  c.model.arch = "mlp"
  c.model.n_layers_g = 3
  c.model.size_g = 128
  c.model.output_activation = "none"
  c.model.n_layers_d = 2
  c.model.size_d = 128
  c.latent_dim = 16
  c.latent_dist = "normal"
  c.num_steps = 2000
  c.batch_size = 128
  c.margin = 0.5
  c.sample_every = 1000
  return c
