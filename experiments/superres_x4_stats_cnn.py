"""Super-resolution x4 by sufficient statistics of a convolutional network's features
(Bruna, Sprechmann & LeCun 2016, §3.2, who match VGG's; no pretrained weights are fetched here,
so the network is trained on the training images): an auto-encoder of the HR patches (two
stride-2 convolutions, 32 and 64 channels, and back) trains for the first 2,000 updates and is
fixed after them; the statistics are the 2x2 block means of the image beside its first
layer's 32 activation maps. The residual CNN of ``superres_x4_stats`` predicts them from the LR
image, and the HR image is synthesised by matching them under the consistency term, as there.

  make train EXP=superres_x4_stats_cnn
"""

from ebgan_jax.configs import load_config


def get_config():
  c = load_config("superres_x4_stats")
  c.superres.features = "cnn"
  c.superres.feature_steps = 2000
  c.model.outputs = "features"
  c.model.features_d = 32
  return c
