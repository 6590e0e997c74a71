"""The EBGAN paper's margin sweep (Zhao, Mathieu & LeCun 2017, appendix, Fig. 9) on the embedded
8x8 digits: ``make sweep`` trains it for m in {1, 2, 4, 6, 8, 12, 16, 32} as one vmapped program.

  make sweep                                  # = make sweep EXP=digits_margin_sweep
  make train EXP=digits_margin_sweep ARGS="--config.margin=8"

The paper's networks for this figure: a 5-layer generator of 1,600 units, a 2-layer auto-encoder
of 1,024 units, no dropout, Adam with learning rate 1e-3, no pulling-away term; the energy is
the paper's l2 reconstruction error. The paper set its margins for 28x28 MNIST, where the l2
energy of an image is sqrt(784 / 64) = 3.5 times that of an 8x8 image with the same per-pixel
error: ``energy_scale = 3.5`` puts the digits' energy in MNIST's units, so the margins 1..32
mean here what they meant there (the largest possible energy, every pixel off by 2, is 56 in
both). With the per-pixel ``mse`` energy (about 0.03 on digits) every margin from 1 to 32 would
keep the hinge always active and the members would train identically.
"""

from ebgan_jax.configs import base_config


def get_config():
  c = base_config()
  c.data.name = "digits"
  c.model.arch = "mlp"
  c.model.n_layers_g, c.model.size_g = 5, 1600
  c.model.n_layers_d, c.model.size_d = 2, 1024
  c.model.dropout_d = 0.0
  c.energy_norm, c.energy_scale = "l2", 3.5
  c.margin, c.pt_weight = 10.0, 0.0
  c.optimizer.lr_g = c.optimizer.lr_d = 1e-3
  c.num_steps, c.batch_size = 2800, 64  # 100 epochs of the 1,797 digits
  c.log_every, c.sample_every, c.checkpoint_every = 100, 1400, 700
  return c
