"""Loss-Sensitive GAN (Qi 2017) on the embedded digits: the auto-encoder energy as the loss
L(x) >= 0, Delta the mean absolute difference of paired real and fake digits, lambda = 1.

  make train EXP=digits_lsgan
"""

from ebgan_jax.configs import base_config


def get_config():
  c = base_config()
  c.algorithm = "lsgan"
  c.data.name = "digits"
  c.model.arch = "mlp"
  c.model.n_layers_g, c.model.size_g = 3, 800
  c.model.n_layers_d, c.model.size_d = 2, 256
  c.lsgan.lam, c.lsgan.delta_scale = 1.0, 1.0
  c.num_steps, c.batch_size = 10000, 64
  c.optimizer.lr_g = c.optimizer.lr_d = 5e-4
  c.log_every, c.sample_every = 100, 2000
  return c
