"""BEGAN (Berthelot, Schumm & Metz 2017, §3): the l1 auto-encoder energy,
``L_D = L(x) - k_t L(G(z))``, ``L_G = L(G(z))``, and the proportional controller
``k_{t+1} = clip(k_t + lambda_k (gamma L(x) - L(G(z))), 0, 1)`` from ``k_0`` (``began.k0``; the
paper's 0); ``k_t`` is part of the state, so it is checkpointed, and ``M_global`` and the
balance ``L(G(z)) / L(x)`` that the controller steers towards gamma are logged.

The paper's optimizer recipe (§4): both learning rates are halved when the convergence measure
``M_global`` stalls. With ``began.lr_window = W > 0`` the mean of ``M_global`` over each window
of W steps is compared with the lowest mean of the windows before it; when it is not lower,
both learning rates are halved. The window's running sum, the best mean and the learning-rate
scale are controller values, checkpointed like ``k_t``."""

from __future__ import annotations

import dataclasses

import jax.numpy as jnp

from ebgan_jax import losses
from ebgan_jax.algorithms.base import Adversarial, f32
from ebgan_jax.state import scale_learning_rate


@dataclasses.dataclass(frozen=True)
class BEGAN(Adversarial):
  name = "began"
  title = "BEGAN"
  progress_metrics = ("loss_d", "m_global")
  config_block = {"gamma": 0.5, "lambda_k": 0.001, "k0": 0.0, "lr_window": 0}
  state_keys = ("began.gamma", "began.lambda_k", "began.k0")

  @staticmethod
  def validate(config):
    if not 0 <= config.began.gamma <= 1:
      raise ValueError(f"config.began.gamma must be in [0, 1], got {config.began.gamma}.")
    if not 0 <= config.began.k0 <= 1:
      raise ValueError(f"config.began.k0 (k_t's first value) must be in [0, 1], got "
                       f"{config.began.k0}.")
    if config.began.lr_window < 0:
      raise ValueError(f"config.began.lr_window must be >= 0 (0: never halve the learning "
                       f"rates), got {config.began.lr_window}.")

  def init_controller(self, config):
    controller = {"k": f32(config.began.k0), "gamma": f32(config.began.gamma),
                  "lambda_k": f32(config.began.lambda_k)}
    if config.began.lr_window:  # (only then: older checkpoints keep their structure)
      controller.update({"lr_window": f32(config.began.lr_window), "window_steps": f32(0.0),
                         "window_sum": f32(0.0), "best_window": f32(jnp.inf),
                         "lr_scale": f32(1.0)})
    return controller

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
    # fake / real: the balance the controller steers towards gamma.
    controller, metrics = {**controller, "k": k}, {"k": k, "m_global": m_global,
                                                   "fake_real_ratio": fake / real}
    if "lr_scale" in controller:
      controller = halve_on_stall(controller, m_global)
      metrics["lr_scale"] = controller["lr_scale"]
    return controller, metrics

  def update(self, state, batch, key, settings, shard_batch):
    out = super().update(state, batch, key, settings, shard_batch)
    if "lr_scale" not in state.controller:
      return out
    factor = out.controller["lr_scale"] / state.controller["lr_scale"]
    return out._replace(g=scale_learning_rate(out.g, factor),
                        d=scale_learning_rate(out.d, factor))


def halve_on_stall(controller, m_global):
  """One step of the stall rule: adds ``m_global`` to the window; at the window's end, halves
  ``lr_scale`` if the window's mean is not below the best earlier mean."""
  steps = controller["window_steps"] + 1.0
  total = controller["window_sum"] + m_global
  end = steps >= controller["lr_window"]
  mean = total / steps
  stalled = end & (mean >= controller["best_window"])
  return {**controller,
          "window_steps": jnp.where(end, 0.0, steps), "window_sum": jnp.where(end, 0.0, total),
          "best_window": jnp.where(end, jnp.minimum(controller["best_window"], mean),
                                   controller["best_window"]),
          "lr_scale": jnp.where(stalled, 0.5 * controller["lr_scale"], controller["lr_scale"])}
