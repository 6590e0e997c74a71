"""The VAE, or AEVB (Kingma & Welling 2014, §2): a Gaussian encoder (the ``d`` network), a
Bernoulli or Gaussian decoder (the ``g`` network), the reparameterisation trick, estimator A or
B with ``L`` samples; both networks trained together on ``-ELBO``. With ``estimator="iwae"`` it
is the importance-weighted auto-encoder (Burda, Grosse & Salakhutdinov 2016, §3): the same
networks trained on the ``K``-sample bound ``log 1/K sum_k p(x, z_k) / q(z_k | x)``. Not a D/G
alternation, so it brings its own :meth:`VAE.update`."""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

from ebgan_jax import losses
from ebgan_jax.algorithms.base import Algorithm, Update
from ebgan_jax.state import SAMPLE_STREAM, apply_train

_LOG_SQRT_2PI = 0.9189385332046727


@dataclasses.dataclass(frozen=True)
class VAE(Algorithm):
  name = "vae"
  title = "VAE"
  discriminator = "gaussian_encoder"
  progress_metrics = ("elbo", "kl")
  # eval_*: the importance-weighted log-likelihood (Burda et al. 2016) of the first
  # eval_examples training examples, and of as many held-out ones when the data config holds
  # some out, with eval_importance_samples samples each. num_samples: L (estimators A, B) or
  # K (iwae).
  config_block = {"likelihood": "bernoulli", "estimator": "B", "num_samples": 1,
                  "gaussian_std": 0.1, "eval_importance_samples": 500, "eval_examples": 300}
  likelihood: str = "bernoulli"
  estimator: str = "B"
  num_samples: int = 1
  gaussian_std: float = 0.1

  @classmethod
  def from_config(cls, config):
    v = config.vae
    return cls(likelihood=v.likelihood, estimator=v.estimator, num_samples=v.num_samples,
               gaussian_std=v.gaussian_std)

  @staticmethod
  def validate(config):
    if (config.vae.likelihood not in ("bernoulli", "gaussian")
        or config.vae.estimator not in ("A", "B", "iwae")):
      raise ValueError("config.vae.likelihood must be 'bernoulli' or 'gaussian' and "
                       "config.vae.estimator 'A', 'B' or 'iwae'.")
    if config.vae.num_samples <= 0:
      raise ValueError(f"config.vae.num_samples must be positive, got {config.vae.num_samples}.")
    if config.pack > 1:
      raise ValueError("config.pack packs a discriminator's inputs; the VAE has none: use "
                       "--config.pack=1.")

  def target(self, batch: jax.Array) -> jax.Array:
    """Images in [-1, 1] as the decoder's targets: {0, 1} for Bernoulli."""
    return (batch + 1.0) / 2.0 if self.likelihood == "bernoulli" else batch

  def to_data(self, target: jax.Array) -> jax.Array:
    """The inverse of :meth:`target`: what the encoder reads."""
    return target * 2.0 - 1.0 if self.likelihood == "bernoulli" else target

  def log_likelihood(self, x: jax.Array, decoded: jax.Array) -> jax.Array:
    if self.likelihood == "bernoulli":
      return losses.bernoulli_log_likelihood(x, decoded)
    diff = (x - decoded).reshape(x.shape[0], -1)
    return jnp.sum(-0.5 * jnp.square(diff / self.gaussian_std)
                   - jnp.log(self.gaussian_std) - _LOG_SQRT_2PI, axis=-1)

  def to_display(self, generated):
    # the Bernoulli mean 2 sigmoid(l) - 1 = tanh(l / 2), back in [-1, 1]
    return jnp.tanh(generated / 2.0) if self.likelihood == "bernoulli" else generated

  def update(self, state, batch, key, settings, shard_batch):
    k_eps, k_enc, k_dec = jax.random.split(key, 3)
    x = self.target(batch)

    def loss_fn(g_params, d_params):
      (mean, log_var), d_stats = apply_train(state.d, d_params, state.d.batch_stats, batch, k_enc)
      eps = jax.random.normal(k_eps, (self.num_samples,) + mean.shape)
      z = mean[None] + jnp.exp(0.5 * log_var)[None] * eps  # the reparameterisation trick
      decoded, g_stats = apply_train(state.g, g_params, state.g.batch_stats,
                                     shard_batch(z.reshape((-1,) + mean.shape[1:])), k_dec)
      decoded = decoded.reshape((self.num_samples,) + x.shape)
      log_px_z = jax.vmap(self.log_likelihood, in_axes=(None, 0))(x, decoded)
      if self.estimator == "iwae":
        log_pz = losses.gaussian_log_density(z, jnp.zeros_like(z), jnp.zeros_like(z))
        log_qz = losses.gaussian_log_density(z, mean, log_var)
        bound = jnp.mean(losses.importance_weighted_log_likelihood(log_px_z + log_pz, log_qz))
      else:
        bound = jnp.mean(losses.elbo(log_px_z, mean, log_var, z, estimator=self.estimator))
      kl = jnp.mean(losses.gaussian_kl(mean, log_var))
      return -bound, ({"elbo": bound, "kl": kl, "loss_d": -bound, "loss_g": -bound},
                      g_stats, d_stats)

    (loss, (metrics, g_stats, d_stats)), (g_grads, d_grads) = jax.value_and_grad(
        loss_fn, argnums=(0, 1), has_aux=True)(state.g.params, state.d.params)
    g = state.g.apply_gradients(grads=g_grads).replace(batch_stats=g_stats)
    d = state.d.apply_gradients(grads=d_grads).replace(batch_stats=d_stats)
    return Update(g, d, state.controller, metrics, loss, loss, d_grads, g_grads)

  def importance_log_likelihood(self, networks, state, images, *, num_samples: int, key,
                                sample_chunk: int = 500) -> dict[str, float]:
    """The importance-weighted log-likelihood and the ELBO of ``images`` (data in [-1, 1]) with
    ``num_samples`` samples each (:func:`ebgan_jax.evaluators.vae_log_likelihood`)."""
    from ebgan_jax import evaluators as evaluation
    generator, encoder = networks
    g_vars = {"params": state.g.params, "batch_stats": state.g.batch_stats}
    d_vars = {"params": state.d.params, "batch_stats": state.d.batch_stats}
    return evaluation.vae_log_likelihood(
        lambda xb: encoder.apply(d_vars, self.to_data(xb), train=False),
        lambda z: generator.apply(g_vars, z, train=False), self.log_likelihood,
        np.asarray(self.target(images)), num_samples=num_samples, key=key,
        sample_chunk=sample_chunk)

  def evaluate(self, config, networks, state, dataset):
    """The importance-weighted log-likelihood and the ELBO of the first ``vae.eval_examples``
    training examples (``train_*``) and, when the data config holds examples out, of as many
    held-out ones (``test_*``), with ``vae.eval_importance_samples`` samples each."""
    from ebgan_jax import data
    n = min(config.vae.eval_examples, getattr(dataset, "num_examples", config.vae.eval_examples))
    key = jax.random.fold_in(jax.random.PRNGKey(config.seed), SAMPLE_STREAM + 1)
    score = lambda images: self.importance_log_likelihood(
        networks, state, images, num_samples=config.vae.eval_importance_samples, key=key)
    result = {"train_" + k: v for k, v in score(dataset.examples(np.arange(n))).items()}
    held_out = data.heldout_examples(config.data, limit=config.vae.eval_examples)
    if held_out is not None:
      result.update({"test_" + k: v for k, v in score(held_out).items()})
    return result
