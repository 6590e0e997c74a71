"""BEGAN (Berthelot et al. 2017) on the embedded digits: l1 auto-encoder energy, the k_t
controller with the paper's gamma = 0.5 and lambda_k = 0.001 (k_0 = 0).

  make train EXP=digits_began
"""

from ebgan_jax.configs import base_config


def get_config():
  c = base_config()
  c.algorithm = "began"
  c.data.name = "digits"
  c.model.arch = "mlp"
  c.model.n_layers_g, c.model.size_g = 3, 800
  c.model.n_layers_d, c.model.size_d = 2, 256
  c.began.gamma, c.began.lambda_k = 0.5, 0.001
  c.num_steps, c.batch_size = 10000, 64
  c.optimizer.lr_g = c.optimizer.lr_d = 5e-4
  c.log_every, c.sample_every = 100, 2000
  return c
