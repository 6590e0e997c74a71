"""EBGAN-PT on LSUN bedrooms 64x64 (Zhao et al. 2017, §4.4): the CelebA set-up (DCGAN generator,
the paper's auto-encoder discriminator, PT weight 0.1, DCGAN's recipe: Adam 2e-4, beta1 0.5,
batch 64) with margin 80. Bedrooms are centre-cropped to a square and resized to 64x64. Meant
for an accelerator runtime.

Needs LSUN bedrooms prepared as ArrayRecord once (network access and TensorFlow for the build
only; the download is about 43 GB):
  pip install tensorflow && tfds build lsun/bedroom --file_format=array_record
  make train EXP=lsun_ebgan [ARGS="--config.data.data_dir=/path/to/tensorflow_datasets"]
"""

from ebgan_jax.configs import base_config


def get_config():
  c = base_config()
  c.data.name = "lsun/bedroom"
  c.data.image_size = 64
  c.model.arch = "dcgan"
  c.model.features_g = 64
  c.model.features_d = 64
  c.latent_dim = 100
  c.energy_norm = "l2"
  c.margin = 80.0
  c.pt_weight = 0.1
  c.optimizer.lr_g = 2e-4
  c.optimizer.lr_d = 2e-4
  c.optimizer.b1 = 0.5
  c.batch_size = 64
  c.num_steps = 100000
  c.log_every = 100
  c.sample_every = 1000
  return c
