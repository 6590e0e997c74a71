"""VAE (AEVB) on binarised MNIST through TFDS: 500 hidden units, latent 20, estimator B,
L = 1, minibatch 100 (the paper's MNIST settings); IW log-likelihood with K = 5000 at the end
on 1,000 training images and the first 1,000 test images (reference: VAE -86.76 nats on binarised MNIST, Burda et al. 2016, Table 1).

  pip install tensorflow && tfds build mnist --file_format=array_record
  make train EXP=mnist_vae
"""

from ebgan_jax.configs import base_config


def get_config():
  c = base_config()
  c.algorithm = "vae"
  c.data.name = "mnist"
  c.data.binarize = True
  c.data.eval_split = "test"
  c.model.arch = "mlp"
  c.model.n_layers_g, c.model.size_g = 2, 500
  c.model.n_layers_d, c.model.size_d = 2, 500
  c.latent_dim = 20
  c.latent_dist = "normal"
  c.num_steps, c.batch_size = 100000, 100
  c.optimizer.b1 = 0.9
  c.optimizer.lr_g = c.optimizer.lr_d = 1e-3
  c.vae.eval_importance_samples, c.vae.eval_examples = 5000, 1000
  c.log_every, c.sample_every = 500, 5000
  return c
