"""The EBGAN paper's grid search (Zhao, Mathieu & LeCun 2017, §4.1, Table 1, Figs 2–5) on the
embedded 8x8 digits: the base setting that ``make grid-search`` changes, one grid point at a time.

  make grid-search                           # 64 settings per family on a CPU, all on an accelerator
  make grid-search SUBSET=all                # the paper's 512 EBGAN and 6,144 GAN settings

The grid (``ebgan_jax.studies.grid_search.GRID``) sets the networks' depths and widths, the
discriminator's dropout and, for the GAN baselines, each network's optimizer and the learning
rate; everything else is this file: margin 10 on the paper's l2 energy, scaled by
sqrt(784 / 64) = 3.5 so that the margin means on 8x8 digits what it meant on 28x28 MNIST (as in
``digits_margin_sweep``), Adam with learning rate 1e-3, batch 64. The budget is short so that 64
settings of the paper's three families train within an hour on 2 CPU cores (measured alone:
50 minutes, 60 % of it in the settings with 3,200-unit generator layers; the controlled
GAN-Adam family adds about a third): 300 updates, about 11 epochs of the 1,797 digits (the
paper does not give its number of epochs).
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
  c.num_steps, c.batch_size = 300, 64
  # A hundred updates per call in a rolled loop: the same numbers as one update per call, in
  # about half the time for the widest networks (fewer fresh buffers, no Python between steps),
  # and it compiles as fast as one step.
  c.steps_per_dispatch, c.unroll_dispatch = 100, False
  # A setting that diverges keeps its last finite parameters and is counted as unstable (any
  # skipped update), instead of stopping the settings that train with it.
  c.on_nonfinite, c.max_consecutive_skips = "skip", 1_000_000
  c.log_every, c.sample_every, c.checkpoint_every = 100, 1_000_000, 1_000_000
  c.eval_samples = 2000
  return c
