"""EBGAN and EBGAN-PT (Zhao, Mathieu & LeCun 2017, §2): an auto-encoder's reconstruction
error is the energy; D minimises ``D(x) + [m - D(G(z))]^+``, G minimises ``D(G(z))`` plus the
pulling-away term on the encoder's codes (§2.4) when ``pt_weight > 0``."""

from __future__ import annotations

import dataclasses
from typing import Any

import jax
import jax.numpy as jnp

from ebgan_jax import losses
from ebgan_jax.algorithms.base import Adversarial, f32


@dataclasses.dataclass(frozen=True)
class EBGAN(Adversarial):
  """The margin and the PT weight live in the controller, as traced values: a sweep over them
  shares one compiled program."""
  name = "ebgan"
  title = "EBGAN"
  variants = {"EBGAN": ("pt_weight=0",), "EBGAN-PT": ("pt_weight=0.1",)}
  energy_norm: str = "mse"
  energy_scale: float = 1.0

  @classmethod
  def from_config(cls, config):
    return cls(energy_norm=config.energy_norm, energy_scale=config.energy_scale)

  def init_controller(self, config):
    return {"margin": f32(config.margin), "pt_weight": f32(config.pt_weight)}

  def energy(self, x, out) -> jax.Array:
    energy = losses.reconstruction_energy(x, out[0], norm=self.energy_norm)
    return energy if self.energy_scale == 1.0 else self.energy_scale * energy

  def discriminator_loss(self, x_real, out_real, x_fake, out_fake, controller):
    e_real, e_fake = self.energy(x_real, out_real), self.energy(x_fake, out_fake)
    margin = controller["margin"]
    loss = jnp.mean(losses.ebgan_discriminator_loss(e_real, e_fake, margin=margin))
    metrics = {"loss_d": loss, "energy_real": jnp.mean(e_real), "energy_fake": jnp.mean(e_fake),
               "frac_fake_below_margin": jnp.mean((e_fake < margin).astype(jnp.float32))}
    return loss, metrics, {"energy_real": metrics["energy_real"],
                           "energy_fake": metrics["energy_fake"]}

  def generator_loss(self, x_fake, out_fake, controller: dict[str, Any]):
    loss_energy = jnp.mean(losses.ebgan_generator_loss(self.energy(x_fake, out_fake)))
    # The B x B term only when it counts: the weight is a traced value (a sweep can mix 0 and
    # non-zero), so the choice is lax.cond, which skips the work when the run is not vmapped.
    # With weight 0 the logged "pt" is 0: not computed.
    weight = controller["pt_weight"]
    pt = jax.lax.cond(weight > 0, lambda c: losses.pulling_away_term(c),
                      lambda c: jnp.zeros((), jnp.float32), out_fake[1])
    loss = loss_energy + weight * pt
    return loss, {"loss_g": loss, "pt": pt, "energy_fake_g": loss_energy}, {}
