"""EBGAN-PT on LSUN bedrooms 64x64 (Zhao et al. 2017, §4.4): the CelebA set-up of
``celeba_ebgan`` (DCGAN generator, the paper's auto-encoder discriminator, PT weight 0.1,
DCGAN's recipe) with margin 80. Bedrooms are centre-cropped to a square and resized to 64x64.
Meant for an accelerator runtime.

Needs LSUN bedrooms prepared as ArrayRecord once (network access and TensorFlow for the build
only; the download is about 43 GB):
  pip install tensorflow && tfds build lsun/bedroom --file_format=array_record
  make train EXP=lsun_ebgan [ARGS="--config.data.data_dir=/path/to/tensorflow_datasets"]
"""

from ebgan_jax.configs import load_config


def get_config():
  c = load_config("celeba_ebgan")
  c.data.name = "lsun/bedroom"
  c.margin = 80.0
  return c
