"""GAN on stacked digits (1,000 modes), the Stacked-MNIST protocol, MLP networks.

  make train EXP=stacked_digits_gan
"""

from ebgan_jax.configs import base_config


def get_config():
  c = base_config()
  c.algorithm = "gan"
  c.data.name = "stacked_digits"
  c.model.arch = "mlp"
  c.model.n_layers_g, c.model.size_g = 3, 800
  c.model.n_layers_d, c.model.size_d = 2, 512
  c.num_steps, c.batch_size = 10000, 64
  c.optimizer.lr_g = c.optimizer.lr_d = 2e-4
  c.log_every, c.sample_every = 100, 2000
  return c
