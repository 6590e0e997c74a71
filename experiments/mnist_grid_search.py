"""The EBGAN paper's grid search (Zhao, Mathieu & LeCun 2017, §4.1, Table 1) on MNIST through
TFDS, at the paper's image size: ``digits_grid_search`` with MNIST's data, the l2 energy in its
own units (no scale), and 2,000 updates (about two epochs of the 60,000 training images).

Needs MNIST prepared as ArrayRecord once (network access and TensorFlow for the build only):
  pip install tensorflow && tfds build mnist --file_format=array_record
  make grid-search CONFIG=experiments/mnist_grid_search.py \\
      ARGS="--config.data.data_dir=/path/to/tensorflow_datasets"

I' is measured with the package's digits classifier on the samples resized to 8x8: the same
scorer as on the digits, so that a good setting's threshold means the same on both.
"""

from ebgan_jax.configs import load_config


def get_config():
  c = load_config("digits_grid_search")
  c.data.name = "mnist"
  c.energy_scale = 1.0
  c.num_steps = 2000
  return c
