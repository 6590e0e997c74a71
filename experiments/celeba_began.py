"""BEGAN on CelebA 64x64 with the paper's gamma = 0.5 and lambda_k = 0.001: DCGAN generator,
the 64x64 auto-encoder discriminator, l1 energy, Adam 1e-4. Meant for an accelerator runtime.

  pip install tensorflow && tfds build celeb_a --file_format=array_record
  make train EXP=celeba_began
"""

from ebgan_jax.configs import base_config


def get_config():
  c = base_config()
  c.algorithm = "began"
  c.data.name = "celeb_a"
  c.data.image_size = 64
  c.model.arch = "dcgan"
  c.model.features_g = c.model.features_d = 64
  c.latent_dim = 64
  c.began.gamma, c.began.lambda_k = 0.5, 0.001
  c.optimizer.lr_g = c.optimizer.lr_d = 1e-4
  c.batch_size, c.num_steps = 16, 200000
  c.log_every, c.sample_every = 100, 1000
  return c
