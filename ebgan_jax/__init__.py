"""ebgan_jax: energy-based GANs (EBGAN, EBGAN-PT) and their family in JAX and Flax.

The losses are pure functions that compose with any Flax or optax code (``docs/losses.md``)::

  import ebgan_jax
  energy = ebgan_jax.reconstruction_energy(x, x_rec)            # [B]
  loss_d = ebgan_jax.ebgan_discriminator_loss(e_real, e_fake, margin=10.0).mean()

The rest lives in sub-packages, each with a registry by name (``docs/architecture.md``):
``ebgan_jax.algorithms``, ``ebgan_jax.models``, ``ebgan_jax.data`` and ``ebgan_jax.evaluators``;
the runner is ``ebgan_jax.train`` around the jitted step of ``ebgan_jax.step``; the commands are
``ebgan_jax.main``, ``ebgan_jax.sweep``, ``ebgan_jax.evaluate`` and ``ebgan_jax.sample``; the
paper studies live in ``ebgan_jax.studies``. ``ebgan_jax.load(workdir)`` restores a trained run.
"""

from ebgan_jax.losses import (
    bernoulli_log_likelihood,
    began_convergence,
    began_discriminator_loss,
    began_k_update,
    bihm_log_p_tilde,
    bihm_loss,
    bihm_partition_terms,
    ebgan_discriminator_loss,
    ebgan_generator_loss,
    elbo,
    gan_discriminator_loss,
    gan_generator_loss,
    gaussian_kl,
    gaussian_log_density,
    importance_weighted_log_likelihood,
    loss_sensitive_discriminator_loss,
    magan_margin_update,
    pulling_away_term,
    reconstruction_energy,
)


def load(workdir: str):
  """Restores the latest checkpoint of the run in ``workdir``; ``.sample(n)`` draws from it."""
  from ebgan_jax import trained  # imported here: the losses alone need no Flax or Orbax
  return trained.load(workdir)


__all__ = [
    "bernoulli_log_likelihood",
    "began_convergence",
    "began_discriminator_loss",
    "began_k_update",
    "bihm_log_p_tilde",
    "bihm_loss",
    "bihm_partition_terms",
    "ebgan_discriminator_loss",
    "ebgan_generator_loss",
    "elbo",
    "gan_discriminator_loss",
    "gan_generator_loss",
    "gaussian_kl",
    "gaussian_log_density",
    "importance_weighted_log_likelihood",
    "load",
    "loss_sensitive_discriminator_loss",
    "magan_margin_update",
    "pulling_away_term",
    "reconstruction_energy",
]
__version__ = "0.1.0"
