"""EBGAN on MNIST with the paper's grid-search settings (Zhao et al. 2017, Table 1): margin 10,
Adam lr 0.001, MLP networks (nLayerG=5, sizeG=1600, nLayerD=2, sizeD=1024, as in Fig. 9).

Needs MNIST prepared as ArrayRecord once (network access and TensorFlow for the build only):
  pip install tensorflow && tfds build mnist --file_format=array_record
  make train EXP=mnist_ebgan [ARGS="--config.data.data_dir=/path/to/tensorflow_datasets"]

The paper's energy is the l2 norm of the reconstruction error (its margin 10 is on that scale).
"""

from ebgan_jax.configs import base_config


def get_config():
  c = base_config()
  c.data.name = "mnist"
  c.model.arch = "mlp"
  c.model.n_layers_g = 5
  c.model.size_g = 1600
  c.model.n_layers_d = 2
  c.model.size_d = 1024
  c.model.dropout_d = 0.0
  c.energy_norm = "l2"
  c.margin = 10.0
  c.optimizer.lr_g = 1e-3
  c.optimizer.lr_d = 1e-3
  c.batch_size = 64
  c.num_steps = 20000
  c.sample_every = 2000
  return c
