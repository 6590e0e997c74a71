"""An energy-based model whose negatives are found by Langevin dynamics on its own energy, not by
a generator: the "argmax" route of Hung-yi Lee's lecture on energy-based GANs, as Du & Mordatch
(2019, §2.1, §3.1) and Nijkamp et al. (2019, short-run MCMC) train it.

The energy network, its energy and its loss are EBGAN's (Zhao, Mathieu & LeCun 2017, §2): an
auto-encoder's reconstruction error, trained on ``D(x) + [m - D(x⁻)]^+``. Only the negatives
``x⁻`` differ: ``langevin.steps`` steps of

    x ← x − (ε/2) ∇ₓ D(x) + noise · √ε · η,   η ~ N(0, I),   ε = langevin.step_size,

from uniform noise on ``[-init_scale, init_scale]`` (the run's latent ``z``, drawn with
``latent_dim`` equal to the size of one example), or, with ``config.replay`` on, a
``replay.fraction`` of the chains continue from a buffer of earlier negatives (Du & Mordatch's
persistent chains, 95 % in their paper) and the rest start from noise. Samples are drawn the
same way (``langevin.eval_steps`` steps; 0: ``langevin.steps``), so the sampler that found the
negatives in training is the model's sampler.

The runner's state keeps two networks: the generator slot holds an untrained generator that
nothing reads (its parameters never change), so that checkpoints, sweeps and the tools work
unchanged.
"""

from __future__ import annotations

import dataclasses
import math

import jax
import jax.numpy as jnp

from ebgan_jax import sampling
from ebgan_jax.algorithms.base import REPLAY_STREAM, Update
from ebgan_jax.algorithms.ebgan import EBGAN
from ebgan_jax.state import apply_train, replay_push, sample_latent

# fold_in constant of the evaluation chains' noise.
DRAW_STREAM = 0x1A6E


@dataclasses.dataclass(frozen=True)
class LangevinEBM(EBGAN):
  name = "langevin"
  title = "EBM (Langevin)"
  # No row in the family's tables of generators (make results): make evaluation-function
  # compares it with EBGAN-PT on the same energy network.
  variants = {}
  progress_metrics = ("loss_d", "energy_fake")
  config_block = {"steps": 20, "step_size": 0.01, "noise": 1.0, "init_scale": 1.0,
                  "clip": 0.0, "eval_steps": 0}
  data_shape: tuple[int, ...] = ()
  steps: int = 20
  step_size: float = 0.01
  noise: float = 1.0
  init_scale: float = 1.0
  clip: float = 0.0
  eval_steps: int = 0

  @classmethod
  def from_config(cls, config):
    from ebgan_jax import data
    c = config.langevin
    return cls(energy_norm=config.energy_norm, energy_scale=config.energy_scale,
               data_shape=tuple(data.example_shape(config.data)), steps=c.steps,
               step_size=c.step_size, noise=c.noise, init_scale=c.init_scale, clip=c.clip,
               eval_steps=c.eval_steps)

  @staticmethod
  def validate(config):
    from ebgan_jax import data
    c = config.langevin
    size = math.prod(data.example_shape(config.data))
    if config.latent_dim != size:
      raise ValueError(f"the Langevin chains start from the latent z, so config.latent_dim must "
                       f"be the size of one example ({size}), got {config.latent_dim}.")
    if config.pack != 1 or config.d_steps != 1 or config.g_steps != 1:
      raise ValueError("the Langevin EBM has no generator: config.pack, config.d_steps and "
                       "config.g_steps must be 1.")
    if config.pt_weight:
      raise ValueError("the pulling-away term acts on a generator's codes; the Langevin EBM "
                       "has none: set config.pt_weight=0.")
    if c.steps < 1 or c.eval_steps < 0 or c.step_size <= 0 or c.noise < 0 or c.clip < 0 \
        or c.init_scale <= 0:
      raise ValueError(f"config.langevin needs steps >= 1, eval_steps >= 0, step_size > 0, "
                       f"noise >= 0, clip >= 0 and init_scale > 0; got {dict(c)}.")

  def chains(self, energy, x0, key, steps: int):
    """``steps`` Langevin steps on ``energy`` from ``x0``."""
    clip = (-self.clip, self.clip) if self.clip else None
    return sampling.langevin(key, energy, x0, steps, self.step_size, self.noise, clip)

  def start(self, z):
    """Chain starts from the latent ``z`` (uniform on [-1, 1], or normal): scaled noise in the
    shape of the data."""
    return (z * self.init_scale).reshape((z.shape[0],) + self.data_shape)

  def draw(self, generator, discriminator, g_vars, d_vars, z):
    # The chains' noise is a function of z: the same z gives the same samples, and the
    # chunks of a large draw get different noise.
    seed = jax.lax.bitcast_convert_type(z.reshape(-1)[0].astype(jnp.float32), jnp.uint32)
    key = jax.random.fold_in(jax.random.PRNGKey(DRAW_STREAM), seed)

    def energy(x):
      return self.energy(x, discriminator.apply(d_vars, x, train=False))
    return self.chains(energy, self.start(z), key, self.eval_steps or self.steps)

  def update(self, state, batch, key, settings, shard_batch):
    d, b = state.d, batch.shape[0]
    k_z, k_chain, k_real, k_fake = jax.random.split(key, 4)
    z = shard_batch(sample_latent(k_z, b, settings.latent_dim, settings.latent_dist))
    x0 = self.start(z)
    if state.replay:
      x0 = sampling.chains_from_buffer(jax.random.fold_in(k_fake, REPLAY_STREAM),
                                       state.replay["buffer"], state.replay["filled"], b, x0,
                                       restart=1.0 - settings.replay_fraction)

    # The chains see the energy network as it is before this step's update, in inference
    # mode (no dropout, BatchNorm's running statistics).
    def energy(x):
      out = d.apply_fn({"params": d.params, "batch_stats": d.batch_stats}, x, train=False)
      return self.energy(x, out)
    negatives = jax.lax.stop_gradient(self.chains(energy, x0, k_chain, self.steps))

    def d_loss_fn(params):
      out_real, stats = apply_train(d, params, d.batch_stats, batch, k_real)
      out_fake, stats = apply_train(d, params, stats, negatives, k_fake)
      loss, metrics, _ = self.discriminator_loss(batch, out_real, negatives, out_fake,
                                                 state.controller)
      return loss, (metrics, stats)

    (loss_d, (metrics, stats)), grads_d = jax.value_and_grad(d_loss_fn, has_aux=True)(d.params)
    d = d.apply_gradients(grads=grads_d).replace(batch_stats=stats)
    # How far the chains moved the energy: from their starts to the negatives.
    metrics = {**metrics, "energy_start": jnp.mean(energy(x0))}
    replay = replay_push(state.replay, negatives) if state.replay else None
    zeros = jax.tree.map(jnp.zeros_like, state.g.params)
    return Update(state.g, d, state.controller, metrics, loss_d, metrics["energy_fake"],
                  grads_d, zeros, replay)
