"""MAGAN (Wang et al. 2017) on the embedded digits: D pre-trained as an auto-encoder for
4 epochs, the margin starting at the mean real energy and adapted at each epoch's end.
An epoch is 1,797 // 64 = 28 steps.

  make train EXP=digits_magan
"""

from ebgan_jax.configs import base_config


def get_config():
  c = base_config()
  c.algorithm = "magan"
  c.data.name = "digits"
  c.model.arch = "mlp"
  c.model.n_layers_g, c.model.size_g = 3, 800
  c.model.n_layers_d, c.model.size_d = 2, 256
  c.magan.steps_per_epoch, c.magan.pretrain_steps = 28, 112
  c.margin = 1.0  # replaced by the mean real energy when pre-training ends
  c.num_steps, c.batch_size = 10024, 64
  c.optimizer.lr_g = c.optimizer.lr_d = 5e-4
  c.log_every, c.sample_every = 100, 2000
  return c
