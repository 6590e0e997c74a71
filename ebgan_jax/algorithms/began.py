"""BEGAN (Berthelot, Schumm & Metz 2017, §3): the l1 auto-encoder energy,
``L_D = L(x) - k_t L(G(z))``, ``L_G = L(G(z))``, and the proportional controller
``k_{t+1} = clip(k_t + lambda_k (gamma L(x) - L(G(z))), 0, 1)``; ``k_t`` is part of the state,
so it is checkpointed, and ``M_global`` is logged."""

from __future__ import annotations

import dataclasses

import jax.numpy as jnp

from ebgan_jax import losses
from ebgan_jax.algorithms.base import Adversarial, f32


@dataclasses.dataclass(frozen=True)
class BEGAN(Adversarial):
  name = "began"
  title = "BEGAN"
  progress_metrics = ("loss_d", "m_global")
  config_block = {"gamma": 0.5, "lambda_k": 0.001}
  state_keys = ("began.gamma", "began.lambda_k")

  @staticmethod
  def validate(config):
    if not 0 <= config.began.gamma <= 1:
      raise ValueError(f"config.began.gamma must be in [0, 1], got {config.began.gamma}.")

  def init_controller(self, config):
    return {"k": f32(0.0), "gamma": f32(config.began.gamma),
            "lambda_k": f32(config.began.lambda_k)}

  def energy(self, x, out):
    return losses.reconstruction_energy(x, out[0], norm="l1")

  def discriminator_loss(self, x_real, out_real, x_fake, out_fake, controller):
    e_real, e_fake = self.energy(x_real, out_real), self.energy(x_fake, out_fake)
    loss = jnp.mean(losses.began_discriminator_loss(e_real, e_fake, k=controller["k"]))
    return loss, {"loss_d": loss, "energy_real": jnp.mean(e_real),
                  "energy_fake": jnp.mean(e_fake)}, {"energy_real": jnp.mean(e_real)}

  def generator_loss(self, x_fake, out_fake, controller):
    loss = jnp.mean(self.energy(x_fake, out_fake))
    return loss, {"loss_g": loss, "energy_fake_g": loss}, {"energy_fake": loss}

  def update_controller(self, controller, d_inputs, g_inputs):
    real, fake = d_inputs["energy_real"], g_inputs["energy_fake"]
    k = losses.began_k_update(controller["k"], real, fake, gamma=controller["gamma"],
                              lambda_k=controller["lambda_k"])
    m_global = losses.began_convergence(real, fake, gamma=controller["gamma"])
    return {**controller, "k": k}, {"k": k, "m_global": m_global}
