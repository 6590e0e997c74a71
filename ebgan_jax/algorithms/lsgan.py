"""Loss-Sensitive GAN (Qi 2017, §3): the auto-encoder energy as the loss ``L(x) >= 0``,
``L_D = L(x) + lam [Delta(x, G(z)) + L(x) - L(G(z))]^+`` with ``Delta`` the mean absolute
difference between paired real and fake examples, and ``L_G = L(G(z))``."""

from __future__ import annotations

import dataclasses

import jax.numpy as jnp

from ebgan_jax import losses
from ebgan_jax.algorithms.base import f32
from ebgan_jax.algorithms.ebgan import EBGAN


@dataclasses.dataclass(frozen=True)
class LossSensitiveGAN(EBGAN):
  name = "lsgan"
  title = "LS-GAN"
  config_block = {"lam": 1.0, "delta_scale": 1.0}
  state_keys = ("lsgan.lam", "lsgan.delta_scale")

  def init_controller(self, config):
    return {"lam": f32(config.lsgan.lam), "delta_scale": f32(config.lsgan.delta_scale)}

  def discriminator_loss(self, x_real, out_real, x_fake, out_fake, controller):
    e_real, e_fake = self.energy(x_real, out_real), self.energy(x_fake, out_fake)
    delta = controller["delta_scale"] * jnp.mean(
        jnp.abs(x_real - x_fake).reshape(x_real.shape[0], -1), axis=-1)
    loss = jnp.mean(losses.loss_sensitive_discriminator_loss(e_real, e_fake, delta,
                                                             lam=controller["lam"]))
    return loss, {"loss_d": loss, "energy_real": jnp.mean(e_real),
                  "energy_fake": jnp.mean(e_fake), "delta": jnp.mean(delta)}, {}

  def generator_loss(self, x_fake, out_fake, controller):
    loss = jnp.mean(self.energy(x_fake, out_fake))
    return loss, {"loss_g": loss}, {}
