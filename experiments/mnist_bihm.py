"""Bidirectional Helmholtz Machine (Bornschein et al. 2016, §4) on binarised MNIST through TFDS:
the paper's 12 binary layers 300-200-100-75-50-35-30-25-20-15-10-10, K = 10 importance samples
per training example, Adam 1e-3, minibatch 100. At the end, log p*(x), log p~*(x) and log Z of
the first 1,000 MNIST test digits (reference: -84.8 nats, the paper's Table 1, estimated there
with more samples and a longer schedule).

  pip install tensorflow && tfds build mnist --file_format=array_record
  make train EXP=mnist_bihm
"""

from ebgan_jax.configs import base_config


def get_config():
  c = base_config()
  c.algorithm = "bihm"
  c.data.name = "mnist"
  c.data.binarize = True
  c.data.eval_split = "test"
  c.model.arch = "sbn"
  c.model.sbn_sizes = (300, 200, 100, 75, 50, 35, 30, 25, 20, 15, 10, 10)
  c.latent_dim = sum(c.model.sbn_sizes)
  c.latent_dist = "uniform"
  c.bihm.num_samples = 10
  c.bihm.eval_samples, c.bihm.eval_examples = 5000, 1000
  c.num_steps, c.batch_size = 300000, 100
  c.optimizer.b1 = 0.9
  c.optimizer.lr_g = c.optimizer.lr_d = 1e-3
  c.log_every, c.sample_every = 1000, 10000
  return c
