"""GAN on Stacked MNIST (1,000 modes), VEEGAN's set-up as PacGAN reruns it (Lin et al. 2018,
Table 2: DCGAN 99 modes, KL 3.40, VEEGAN's figure; PacGAN's own DCGAN runs 78.9 modes, KL 4.50;
PacDCGAN2 1000 modes, KL 0.06); PacDCGAN2-4 with --config.pack=2..4.

Needs MNIST prepared as ArrayRecord once (network access and TensorFlow for the build only):
  pip install tensorflow && tfds build mnist --file_format=array_record
  make train EXP=stacked_mnist_gan ARGS="--config.data.data_dir=/path/to/tensorflow_datasets"
The first evaluation trains the MNIST classifier that reads the samples (a few minutes on a
CPU; cached in ~/.cache/ebgan_jax).
"""

from ebgan_jax.configs import stacked_mnist_config


def get_config():
  return stacked_mnist_config("gan")
