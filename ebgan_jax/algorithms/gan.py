"""GAN (Goodfellow et al. 2014): a logit discriminator, the minimax or the non-saturating
generator loss (§3), ``d_steps`` discriminator updates per generator update (Algorithm 1)."""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp

from ebgan_jax import losses
from ebgan_jax.algorithms.base import Adversarial


@dataclasses.dataclass(frozen=True)
class GAN(Adversarial):
  name = "gan"
  title = "GAN"
  discriminator = "logit"
  config_block = {"non_saturating": True}
  non_saturating: bool = True

  @classmethod
  def from_config(cls, config):
    return cls(non_saturating=config.gan.non_saturating)

  def discriminator_loss(self, x_real, out_real, x_fake, out_fake, controller):
    loss = jnp.mean(losses.gan_discriminator_loss(out_real, out_fake))
    return loss, {"loss_d": loss, "d_real": jnp.mean(jax.nn.sigmoid(out_real)),
                  "d_fake": jnp.mean(jax.nn.sigmoid(out_fake))}, {}

  def generator_loss(self, x_fake, out_fake, controller):
    loss = jnp.mean(losses.gan_generator_loss(out_fake, non_saturating=self.non_saturating))
    return loss, {"loss_g": loss}, {}

  def energy(self, x, out):
    return -out  # -logit: low where D believes the data is
