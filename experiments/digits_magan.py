"""MAGAN (Wang, Cully, Chang & Demiris 2017) on the embedded digits, as the authors' released
code trains it: D pre-trained as an auto-encoder for 2 epochs, the margin measured over one
more epoch in which nothing trains, then adapted at each epoch's end from the real energies of
D's updates and the fake energies of G's updates; Adamax with learning rate 5e-4 and beta1 0.5,
batch 64, no pulling-away term. An epoch is 1,797 // 64 = 28 steps.

  make train EXP=digits_magan

The auto-encoder has a bottleneck, as the released one does (784-256-256-784 on MNIST): here
64-256-32-64, a 32-unit code for 64 pixels. The released energy is the sum of squared errors; the
per-pixel mean used here is the same energy divided by 64, which the adaptive margin follows
and Adamax's updates do not see.
"""

from ebgan_jax.configs import base_config


def get_config():
  c = base_config()
  c.algorithm = "magan"
  c.data.name = "digits"
  c.model.arch = "mlp"
  c.model.n_layers_g, c.model.size_g = 3, 800
  c.model.n_layers_d, c.model.size_d, c.model.bottleneck_d = 3, 256, 32
  c.magan.steps_per_epoch, c.magan.pretrain_steps = 28, 56
  c.margin = 1.0  # replaced by the mean real energy of the measuring epoch
  c.num_steps, c.batch_size = 10024, 64
  c.optimizer.name, c.optimizer.b1 = "adamax", 0.5
  c.optimizer.lr_g = c.optimizer.lr_d = 5e-4
  c.log_every, c.sample_every = 100, 2000
  return c
