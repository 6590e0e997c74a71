"""GAN (Goodfellow et al. 2014) on the embedded digits: MLP generator, MLP logit discriminator,
non-saturating generator loss, one discriminator step per generator step (Algorithm 1, k = 1).

  make train EXP=digits_gan
  make train EXP=digits_gan ARGS="--config.gan.non_saturating=false --config.d_steps=2"
"""

from ebgan_jax.configs import base_config


def get_config():
  c = base_config()
  c.algorithm = "gan"
  c.data.name = "digits"
  c.model.arch = "mlp"
  c.model.n_layers_g, c.model.size_g = 3, 800
  c.model.n_layers_d, c.model.size_d = 2, 256
  c.num_steps, c.batch_size = 10000, 64
  c.optimizer.lr_g = c.optimizer.lr_d = 2e-4
  c.log_every, c.sample_every = 100, 2000
  return c
