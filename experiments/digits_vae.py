"""VAE (AEVB, Kingma & Welling 2014) on the embedded digits, binarised at 0.5, with 297 digits
held out (the same fixed set as ``digits_bihm``): tanh MLP encoder, Bernoulli decoder,
estimator B with L = 1, minibatch 100 as in the paper; the importance-weighted log-likelihood
(K = 500) of the training and the held-out digits is measured at the end.
``--config.vae.estimator=iwae --config.vae.num_samples=50`` trains the IWAE (Burda et al. 2016)
with k = 50 instead.

  make train EXP=digits_vae
"""

from ebgan_jax.configs import base_config


def get_config():
  c = base_config()
  c.algorithm = "vae"
  c.data.name = "digits"
  c.data.binarize = True
  c.data.holdout = 297
  c.model.arch = "mlp"
  c.model.n_layers_g, c.model.size_g = 2, 200
  c.model.n_layers_d, c.model.size_d = 2, 200
  c.latent_dim = 10
  c.latent_dist = "normal"
  c.vae.likelihood, c.vae.estimator, c.vae.num_samples = "bernoulli", "B", 1
  c.vae.eval_examples = 297
  c.num_steps, c.batch_size = 5000, 100
  c.optimizer.b1 = 0.9
  c.optimizer.lr_g = c.optimizer.lr_d = 1e-3
  c.log_every, c.sample_every = 100, 1000
  return c
