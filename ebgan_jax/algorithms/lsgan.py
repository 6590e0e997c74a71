"""Loss-Sensitive GAN (Qi 2017, §3): the auto-encoder energy as the loss ``L(x) >= 0``,
``L_D = L(x) + lam [Delta(x, G(z)) + L(x) - L(G(z))]^+`` with ``Delta`` the mean absolute
difference between paired real and fake examples, and ``L_G = L(G(z))``.

The paper's theory needs ``L`` Lipschitz (§4). Two controls, named in the config and off by
default: ``lsgan.weight_decay`` adds ``weight_decay / 2 * ||theta||^2`` of L's parameters to D's
loss (what the released code relies on), and ``lsgan.gradient_penalty`` adds
``gradient_penalty * E[(||grad_x L(x_hat)|| - 1)_+^2]`` on random interpolates ``x_hat`` of
paired real and fake examples (the one-sided penalty of Gulrajani et al. 2017, a Lipschitz-1
constraint where the samples are)."""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp

from ebgan_jax import losses
from ebgan_jax.algorithms.base import f32
from ebgan_jax.state import apply_train
from ebgan_jax.algorithms.ebgan import EBGAN


@dataclasses.dataclass(frozen=True)
class LossSensitiveGAN(EBGAN):
  name = "lsgan"
  title = "LS-GAN"
  config_block = {"lam": 1.0, "delta_scale": 1.0, "weight_decay": 0.0, "gradient_penalty": 0.0}
  state_keys = ("lsgan.lam", "lsgan.delta_scale", "lsgan.weight_decay",
                "lsgan.gradient_penalty")

  @staticmethod
  def validate(config):
    for key in ("weight_decay", "gradient_penalty"):
      if config.lsgan[key] < 0:
        raise ValueError(f"config.lsgan.{key} must be >= 0 (0: off), got {config.lsgan[key]}.")

  def init_controller(self, config):
    controller = {"lam": f32(config.lsgan.lam), "delta_scale": f32(config.lsgan.delta_scale)}
    # Only when used, so that runs without them keep their checkpoint structure.
    for key in ("weight_decay", "gradient_penalty"):
      if config.lsgan[key]:
        controller[key] = f32(config.lsgan[key])
    return controller

  def discriminator_penalty(self, d, params, x_real, x_fake, key, controller):
    terms, metrics = [], {}
    if "weight_decay" in controller:
      squares = sum(jnp.sum(jnp.square(p)) for p in jax.tree.leaves(params))
      terms.append(0.5 * controller["weight_decay"] * squares)
      metrics["weight_norm"] = jnp.sqrt(squares)
    if "gradient_penalty" in controller:
      eps = jax.random.uniform(key, (x_real.shape[0],) + (1,) * (x_real.ndim - 1))
      x_hat = eps * x_real + (1.0 - eps) * x_fake
      energy = lambda x: jnp.sum(self.energy(x, apply_train(d, params, d.batch_stats, x, key)[0]))
      grads = jax.grad(energy)(x_hat).reshape(x_real.shape[0], -1)
      norms = jnp.sqrt(jnp.sum(jnp.square(grads), axis=-1) + 1e-12)
      terms.append(controller["gradient_penalty"] * jnp.mean(jnp.square(jax.nn.relu(norms - 1.0))))
      metrics["grad_norm_x"] = jnp.mean(norms)
    if not terms:
      return None
    return sum(terms), metrics

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
