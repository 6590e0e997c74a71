"""Super-resolution x2 by sufficient statistics (Bruna, Sprechmann & LeCun 2016, §3-4) on
patches of scikit-image's photographs: the residual CNN of ``superres_x2_mse`` predicts the
first-order scattering statistics of the HR image (``ebgan_jax.statistics``: local averages of
the image and of the modulus of Morlet responses at 2 scales and 4 orientations, per channel)
for mean-squared error; an HR image is then synthesised by 100 Adam steps on
``||Phi(y) - Psi(x)||^2 + 100 ||U(y) - x||^2`` (means) from the bicubic upsampling.

  make train EXP=superres_x2_stats
"""

from ebgan_jax.configs import load_config


def get_config():
  c = load_config("superres_x2_mse")
  c.superres.loss = "stats"
  c.model.outputs = "statistics"
  return c
