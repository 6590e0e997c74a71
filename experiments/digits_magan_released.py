"""MAGAN's released MNIST set-up (``mnist_magan``: the 784-256-256-784 sigmoid auto-encoder,
the sum-of-squares energy, the transposed-convolution generator without BatchNorm, z ~ N(0, 1)
of size 50) on the embedded digits resized to 28x28, as the stacked-digits protocol resizes
them; the schedule of ``digits_magan`` (an epoch of 1,797 // 64 = 28 steps, 2 epochs of
pre-training, 10,024 updates), so the two rows differ in the networks only.

  make train EXP=digits_magan_released
"""

from ebgan_jax.configs import load_config


def get_config():
  c = load_config("mnist_magan")
  c.data.name, c.data.image_size = "digits", 28
  c.magan.steps_per_epoch, c.magan.pretrain_steps = 28, 56
  c.num_steps = 10024
  c.log_every, c.sample_every = 100, 2000
  return c
