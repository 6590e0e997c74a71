"""EBGAN-LN (Zhao, Mathieu & LeCun 2017, §4.3) on the embedded digits: ``digits_ln``'s Ladder
Network and data, its bottom-layer cost as the energy, and an MLP generator (2 x 256, batch
norm, tanh; uniform 64-d noise) whose samples the energy pushes above a margin that falls
linearly to 0 over the run. The margin starts at 30, twice the energy of the training digits
at the end of ``digits_ln`` (14.8): a margin below the energy of real data would never be
active, as the paper's margin does not say its scale for this energy.

  make train EXP=digits_ebgan_ln
"""

from ebgan_jax.configs import load_config


def get_config():
  c = load_config("digits_ln")
  c.algorithm = "ebgan_ln"
  c.model.n_layers_g, c.model.size_g = 2, 256
  c.latent_dim, c.latent_dist = 64, "uniform"
  c.ln.margin = 30.0
  c.ln.margin_decay_steps = c.num_steps
  c.optimizer.lr_g = 1e-3
  return c
