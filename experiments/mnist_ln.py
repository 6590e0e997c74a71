"""The Ladder Network baseline with the bottom-layer cost on permutation-invariant MNIST through
TFDS (Rasmus et al. 2015; Pezeshki et al. 2016), as in the EBGAN paper's Table 2: 784-1000-500-
250-250-250-10, noise 0.3, lambda_0 = 1000, Adam 2e-3, minibatch 100, 100 labels (200, 1,000
with --config.ln.labels), 150 epochs of the 60,000 training images as unlabelled data; test
error on the MNIST test set (published baseline: 1.36 ± 0.21 % with 100 labels).

  pip install tensorflow && tfds build mnist --file_format=array_record
  make train EXP=mnist_ln
"""

from ebgan_jax.configs import base_config


def get_config():
  c = base_config()
  c.algorithm = "ln"
  c.data.name = "mnist"
  c.data.eval_split = "test"
  c.model.arch = "mlp"
  c.model.ladder_sizes = (1000, 500, 250, 250, 250, 10)
  c.model.ladder_noise = 0.3
  c.ln.labels, c.ln.labelled_batch = 100, 100
  c.ln.cost_weights = (1000.0,)
  c.num_steps, c.batch_size = 90000, 100
  c.optimizer.b1 = 0.9
  c.optimizer.lr_d = 2e-3
  c.log_every, c.sample_every, c.checkpoint_every = 500, 10000, 5000
  return c
