"""What an algorithm is to the runner, and the D/G alternation that the adversarial ones share.

An algorithm says how one step changes the two networks and its controller
(:meth:`Algorithm.update`); the runner wraps that in the divergence guard, the data-parallel
jit and the member ``vmap`` of a sweep, and never asks which algorithm it runs. The adversarial
algorithms derive from :class:`Adversarial` and only say how the discriminator's outputs become
the two losses and how their controller evolves.

A discriminator output is ``(reconstruction, code)`` for auto-encoder discriminators and a
``[B]`` logit vector for logit discriminators.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, ClassVar, NamedTuple

import jax
import jax.numpy as jnp
import ml_collections

from ebgan_jax import models
from ebgan_jax.state import (GANState, ModelState, apply_train, replay_mix, replay_push,
                             sample_latent)

Array = jax.Array
Metrics = dict[str, Array]
Controller = dict[str, Array]
# What a loss hands to the controller update (energies, batch sizes): kept apart from the
# logged metrics, so that renaming a metric never changes the training.
ControllerInputs = dict[str, Array]


# fold_in constant of the replay buffer's draws within a discriminator update's key.
REPLAY_STREAM = 0x7E9A


def f32(value) -> Array:
  return jnp.asarray(value, jnp.float32)


class StepSettings(NamedTuple):
  """The runner-wide settings an update reads (not the algorithm's own block)."""
  d_steps: int = 1
  latent_dim: int = 64
  latent_dist: str = "uniform"
  pack: int = 1
  simultaneous_updates: bool = False
  g_steps: int = 1
  replay_fraction: float = 0.0

  @classmethod
  def from_config(cls, config: ml_collections.ConfigDict) -> "StepSettings":
    return cls(config.d_steps, config.latent_dim, config.latent_dist, config.pack,
               config.simultaneous_updates, config.g_steps,
               config.replay.fraction if config.replay.size else 0.0)


class Update(NamedTuple):
  """What one step of an algorithm produced. The runner applies it only if the losses, the
  gradients and the new parameters are finite."""
  g: ModelState
  d: ModelState
  controller: Controller
  metrics: Metrics
  loss_d: Array
  loss_g: Array
  grads_d: Any
  grads_g: Any
  replay: Any = None  # the replay buffer after the step (None: the algorithm keeps none)


@dataclasses.dataclass(frozen=True)
class Algorithm:
  """The protocol every algorithm follows, with its defaults.

  Class attributes: ``name`` (the value of ``config.algorithm``), ``title`` (its name in tables),
  ``variants`` (the rows it gives in the results tables: title and config overrides; by
  default one, its title), ``discriminator`` (the network
  in the ``d`` slot: ``"autoencoder"``, ``"logit"`` or ``"gaussian_encoder"``),
  ``generative`` (False for a model that draws no samples, such as a classifier: the
  runner then writes no sample pictures and skips the dataset's sample protocol),
  ``progress_metrics`` (two metrics for the progress bar), ``config_block`` (the defaults of
  ``config.<name>``, or None) and ``state_keys`` (keys of that block that the controller
  carries: traced values, so a sweep over them shares one program and a resumed run keeps the
  checkpoint's values).
  """
  name: ClassVar[str] = ""
  title: ClassVar[str] = ""
  variants: ClassVar[dict[str, tuple[str, ...]] | None] = None
  discriminator: ClassVar[str] = "autoencoder"
  generative: ClassVar[bool] = True
  progress_metrics: ClassVar[tuple[str, str]] = ("loss_d", "loss_g")
  config_block: ClassVar[dict[str, Any] | None] = None
  state_keys: ClassVar[tuple[str, ...]] = ()

  @classmethod
  def from_config(cls, config: ml_collections.ConfigDict) -> "Algorithm":
    return cls()

  @classmethod
  def table_rows(cls) -> dict[str, tuple[str, ...]]:
    """``{title: config overrides}``: the rows of this algorithm in the results tables."""
    own = cls.__dict__.get("variants")  # a subclass's rows are not its parent's
    return own if own is not None else {cls.title: ()}

  @staticmethod
  def validate(config: ml_collections.ConfigDict) -> None:
    """One-line ``ValueError`` for settings of this algorithm that cannot be trained with."""

  def init_controller(self, config: ml_collections.ConfigDict) -> Controller:
    return {}

  def example_inputs(self, config: ml_collections.ConfigDict, data_shape: tuple[int, ...]
                     ) -> tuple[Array, Array]:
    """Inputs of the generator and the discriminator that their parameters are initialised
    from: by default a batch of latents and a batch of (packed) examples."""
    return (jnp.zeros((2, config.latent_dim)),
            jnp.zeros((2,) + models.packed_shape(data_shape, config.pack)))

  def update(self, state: GANState, batch: Array, key: Array, settings: StepSettings,
             shard_batch: Callable[[Array], Array]) -> Update:
    """One training step on ``batch`` with the step's ``key``."""
    raise NotImplementedError

  def energy(self, x: Array, out: Any) -> Array:
    """The energy shown in the 2-D plots (low where the ``d`` network takes ``x`` for data)."""
    raise NotImplementedError(f"{self.name} has no energy to plot.")

  def to_display(self, generated: Array) -> Array:
    """The generator's output as data (the VAE's Bernoulli logits become means)."""
    return generated

  def draw(self, generator: Any, discriminator: Any, g_vars: Any, d_vars: Any, z: Array
           ) -> Array:
    """Samples in data space from the latents ``z``, the networks in inference mode: by
    default the generator's output (:meth:`to_display`); a model without a generator draws
    them from its energy (:class:`~ebgan_jax.algorithms.langevin.LangevinEBM`)."""
    return self.to_display(generator.apply(g_vars, z, train=False))

  def evaluate(self, config: ml_collections.ConfigDict, networks: tuple[Any, Any],
               state: GANState, dataset: Any) -> dict[str, float]:
    """Metrics of this algorithm beyond the dataset's protocol (one member's ``state``)."""
    return {}


@dataclasses.dataclass(frozen=True)
class Adversarial(Algorithm):
  """``d_steps`` discriminator updates with ``G(z)`` held constant, then one generator update
  through the just-updated discriminator (Goodfellow et al. 2014, Algorithm 1), or through the
  discriminator as it was before its update (``simultaneous_updates``, as PacGAN's code
  trains). ``g_steps > 1`` repeats the generator's update on the same ``z`` (the DCGAN code of
  VEEGAN's and PacGAN's Stacked-MNIST runs updates G twice, so that D's loss does not reach
  zero); the metrics are those of the last.

  Experience replay (``config.replay``; Hung-yi Lee's lecture, "parameters from last
  iteration"): a fraction of the fakes each discriminator update sees are earlier generator
  outputs, drawn from a buffer in the state (:func:`~ebgan_jax.state.replay_mix`); each step's
  fakes are then written into it. The generator's own update is unchanged."""

  def discriminator_loss(self, x_real, out_real, x_fake, out_fake, controller: Controller
                         ) -> tuple[Array, Metrics, ControllerInputs]:
    raise NotImplementedError

  def generator_loss(self, x_fake, out_fake, controller: Controller
                     ) -> tuple[Array, Metrics, ControllerInputs]:
    raise NotImplementedError

  def generator_active(self, controller: Controller) -> Array:
    return jnp.bool_(True)

  def discriminator_active(self, controller: Controller) -> Array | None:
    """Whether the discriminator's update is applied this step (None: always)."""
    return None

  def discriminator_penalty(self, d: ModelState, params, x_real: Array, x_fake: Array,
                            key: Array, controller: Controller) -> tuple[Array, Metrics] | None:
    """A term added to the discriminator's loss that needs its parameters or its gradient in
    x (weight decay, a gradient penalty), or None for none."""
    return None

  def update_controller(self, controller: Controller, d_inputs: ControllerInputs,
                        g_inputs: ControllerInputs) -> tuple[Controller, Metrics]:
    """The controller after a step, from what the last D update and the G update measured."""
    return controller, {}

  def update(self, state, batch, key, settings, shard_batch):
    d_steps = settings.d_steps
    if batch.shape[0] % d_steps:
      raise ValueError(f"batch of {batch.shape[0]} does not split into d_steps={d_steps}.")
    b = batch.shape[0] // d_steps
    real = batch.reshape((d_steps, b) + batch.shape[1:])
    pack = lambda x: models.pack_examples(x, settings.pack)
    g, d, controller = state.g, state.d, state.controller
    # The replayed rows of each discriminator batch (a static count; 0: replay off).
    replayed = int(round(settings.replay_fraction * b)) if state.replay else 0

    # Discriminator updates; G(z) is a constant here.
    for i in range(d_steps):
      k_z, k_real, k_fake, k_g = jax.random.split(jax.random.fold_in(key, i), 4)
      z = shard_batch(sample_latent(k_z, b, settings.latent_dim, settings.latent_dist))
      generate = lambda p: apply_train(g, p, g.batch_stats, z, k_z)
      if i == d_steps - 1:
        # The generator update below uses this same forward pass: keep its pullback.
        fake, g_pullback, g_stats = jax.vjp(generate, g.params, has_aux=True)
      else:
        fake, g_stats = generate(g.params)
      g = g.replace(batch_stats=g_stats)
      fake_const = jax.lax.stop_gradient(fake)
      fake_d = replay_mix(state.replay, fake_const, replayed,
                          jax.random.fold_in(k_fake, REPLAY_STREAM))

      def d_loss_fn(params, d=d, x_real=pack(real[i]), x_fake=pack(fake_d), k_real=k_real,
                    k_fake=k_fake):
        out_real, stats = apply_train(d, params, d.batch_stats, x_real, k_real)
        out_fake, stats = apply_train(d, params, stats, x_fake, k_fake)
        loss, metrics, inputs = self.discriminator_loss(x_real, out_real, x_fake, out_fake,
                                                        controller)
        penalty = self.discriminator_penalty(d, params, x_real, x_fake, k_fake, controller)
        if penalty is not None:
          loss, metrics = loss + penalty[0], {**metrics, **penalty[1]}
        return loss, (metrics, inputs, stats)

      (loss_d, (d_metrics, d_inputs, d_stats)), d_grads = jax.value_and_grad(
          d_loss_fn, has_aux=True)(d.params)
      updated = d.apply_gradients(grads=d_grads).replace(batch_stats=d_stats)
      d_active = self.discriminator_active(controller)
      d = updated if d_active is None else jax.tree.map(
          lambda new, old: jnp.where(d_active, new, old), updated, d)

    # Generator update: differentiate the loss with respect to the fake images only (D's own
    # parameter gradients would be thrown away), then pull back through G's saved forward.
    d_judge = state.d if settings.simultaneous_updates else d

    def g_loss_fn(x_fake):
      x_fake = pack(x_fake)
      out_fake, _ = apply_train(d_judge, d_judge.params, d_judge.batch_stats, x_fake, k_g)
      loss, metrics, inputs = self.generator_loss(x_fake, out_fake, controller)
      return loss, (metrics, inputs)

    (loss_g, (g_metrics, g_inputs)), d_fake = jax.value_and_grad(g_loss_fn, has_aux=True)(fake)
    (g_grads,) = g_pullback(d_fake)
    # An idle generator (MAGAN's auto-encoder pre-training) keeps its whole state.
    g_active = self.generator_active(controller)
    g = jax.tree.map(lambda new, old: jnp.where(g_active, new, old),
                     g.apply_gradients(grads=g_grads), state.g)
    for j in range(1, settings.g_steps):
      g_before = g

      def g_again(params, g=g):
        x_fake, stats = apply_train(g, params, g.batch_stats, z, jax.random.fold_in(k_z, j))
        loss, aux = g_loss_fn(x_fake)
        return loss, (aux, stats)

      (loss_g, ((g_metrics, g_inputs), g_stats)), g_grads = jax.value_and_grad(
          g_again, has_aux=True)(g.params)
      g = jax.tree.map(lambda new, old: jnp.where(g_active, new, old),
                       g.apply_gradients(grads=g_grads).replace(batch_stats=g_stats), g_before)
    controller, controller_metrics = self.update_controller(controller, d_inputs, g_inputs)
    metrics = {**d_metrics, **g_metrics, **controller_metrics}
    # This step's fakes (of the last discriminator update) join the buffer.
    replay = replay_push(state.replay, fake_const) if state.replay else None
    return Update(g, d, controller, metrics, loss_d, loss_g, d_grads, g_grads, replay)
