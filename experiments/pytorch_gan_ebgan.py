"""The networks and recipe of PyTorch-GAN's ``implementations/ebgan/ebgan.py`` (32x32x1,
latent 62, Adam 2e-4, betas (0.5, 0.999), batch 64), for throughput comparisons on identical
networks (``make bench``). Digits are resized to 32x32 in place of MNIST.

Differences kept on purpose: the pulling-away term here is the paper's (squared cosine), and
the losses are per example as in the paper.

  make train EXP=pytorch_gan_ebgan
  make bench                         # images/s of this config's step
"""

from ebgan_jax.configs import base_config


def get_config():
  c = base_config()
  c.data.name = "digits"
  c.data.image_size = 32
  c.model.arch = "pytorch_gan"
  c.model.upsample = "subpixel"
  c.latent_dim = 62
  c.latent_dist = "normal"
  c.margin = 1.0  # max(1, batch_size / 64) in the original
  c.pt_weight = 0.1
  c.optimizer.lr_g = 2e-4
  c.optimizer.lr_d = 2e-4
  c.optimizer.b1 = 0.5
  c.optimizer.b2 = 0.999
  c.batch_size = 64
  # Four steps per jitted call (an unrolled scan): on a 2-core CPU about 1.2x the images/s of
  # one step per call, for a compile of about 11 s instead of 5 (make bench).
  c.steps_per_dispatch = 4
  c.num_steps = 2000
  c.sample_every = 500
  return c
