"""MAGAN (Wang, Cully, Chang & Demiris 2017) on MNIST with its authors' released set-up: a
784-256-256-784 auto-encoder with ReLU layers and a sigmoid output on [0, 1]; the energy the
sum of squared errors on [0, 1]; a generator from ``z ~ N(0, 1)`` of size 50 to a 7x7x128 map,
then 4x4 stride-2 transposed convolutions to 64 channels and to the image, ReLU between, no
BatchNorm, a sigmoid output; Adamax 5e-4 with beta1 0.5, batch 64; D pre-trained for 2 epochs,
the margin measured over a third and adapted at each epoch's end; 200 epochs of the 60,000
training digits (937 steps each) after those three.

  make train EXP=mnist_magan ARGS="--config.data.data_dir=$HOME/tensorflow_datasets"

The project's data are on [-1, 1]: the networks read and write [0, 1] inside
(``models.SigmoidAutoEncoder``, ``models.MAGANGenerator``), and the released sum of squares on
[0, 1] is ``pixels / 4`` times the mean squared error on [-1, 1], the ``energy_scale`` below.
"""

from ebgan_jax.configs import base_config

EPOCH = 60000 // 64


def get_config():
  c = base_config()
  c.algorithm = "magan"
  c.data.name = "mnist"
  c.model.arch = "magan"
  c.model.features_g = 128
  c.model.n_layers_d, c.model.size_d = 3, 256
  c.latent_dim, c.latent_dist = 50, "normal"
  c.energy_scale = 28 * 28 / 4
  c.magan.steps_per_epoch, c.magan.pretrain_steps = EPOCH, 2 * EPOCH
  c.margin = 1.0  # replaced by the mean real energy of the measuring epoch
  c.num_steps, c.batch_size = 203 * EPOCH, 64
  c.optimizer.name, c.optimizer.b1 = "adamax", 0.5
  c.optimizer.lr_g = c.optimizer.lr_d = 5e-4
  c.log_every, c.sample_every = 500, 10000
  return c
