"""MAGAN (Wang, Cully, Chang & Demiris 2017) on stacked digits (three embedded digits as the
channels: 1,000 modes), scored by the Stacked-MNIST protocol: modes covered out of 1,000 and KL
to uniform over 26,000 samples.

``digits_magan``'s recipe unchanged (pre-training, the measured and adapted margin, Adamax,
batch 64, an epoch of 28 steps, the auto-encoder with a 32-unit code, here for 192 inputs); the
triples are fresh every step, so an epoch is a count of updates, not a pass over a fixed set.

  make train EXP=stacked_digits_magan
"""

from ebgan_jax.configs import load_config


def get_config():
  c = load_config("digits_magan")
  c.data.name = "stacked_digits"
  return c
