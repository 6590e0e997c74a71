"""The Ladder Network baseline (Rasmus et al. 2015) with the bottom-layer cost only (Pezeshki et
al. 2016) on the embedded digits: 100 labelled digits (10 per class, drawn by the seed), the
1,500 training digits as unlabelled data, test error on the 297 held-out digits. A smaller
stack than MNIST's 784-1000-500-250-250-250-10 for 64 pixels: 64-128-64-32-10; noise 0.3,
lambda_0 = 1000, Adam 2e-3, minibatch 100 unlabelled and all 100 labelled examples per step.

  make train EXP=digits_ln                              # 100 labels
  make train EXP=digits_ln ARGS=--config.ln.labels=50   # 50
"""

from ebgan_jax.configs import base_config


def get_config():
  c = base_config()
  c.algorithm = "ln"
  c.data.name = "digits"
  c.data.holdout = 297
  c.model.arch = "mlp"
  c.model.ladder_sizes = (128, 64, 32, 10)
  c.model.ladder_noise = 0.3
  c.ln.labels, c.ln.labelled_batch = 100, 100
  c.ln.cost_weights = (1000.0,)
  c.num_steps, c.batch_size = 6000, 100
  c.optimizer.b1 = 0.9
  c.optimizer.lr_d = 2e-3
  c.log_every, c.sample_every, c.checkpoint_every = 200, 2000, 2000
  return c
