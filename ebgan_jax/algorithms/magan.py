"""MAGAN (Wang, Cully, Chang & Demiris 2017, Algorithm 1): EBGAN whose margin adapts once per
epoch and never increases.

The first ``pretrain_steps`` steps train D as an auto-encoder on real data (G idle); the margin
then starts at the mean real energy of the last pre-training epoch. The epoch sums,
``S_G_prev`` and the margin are controller state, checkpointed with the rest.
"""

from __future__ import annotations

import dataclasses

import jax.numpy as jnp

from ebgan_jax import losses
from ebgan_jax.algorithms.base import f32
from ebgan_jax.algorithms.ebgan import EBGAN


@dataclasses.dataclass(frozen=True)
class MAGAN(EBGAN):
  name = "magan"
  title = "MAGAN"
  progress_metrics = ("loss_d", "margin")
  config_block = {"pretrain_steps": 112, "steps_per_epoch": 28}
  # Its rows start from EBGAN-PT's experiments: without a pulling-away term, as published.
  variants = {"MAGAN": ("pt_weight=0",)}

  @staticmethod
  def validate(config):
    if config.pt_weight > 0:
      # The pulling-away term is EBGAN-PT's; next to MAGAN's small adaptive margin it
      # dominates the generator's loss.
      raise ValueError(f"MAGAN has no pulling-away term (Wang et al. 2017), got "
                       f"config.pt_weight={config.pt_weight}; use --config.pt_weight=0.")
    spe, pre = config.magan.steps_per_epoch, config.magan.pretrain_steps
    if spe <= 0 or pre <= 0 or pre % spe:
      raise ValueError(f"config.magan.pretrain_steps={pre} must be a positive multiple of "
                       f"config.magan.steps_per_epoch={spe}.")

  def init_controller(self, config):
    return {**super().init_controller(config),
            "s_real": f32(0.0), "s_fake": f32(0.0), "s_fake_prev": f32(jnp.inf),
            "n": f32(0.0), "t": jnp.zeros((), jnp.int32),
            "steps_per_epoch": jnp.asarray(config.magan.steps_per_epoch, jnp.int32),
            "pretrain_steps": jnp.asarray(config.magan.pretrain_steps, jnp.int32)}

  def discriminator_loss(self, x_real, out_real, x_fake, out_fake, controller):
    loss_ebgan, metrics, inputs = super().discriminator_loss(x_real, out_real, x_fake, out_fake,
                                                             controller)
    pretraining = controller["t"] < controller["pretrain_steps"]
    loss = jnp.where(pretraining, metrics["energy_real"], loss_ebgan)
    return loss, {**metrics, "loss_d": loss}, {**inputs, "batch": f32(x_real.shape[0])}

  def generator_active(self, controller):
    return controller["t"] >= controller["pretrain_steps"]

  def update_controller(self, controller, d_inputs, g_inputs):
    c = dict(controller)
    b = d_inputs["batch"]
    c["s_real"] = c["s_real"] + d_inputs["energy_real"] * b
    c["s_fake"] = c["s_fake"] + d_inputs["energy_fake"] * b
    c["n"] = c["n"] + b
    t = c["t"] + 1
    epoch_end = t % c["steps_per_epoch"] == 0
    pretrain_end = epoch_end & (t == c["pretrain_steps"])
    adapt = epoch_end & (t > c["pretrain_steps"])
    margin, s_fake_prev = losses.magan_margin_update(c["margin"], c["s_real"], c["s_fake"],
                                                     c["s_fake_prev"], c["n"])
    c["margin"] = jnp.where(pretrain_end, c["s_real"] / c["n"],
                            jnp.where(adapt, margin, c["margin"]))
    c["s_fake_prev"] = jnp.where(adapt, s_fake_prev, c["s_fake_prev"])
    for key in ("s_real", "s_fake", "n"):
      c[key] = jnp.where(epoch_end, 0.0, c[key])
    c["t"] = t
    return c, {"margin": c["margin"]}
