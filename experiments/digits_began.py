"""BEGAN (Berthelot, Schumm & Metz 2017) on the embedded digits, with the recipe that
``make began``'s search selected on validation seeds 100-102 (results/began): a fully connected
auto-encoder (``model.arch = "began_dense"``: 256 ELU units, a linear code of 16, 256 ELU
units, a linear output) with the paper's generator (a dense layer to 8x8x32, two ELU
convolutions, the output convolution); gamma = 0.9, lambda_k = 0.01, k_0 = 0.1, the
generator's learning rate 5 times the discriminator's 1e-4 (both halved when M_global stalls),
batch 16, the l1 energy, 20,000 updates.

  make train EXP=digits_began

The paper's own recipe collapses on these data: ``digits_began_paper``.
"""

from ebgan_jax.configs import base_config


def get_config():
  c = base_config()
  c.algorithm = "began"
  c.data.name = "digits"
  c.model.arch = "began_dense"
  c.model.size_d, c.model.code_size = 256, 16
  c.model.features_g = c.model.features_d = 32
  c.latent_dim = 16
  c.latent_dist = "uniform"
  c.began.gamma, c.began.lambda_k, c.began.k0 = 0.9, 0.01, 0.1
  c.began.lr_window = 2000
  c.num_steps, c.batch_size = 20000, 16
  c.optimizer.lr_d = 1e-4
  c.optimizer.lr_g = 5 * c.optimizer.lr_d
  c.optimizer.b1 = 0.5
  c.log_every, c.sample_every, c.checkpoint_every = 200, 5000, 2000
  return c
