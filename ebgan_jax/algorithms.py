"""Which losses each update of an algorithm uses, and the controller state it keeps.

The training step (``train.py``) is shared by the adversarial algorithms: it runs the
discriminator update with ``G(z)`` held constant, then the generator update through the
updated discriminator. An algorithm only says how the discriminator's outputs become the two
losses, which discriminator it needs, and how its controller evolves. The VAE trains its two
networks jointly on one bound (``joint = True``) with the same runner, data and checkpoints.

A discriminator output is ``(reconstruction, code)`` for auto-encoder discriminators and a
``[B]`` logit vector for logit discriminators.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from ebgan_jax import losses

Array = jax.Array
Metrics = dict[str, Array]
Controller = dict[str, Array]


def _f32(value) -> Array:
  return jnp.asarray(value, jnp.float32)


class EBGAN(NamedTuple):
  """EBGAN and EBGAN-PT (Zhao, Mathieu & LeCun 2017, §2). The margin and PT weight live in the controller, as
  traced values: a sweep over them shares one compiled program."""
  energy_norm: str = "mse"
  discriminator = "autoencoder"
  joint = False
  progress_metrics = ("loss_d", "loss_g")

  @staticmethod
  def init_controller(config: Any) -> Controller:
    return {"margin": _f32(config.margin), "pt_weight": _f32(config.pt_weight)}

  def energies(self, x_real, out_real, x_fake, out_fake) -> tuple[Array, Array]:
    return (losses.reconstruction_energy(x_real, out_real[0], norm=self.energy_norm),
            losses.reconstruction_energy(x_fake, out_fake[0], norm=self.energy_norm))

  def discriminator_loss(self, x_real, out_real, x_fake, out_fake,
                         controller) -> tuple[Array, Metrics]:
    e_real, e_fake = self.energies(x_real, out_real, x_fake, out_fake)
    margin = controller["margin"]
    loss = jnp.mean(losses.ebgan_discriminator_loss(e_real, e_fake, margin=margin))
    return loss, {"loss_d": loss, "energy_real": jnp.mean(e_real),
                  "energy_fake": jnp.mean(e_fake),
                  "frac_fake_below_margin": jnp.mean((e_fake < margin).astype(jnp.float32))}

  def generator_loss(self, x_fake, out_fake, controller) -> tuple[Array, Metrics]:
    e_fake = losses.reconstruction_energy(x_fake, out_fake[0], norm=self.energy_norm)
    loss_energy = jnp.mean(losses.ebgan_generator_loss(e_fake))
    # The B x B term only when it counts: the weight is a traced value (a sweep can mix 0 and
    # non-zero), so the choice is lax.cond, which skips the work when the run is not vmapped.
    # With weight 0 the logged "pt" is 0: not computed.
    weight = controller["pt_weight"]
    pt = jax.lax.cond(weight > 0, lambda c: losses.pulling_away_term(c),
                      lambda c: jnp.zeros((), jnp.float32), out_fake[1])
    loss = loss_energy + weight * pt
    return loss, {"loss_g": loss, "pt": pt, "energy_fake_g": loss_energy}

  @staticmethod
  def generator_active(controller) -> Array:
    return jnp.bool_(True)

  @staticmethod
  def update_controller(controller, metrics: Metrics) -> tuple[Controller, Metrics]:
    return controller, {}

  def energy(self, x, out) -> Array:
    """The energy shown in the 2-D plots (low near what D takes for data)."""
    return losses.reconstruction_energy(x, out[0], norm=self.energy_norm)


class GAN(NamedTuple):
  """GAN (Goodfellow et al. 2014): logit discriminator, minimax or non-saturating generator; ``d_steps``
  discriminator updates per generator update (Algorithm 1)."""
  non_saturating: bool = True
  discriminator = "logit"
  joint = False
  progress_metrics = ("loss_d", "loss_g")

  @staticmethod
  def init_controller(config: Any) -> Controller:
    return {}

  def discriminator_loss(self, x_real, out_real, x_fake, out_fake,
                         controller) -> tuple[Array, Metrics]:
    loss = jnp.mean(losses.gan_discriminator_loss(out_real, out_fake))
    return loss, {"loss_d": loss, "d_real": jnp.mean(jax.nn.sigmoid(out_real)),
                  "d_fake": jnp.mean(jax.nn.sigmoid(out_fake))}

  def generator_loss(self, x_fake, out_fake, controller) -> tuple[Array, Metrics]:
    loss = jnp.mean(losses.gan_generator_loss(out_fake, non_saturating=self.non_saturating))
    return loss, {"loss_g": loss}

  generator_active = staticmethod(EBGAN.generator_active)
  update_controller = staticmethod(EBGAN.update_controller)

  @staticmethod
  def energy(x, out) -> Array:
    return -out  # -logit: low where D believes the data is


class BEGAN(NamedTuple):
  """BEGAN (Berthelot, Schumm & Metz 2017, §3): l1 auto-encoder energy, ``L_D = L(x) - k_t L(G(z))``, the k_t
  controller (clipped to [0, 1], part of the state, so checkpointed) and ``M_global``."""
  discriminator = "autoencoder"
  joint = False
  progress_metrics = ("loss_d", "m_global")

  @staticmethod
  def init_controller(config: Any) -> Controller:
    return {"k": _f32(0.0), "gamma": _f32(config.began.gamma),
            "lambda_k": _f32(config.began.lambda_k)}

  @staticmethod
  def discriminator_loss(x_real, out_real, x_fake, out_fake, controller) -> tuple[Array, Metrics]:
    e_real = losses.reconstruction_energy(x_real, out_real[0], norm="l1")
    e_fake = losses.reconstruction_energy(x_fake, out_fake[0], norm="l1")
    loss = jnp.mean(losses.began_discriminator_loss(e_real, e_fake, k=controller["k"]))
    return loss, {"loss_d": loss, "energy_real": jnp.mean(e_real),
                  "energy_fake": jnp.mean(e_fake)}

  @staticmethod
  def generator_loss(x_fake, out_fake, controller) -> tuple[Array, Metrics]:
    loss = jnp.mean(losses.reconstruction_energy(x_fake, out_fake[0], norm="l1"))
    return loss, {"loss_g": loss, "energy_fake_g": loss}

  generator_active = staticmethod(EBGAN.generator_active)

  @staticmethod
  def update_controller(controller, metrics: Metrics) -> tuple[Controller, Metrics]:
    real, fake = metrics["energy_real"], metrics["energy_fake_g"]
    k = losses.began_k_update(controller["k"], real, fake, gamma=controller["gamma"],
                              lambda_k=controller["lambda_k"])
    m_global = losses.began_convergence(real, fake, gamma=controller["gamma"])
    return {**controller, "k": k}, {"k": k, "m_global": m_global}

  @staticmethod
  def energy(x, out) -> Array:
    return losses.reconstruction_energy(x, out[0], norm="l1")


class MAGAN(NamedTuple):
  """MAGAN (Wang, Cully, Chang & Demiris 2017, Algorithm 1): EBGAN with a margin that adapts once per epoch and never increases.

  The first ``pretrain_steps`` steps train D as an auto-encoder on real data (G idle); the
  margin then starts at the mean real energy of the last pre-training epoch. The epoch sums,
  ``S_G_prev`` and the margin are controller state, checkpointed with the rest.
  """
  energy_norm: str = "mse"
  discriminator = "autoencoder"
  joint = False
  progress_metrics = ("loss_d", "margin")

  @staticmethod
  def init_controller(config: Any) -> Controller:
    return {"margin": _f32(config.margin), "pt_weight": _f32(config.pt_weight),
            "s_real": _f32(0.0), "s_fake": _f32(0.0), "s_fake_prev": _f32(jnp.inf),
            "n": _f32(0.0), "t": jnp.zeros((), jnp.int32),
            "steps_per_epoch": jnp.asarray(config.magan.steps_per_epoch, jnp.int32),
            "pretrain_steps": jnp.asarray(config.magan.pretrain_steps, jnp.int32)}

  def discriminator_loss(self, x_real, out_real, x_fake, out_fake,
                         controller) -> tuple[Array, Metrics]:
    loss_ebgan, metrics = EBGAN(self.energy_norm).discriminator_loss(
        x_real, out_real, x_fake, out_fake, controller)
    pretraining = controller["t"] < controller["pretrain_steps"]
    loss = jnp.where(pretraining, metrics["energy_real"], loss_ebgan)
    return loss, {**metrics, "loss_d": loss, "batch": _f32(x_real.shape[0])}

  def generator_loss(self, x_fake, out_fake, controller) -> tuple[Array, Metrics]:
    return EBGAN(self.energy_norm).generator_loss(x_fake, out_fake, controller)

  @staticmethod
  def generator_active(controller) -> Array:
    return controller["t"] >= controller["pretrain_steps"]

  @staticmethod
  def update_controller(controller, metrics: Metrics) -> tuple[Controller, Metrics]:
    c = dict(controller)
    b = metrics["batch"]
    c["s_real"] = c["s_real"] + metrics["energy_real"] * b
    c["s_fake"] = c["s_fake"] + metrics["energy_fake"] * b
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

  def energy(self, x, out) -> Array:
    return losses.reconstruction_energy(x, out[0], norm=self.energy_norm)


class LossSensitiveGAN(NamedTuple):
  """Loss-Sensitive GAN (Qi 2017) with the auto-encoder energy as the loss ``L(x) >= 0`` and
  ``Delta`` the mean absolute difference between paired real and fake examples."""
  energy_norm: str = "mse"
  discriminator = "autoencoder"
  joint = False
  progress_metrics = ("loss_d", "loss_g")

  @staticmethod
  def init_controller(config: Any) -> Controller:
    return {"lam": _f32(config.lsgan.lam), "delta_scale": _f32(config.lsgan.delta_scale)}

  def discriminator_loss(self, x_real, out_real, x_fake, out_fake,
                         controller) -> tuple[Array, Metrics]:
    e_real, e_fake = EBGAN(self.energy_norm).energies(x_real, out_real, x_fake, out_fake)
    delta = controller["delta_scale"] * jnp.mean(
        jnp.abs(x_real - x_fake).reshape(x_real.shape[0], -1), axis=-1)
    loss = jnp.mean(losses.loss_sensitive_discriminator_loss(e_real, e_fake, delta,
                                                             lam=controller["lam"]))
    return loss, {"loss_d": loss, "energy_real": jnp.mean(e_real),
                  "energy_fake": jnp.mean(e_fake), "delta": jnp.mean(delta)}

  def generator_loss(self, x_fake, out_fake, controller) -> tuple[Array, Metrics]:
    loss = jnp.mean(losses.reconstruction_energy(x_fake, out_fake[0], norm=self.energy_norm))
    return loss, {"loss_g": loss}

  generator_active = staticmethod(EBGAN.generator_active)
  update_controller = staticmethod(EBGAN.update_controller)
  energy = EBGAN.energy


class VAE(NamedTuple):
  """VAE / AEVB (Kingma & Welling 2014, §2): a Gaussian encoder (the ``d`` network), a Bernoulli or Gaussian
  decoder (the ``g`` network), reparameterisation, estimator A or B with ``L`` samples.
  Trained jointly on ``-ELBO`` by the step's joint branch."""
  likelihood: str = "bernoulli"
  estimator: str = "B"
  num_samples: int = 1
  gaussian_std: float = 0.1
  discriminator = "gaussian_encoder"
  joint = True
  progress_metrics = ("elbo", "kl")

  @staticmethod
  def init_controller(config: Any) -> Controller:
    return {}

  def target(self, batch: Array) -> Array:
    """Images in [-1, 1] as the decoder's targets: {0, 1} for Bernoulli."""
    return (batch + 1.0) / 2.0 if self.likelihood == "bernoulli" else batch

  def to_data(self, target: Array) -> Array:
    """The inverse of :meth:`target`: what the encoder reads."""
    return target * 2.0 - 1.0 if self.likelihood == "bernoulli" else target

  def log_likelihood(self, x: Array, decoded: Array) -> Array:
    if self.likelihood == "bernoulli":
      return losses.bernoulli_log_likelihood(x, decoded)
    diff = (x - decoded).reshape(x.shape[0], -1)
    return jnp.sum(-0.5 * jnp.square(diff / self.gaussian_std)
                   - jnp.log(self.gaussian_std) - 0.9189385332046727, axis=-1)

  def to_display(self, decoded: Array) -> Array:
    # the Bernoulli mean 2 sigmoid(l) - 1 = tanh(l / 2), back in [-1, 1]
    return jnp.tanh(decoded / 2.0) if self.likelihood == "bernoulli" else decoded

  generator_active = staticmethod(EBGAN.generator_active)
  update_controller = staticmethod(EBGAN.update_controller)


def make_algorithm(config: Any):
  name = config.algorithm
  if name == "ebgan":
    return EBGAN(energy_norm=config.energy_norm)
  if name == "gan":
    return GAN(non_saturating=config.gan.non_saturating)
  if name == "began":
    return BEGAN()
  if name == "magan":
    return MAGAN(energy_norm=config.energy_norm)
  if name == "lsgan":
    return LossSensitiveGAN(energy_norm=config.energy_norm)
  if name == "vae":
    return VAE(likelihood=config.vae.likelihood, estimator=config.vae.estimator,
               num_samples=config.vae.num_samples, gaussian_std=config.vae.gaussian_std)
  raise ValueError(f"unknown algorithm {name!r}; choose one of {', '.join(ALGORITHMS)}.")


ALGORITHMS = ("ebgan", "gan", "began", "magan", "lsgan", "vae")
