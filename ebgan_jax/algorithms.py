"""Which losses each update of an algorithm uses, and the controller state it keeps.

The training step (``train.py``) is shared by every algorithm: it runs the discriminator
update with ``G(z)`` held constant, then the generator update through a fixed discriminator.
An algorithm only says how the discriminator's outputs become the two losses.

A discriminator output is ``(reconstruction, code)`` for auto-encoder discriminators.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from ebgan_jax import losses

Array = jax.Array
Metrics = dict[str, Array]


class EBGAN(NamedTuple):
  """EBGAN and EBGAN-PT (SPEC §1). The margin and PT weight live in the controller, as
  traced values: a sweep over them shares one compiled program."""
  energy_norm: str = "mse"

  @staticmethod
  def init_controller(config: Any) -> dict[str, Array]:
    return {"margin": jnp.asarray(config.margin, jnp.float32),
            "pt_weight": jnp.asarray(config.pt_weight, jnp.float32)}

  def discriminator_loss(self, x_real, out_real, x_fake, out_fake,
                         controller) -> tuple[Array, Metrics]:
    e_real = losses.reconstruction_energy(x_real, out_real[0], norm=self.energy_norm)
    e_fake = losses.reconstruction_energy(x_fake, out_fake[0], norm=self.energy_norm)
    margin = controller["margin"]
    loss = jnp.mean(losses.ebgan_discriminator_loss(e_real, e_fake, margin=margin))
    return loss, {"loss_d": loss, "energy_real": jnp.mean(e_real),
                  "energy_fake": jnp.mean(e_fake),
                  "frac_fake_below_margin": jnp.mean((e_fake < margin).astype(jnp.float32))}

  def generator_loss(self, x_fake, out_fake, controller) -> tuple[Array, Metrics]:
    e_fake = losses.reconstruction_energy(x_fake, out_fake[0], norm=self.energy_norm)
    loss_energy = jnp.mean(losses.ebgan_generator_loss(e_fake))
    pt = losses.pulling_away_term(out_fake[1])
    loss = loss_energy + controller["pt_weight"] * pt
    return loss, {"loss_g": loss, "pt": pt}

  @staticmethod
  def update_controller(controller, metrics: Metrics) -> dict[str, Array]:
    return controller


def make_algorithm(config: Any):
  if config.algorithm == "ebgan":
    return EBGAN(energy_norm=config.energy_norm)
  raise ValueError(f"unknown algorithm {config.algorithm!r}; choose one of: ebgan.")
