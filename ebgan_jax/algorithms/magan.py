"""MAGAN (Wang, Cully, Chang & Demiris 2017, Algorithm 1), as its authors' released code runs
it: EBGAN whose margin adapts once per epoch and never increases.

- ``pretrain_steps``: D is trained as an auto-encoder on real data alone (G idle);
- then one epoch (``steps_per_epoch`` steps) in which neither network trains: the margin starts
  at the mean real energy measured over it;
- then D and G alternate. Over each epoch, ``S_D`` sums the real energies of D's updates and
  ``S_G`` the fake energies of G's updates (measured by the just-updated D, in the generator's
  own step); at the epoch's end :func:`ebgan_jax.losses.magan_margin_update` may lower the
  margin to ``S_D / N``.

MAGAN has no pulling-away term. The epoch sums, ``S_G_prev`` and the margin are controller
state, checkpointed with the rest.
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
  # The released code pre-trains for 2 epochs (here 2 epochs of the digits).
  config_block = {"pretrain_steps": 56, "steps_per_epoch": 28}
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

  def generator_loss(self, x_fake, out_fake, controller):
    loss, metrics, inputs = super().generator_loss(x_fake, out_fake, controller)
    return loss, metrics, {**inputs, "energy_fake": metrics["energy_fake_g"]}

  def _adversarial(self, controller):
    return controller["t"] >= controller["pretrain_steps"] + controller["steps_per_epoch"]

  def discriminator_active(self, controller):
    # idle only during the epoch that measures the initial margin
    return (controller["t"] < controller["pretrain_steps"]) | self._adversarial(controller)

  def generator_active(self, controller):
    return self._adversarial(controller)

  def update_controller(self, controller, d_inputs, g_inputs):
    c = dict(controller)
    b = d_inputs["batch"]
    c["s_real"] = c["s_real"] + d_inputs["energy_real"] * b
    c["s_fake"] = c["s_fake"] + g_inputs["energy_fake"] * b
    c["n"] = c["n"] + b
    t = c["t"] + 1
    epoch_end = t % c["steps_per_epoch"] == 0
    measured = epoch_end & (t == c["pretrain_steps"] + c["steps_per_epoch"])
    adapt = epoch_end & (t > c["pretrain_steps"] + c["steps_per_epoch"])
    margin, s_fake_prev = losses.magan_margin_update(c["margin"], c["s_real"], c["s_fake"],
                                                     c["s_fake_prev"], c["n"])
    c["margin"] = jnp.where(measured, c["s_real"] / c["n"],
                            jnp.where(adapt, margin, c["margin"]))
    c["s_fake_prev"] = jnp.where(adapt, s_fake_prev, c["s_fake_prev"])
    for key in ("s_real", "s_fake", "n"):
      c[key] = jnp.where(epoch_end, 0.0, c[key])
    c["t"] = t
    return c, {"margin": c["margin"]}
