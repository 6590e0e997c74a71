"""BEGAN on the grid of 25 Gaussians (PacGAN protocol) with BEGAN's recipe carried to 2-D points
(Berthelot, Schumm & Metz 2017, §3.5, §4): an auto-encoder with ELU and a bottleneck narrower
than the data (two ELU layers of 256 units, then a 1-unit code, for 2-D points), Adam 1e-4 with
both learning rates halved when M_global stalls over 2,000 steps, gamma = 0.5,
lambda_k = 0.001, the l1 energy.

  make train EXP=toy_grid_began
"""

from ebgan_jax.configs import toy_config


def get_config():
  c = toy_config("grid", "began")
  c.model.n_layers_d, c.model.size_d, c.model.bottleneck_d = 3, 256, 1
  c.model.activation_d = "elu"
  c.began.lr_window = 2000
  c.optimizer.lr_g = c.optimizer.lr_d = 1e-4
  return c
