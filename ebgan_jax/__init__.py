"""ebgan_jax: energy-based GANs (EBGAN, EBGAN-PT) and their family in JAX and Flax.

The losses are pure functions that compose with any Flax or optax code::

  from ebgan_jax import losses
  energy = losses.reconstruction_energy(x, x_rec)
"""

from ebgan_jax.losses import (
    ebgan_discriminator_loss,
    ebgan_generator_loss,
    pulling_away_term,
    reconstruction_energy,
)



def load(workdir: str):
  """Restores the latest checkpoint of the run in ``workdir``; ``.sample(n)`` draws from it."""
  from ebgan_jax import train  # imported here: the losses alone need no Flax or Orbax
  return train.load(workdir)


__all__ = [
    "load",
    "ebgan_discriminator_loss",
    "ebgan_generator_loss",
    "pulling_away_term",
    "reconstruction_energy",
]
__version__ = "0.1.0"
