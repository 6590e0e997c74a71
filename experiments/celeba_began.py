"""BEGAN on CelebA 64x64 with the paper's recipe (Berthelot, Schumm & Metz 2017, §3.5, §4):
its networks with n = 64 filters and an embedding of h = 64 (= N_z), ELU, nearest-neighbour
upsampling, three resolutions from 8x8 to 64x64; gamma = 0.5, lambda_k = 0.001, the l1 energy,
batch 16, Adam 1e-4 (beta1 0.5) with both learning rates halved when the mean of M_global over
10,000 steps stops falling. Meant for an accelerator runtime.

  pip install tensorflow && tfds build celeb_a --file_format=array_record
  make train EXP=celeba_began
"""

from ebgan_jax.configs import base_config


def get_config():
  c = base_config()
  c.algorithm = "began"
  c.data.name = "celeb_a"
  c.data.image_size = 64
  c.model.arch = "began"
  c.model.features_g = c.model.features_d = 64
  c.model.code_size = c.latent_dim = 64
  c.latent_dist = "uniform"
  c.began.gamma, c.began.lambda_k = 0.5, 0.001
  c.began.lr_window = 10000
  c.optimizer.lr_g = c.optimizer.lr_d = 1e-4
  c.optimizer.b1 = 0.5
  c.batch_size, c.num_steps = 16, 200000
  c.log_every, c.sample_every = 100, 1000
  return c
