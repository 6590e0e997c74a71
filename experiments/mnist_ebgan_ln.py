"""EBGAN-LN on permutation-invariant MNIST through TFDS (Zhao, Mathieu & LeCun 2017, §4.3,
Table 2): ``mnist_ln``'s Ladder Network and schedule, its bottom-layer cost as the energy, an
MLP generator (3 x 800, batch norm, tanh; the paper's MNIST generator family), the margin
falling linearly from 30 to 0 over the run (``digits_ebgan_ln``'s value: the energy is a
per-pixel mean, so its scale carries over; not measured on MNIST here) (published: 1.04 ± 0.12 % test error with 100
labels).

  pip install tensorflow && tfds build mnist --file_format=array_record
  make train EXP=mnist_ebgan_ln
"""

from ebgan_jax.configs import load_config


def get_config():
  c = load_config("mnist_ln")
  c.algorithm = "ebgan_ln"
  c.model.n_layers_g, c.model.size_g = 3, 800
  c.latent_dim, c.latent_dist = 64, "uniform"
  c.ln.margin = 30.0
  c.ln.margin_decay_steps = c.num_steps
  c.optimizer.lr_g = 1e-3
  return c
