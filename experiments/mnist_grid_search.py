"""The EBGAN paper's grid search (Zhao, Mathieu & LeCun 2017, §4.1, Table 1) on MNIST through
TFDS, at the paper's image size: margin 10 on the l2 energy, Adam 1e-3, batch 64.

Needs MNIST prepared as ArrayRecord once (network access and TensorFlow for the build only):
  pip install tensorflow && tfds build mnist --file_format=array_record
  make grid-search CONFIG=experiments/mnist_grid_search.py \\
      ARGS="--config.data.data_dir=/path/to/tensorflow_datasets"

I' is measured with the package's digits classifier on the samples resized to 8x8 (the same
scorer as on the digits; there is no MNIST classifier in the package yet). 2,000 updates: about
two epochs of MNIST's 60,000 training images.
"""

from ebgan_jax.configs import base_config


def get_config():
  c = base_config()
  c.data.name = "mnist"
  c.model.arch = "mlp"
  c.model.n_layers_g, c.model.size_g = 5, 1600
  c.model.n_layers_d, c.model.size_d = 2, 1024
  c.model.dropout_d = 0.0
  c.energy_norm = "l2"
  c.margin, c.pt_weight = 10.0, 0.0
  c.optimizer.lr_g = c.optimizer.lr_d = 1e-3
  c.num_steps, c.batch_size = 2000, 64
  c.on_nonfinite, c.max_consecutive_skips = "skip", 1_000_000
  c.log_every, c.sample_every, c.checkpoint_every = 100, 1_000_000, 1_000_000
  c.eval_samples = 2000
  return c
