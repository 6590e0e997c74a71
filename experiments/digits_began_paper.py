"""BEGAN (Berthelot, Schumm & Metz 2017) on the embedded digits, with the paper's recipe: its
networks, batch 16, Adam 1e-4 with both learning rates halved when M_global stalls, gamma = 0.5,
lambda_k = 0.001 (k_0 = 0), the l1 energy.

  make train EXP=digits_began_paper

On these data every seed collapses to one or two classes (results/recipes, results/began);
``digits_began`` is the recipe that ``make began``'s search selected.

The networks are BEGAN's (§3.5, Fig. 1; ``model.arch = "began"``) sized from the data: the
8x8 digits are BEGAN's base resolution, so the encoder is a first convolution and two more at
8x8 (n = 32 filters, ELU) and the dense embedding, and the decoder and the generator a dense
layer to 8x8x32, two convolutions and the output convolution, with no resolution step in
between. The embedding (and the generator's noise) has h = 16 units: the bottleneck that keeps
the auto-encoder from learning the identity on 64 pixels (the paper's h = 64 is for 64x64x3
images). The learning rates are halved when the mean of M_global over 2,000 steps is not below
the best earlier 2,000-step mean.
"""

from ebgan_jax.configs import base_config


def get_config():
  c = base_config()
  c.algorithm = "began"
  c.data.name = "digits"
  c.model.arch = "began"
  c.model.features_g = c.model.features_d = 32
  c.model.code_size = c.latent_dim = 16
  c.latent_dist = "uniform"
  c.began.gamma, c.began.lambda_k = 0.5, 0.001
  c.began.lr_window = 2000
  c.num_steps, c.batch_size = 20000, 16
  c.optimizer.lr_g = c.optimizer.lr_d = 1e-4
  c.optimizer.b1 = 0.5
  c.log_every, c.sample_every, c.checkpoint_every = 200, 5000, 2000
  return c
