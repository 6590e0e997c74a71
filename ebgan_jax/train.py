"""The one training step and the one runner, shared by every algorithm.

``train_step(state, batch) -> (state, metrics)`` runs ``d_steps`` discriminator updates with
``G(z)`` held constant, then one generator update through the just-updated discriminator.
All randomness in a step comes from ``fold_in(state.key, state.step)``, so a run draws the same
numbers however it was interrupted and resumed.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import json
import os
import signal
import threading
import time
import warnings
from typing import Any, Callable, Sequence

import flax
import flax.linen as nn
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax
from flax.training import train_state
from tqdm import tqdm

from ebgan_jax import (algorithms, checkpoint, configs, data, eval as evaluation, losses, models,
                       outputs, parallel)

Array = jax.Array
Metrics = dict[str, Array]

# fold_in constants for the streams that are not per-step.
_INIT_STREAM, _SAMPLE_STREAM = 0x1217, 0x5A3F


class ModelState(train_state.TrainState):
  """A network's parameters, optimizer and BatchNorm statistics (``{}`` when it has none)."""
  batch_stats: Any = None


@flax.struct.dataclass
class GANState:
  step: Array  # int32 scalar
  key: Array  # the run's base PRNG key (raw uint32[2])
  g: ModelState
  d: ModelState
  controller: dict[str, Array]  # algorithm state: margins, weights, BEGAN's k_t, ...
  guard: dict[str, Array]  # the divergence guard: skipped updates, first non-finite step


# What the divergence guard checks, in order; ``guard["bad_what"]`` is 1 + the index.
GUARDED = ("discriminator loss", "generator loss", "discriminator gradient",
           "generator gradient", "discriminator parameters", "generator parameters")


def _initial_guard() -> dict[str, Array]:
  return {"skipped": jnp.zeros((), jnp.int32), "bad_step": jnp.full((), -1, jnp.int32),
          "bad_what": jnp.zeros((), jnp.int32), "consecutive": jnp.zeros((), jnp.int32)}


def make_optimizer(opt_cfg: ml_collections.ConfigDict, learning_rate: float):
  # inject_hyperparams keeps the learning rate in the optimizer state: it is checkpointed
  # and can differ between members of a vmapped sweep.
  if opt_cfg.name == "adam":
    tx = optax.inject_hyperparams(optax.adam)(learning_rate=learning_rate, b1=opt_cfg.b1,
                                              b2=opt_cfg.b2)
  else:
    tx = optax.inject_hyperparams(optax.sgd)(learning_rate=learning_rate)
  return standard_promotion(tx)


def standard_promotion(tx: optax.GradientTransformation) -> optax.GradientTransformation:
  """``tx`` with its update run under JAX's standard dtype promotion: optax's Adam mixes its
  int32 step count with float32 (the bias correction), which strict promotion refuses. The
  state is ``tx``'s own, unchanged."""
  def update(updates, state, params=None):
    with jax.numpy_dtype_promotion("standard"):
      return tx.update(updates, state, params)
  return optax.GradientTransformation(tx.init, update)


def sample_latent(key: Array, n: int, dim: int, dist: str) -> Array:
  if dist == "normal":
    return jax.random.normal(key, (n, dim))
  return jax.random.uniform(key, (n, dim), minval=-1.0, maxval=1.0)


def build_models(config: ml_collections.ConfigDict,
                 data_shape: tuple[int, ...]) -> tuple[nn.Module, nn.Module]:
  """The generator and the discriminator (or encoder) that the config's algorithm needs."""
  algorithm = algorithms.make_algorithm(config)
  return models.make_models(config.model, data_shape, algorithm.discriminator, config.latent_dim,
                            pack=config.pack)


def create_state(config: ml_collections.ConfigDict, generator: nn.Module,
                 discriminator: nn.Module, data_shape: tuple[int, ...]) -> GANState:
  key = jax.random.PRNGKey(config.seed)
  k_g, k_d = jax.random.split(jax.random.fold_in(key, _INIT_STREAM))
  g_vars = generator.init(k_g, jnp.zeros((2, config.latent_dim)), train=False)
  d_vars = discriminator.init(k_d, jnp.zeros((2,) + models.packed_shape(data_shape, config.pack)),
                              train=False)

  def model_state(module, variables, lr):
    return ModelState.create(apply_fn=module.apply, params=variables["params"],
                             tx=make_optimizer(config.optimizer, lr),
                             batch_stats=variables.get("batch_stats", {}))

  return GANState(step=jnp.zeros((), jnp.int32), key=key,
                  g=model_state(generator, g_vars, config.optimizer.lr_g),
                  d=model_state(discriminator, d_vars, config.optimizer.lr_d),
                  controller=algorithms.make_algorithm(config).init_controller(config),
                  guard=_initial_guard())


def stack_states(states: Sequence[GANState]) -> GANState:
  """Members that differ in values only, stacked on a leading axis under one structure."""
  leaves = [jax.tree.leaves(st) for st in states]
  return jax.tree.unflatten(jax.tree.structure(states[0]), [jnp.stack(xs) for xs in zip(*leaves)])


def _apply_train(state: ModelState, params, batch_stats, x, key):
  out, mutated = state.apply_fn({"params": params, "batch_stats": batch_stats}, x, train=True,
                                mutable=["batch_stats"], rngs={"dropout": key})
  return out, mutated.get("batch_stats", {})


def make_train_step(config: ml_collections.ConfigDict, algorithm: Any = None,
                    shard_batch: Callable[[Array], Array] = lambda x: x,
                    ) -> Callable[[GANState, Array], tuple[GANState, Metrics]]:
  """The pure step for ``config`` (and ``algorithm``, by default the config's); jit it, e.g.
  ``jax.jit(step, donate_argnums=0)``, or use :func:`make_parallel_step`.

  ``shard_batch`` places the latent batch like the data batch, so that the generator's work
  is split over the devices too (the noise itself does not depend on the placement).
  """
  algorithm = algorithm or algorithms.make_algorithm(config)
  d_steps, latent_dim, latent_dist = config.d_steps, config.latent_dim, config.latent_dist
  freeze_after_first = config.on_nonfinite == "stop"
  # The discriminator sees packed examples (PacGAN): ``pack`` consecutive samples as one.
  pack = lambda x: models.pack_examples(x, config.pack)
  simultaneous = config.simultaneous_updates

  def train_step(state: GANState, batch: Array) -> tuple[GANState, Metrics]:
    if batch.shape[0] % d_steps:
      raise ValueError(f"batch of {batch.shape[0]} does not split into d_steps={d_steps}.")
    b = batch.shape[0] // d_steps
    real = batch.reshape((d_steps, b) + batch.shape[1:])
    key = jax.random.fold_in(state.key, state.step)
    g, d, controller = state.g, state.d, state.controller

    # Discriminator updates; G(z) is a constant here.
    for i in range(d_steps):
      k_z, k_real, k_fake, k_g = jax.random.split(jax.random.fold_in(key, i), 4)
      z = shard_batch(sample_latent(k_z, b, latent_dim, latent_dist))
      generate = lambda p: _apply_train(g, p, g.batch_stats, z, k_z)
      if i == d_steps - 1:
        # The generator update below uses this same forward pass: keep its pullback.
        fake, g_pullback, g_stats = jax.vjp(generate, g.params, has_aux=True)
      else:
        fake, g_stats = generate(g.params)
      g = g.replace(batch_stats=g_stats)
      fake_const = jax.lax.stop_gradient(fake)

      def d_loss_fn(params, d=d, x_real=pack(real[i]), x_fake=pack(fake_const), k_real=k_real,
                    k_fake=k_fake):
        out_real, stats = _apply_train(d, params, d.batch_stats, x_real, k_real)
        out_fake, stats = _apply_train(d, params, stats, x_fake, k_fake)
        loss, metrics = algorithm.discriminator_loss(x_real, out_real, x_fake, out_fake,
                                                     controller)
        return loss, (metrics, stats)

      (loss_d, (d_metrics, d_stats)), d_grads = jax.value_and_grad(d_loss_fn, has_aux=True)(
          d.params)
      d = d.apply_gradients(grads=d_grads).replace(batch_stats=d_stats)

    # Generator update: differentiate the loss with respect to the fake images only (D's own
    # parameter gradients would be thrown away), then pull back through G's saved forward.
    # Simultaneous updates (PacGAN's code) judge the fakes with D as it was before its update.
    d_judge = state.d if simultaneous else d

    def g_loss_fn(x_fake):
      x_fake = pack(x_fake)
      out_fake, _ = _apply_train(d_judge, d_judge.params, d_judge.batch_stats, x_fake, k_g)
      return algorithm.generator_loss(x_fake, out_fake, controller)

    (loss_g, g_metrics), d_fake = jax.value_and_grad(g_loss_fn, has_aux=True)(fake)
    (g_grads,) = g_pullback(d_fake)
    # An idle generator (MAGAN's auto-encoder pre-training) keeps its whole state.
    g_active = algorithm.generator_active(controller)
    g = jax.tree.map(lambda new, old: jnp.where(g_active, new, old),
                     g.apply_gradients(grads=g_grads), state.g)

    grad_norm_d, grad_norm_g = optax.global_norm(d_grads), optax.global_norm(g_grads)
    metrics = {**d_metrics, **g_metrics, "grad_norm_d": grad_norm_d, "grad_norm_g": grad_norm_g}
    controller, controller_metrics = algorithm.update_controller(controller, metrics)
    metrics.update(controller_metrics)
    return _guarded_update(state, g, d, controller, metrics,
                           (loss_d, loss_g, grad_norm_d, grad_norm_g))

  def _guarded_update(state, g, d, controller, metrics, values):
    # Divergence guard: a non-finite loss, gradient or parameter leaves the state as it was.
    # With on_nonfinite="stop" the state stays frozen from then on and the runner stops at its
    # next check; with "skip" training goes on and the skipped updates are counted.
    finite = jnp.stack([jnp.isfinite(v) for v in (
        *values, optax.global_norm(d.params), optax.global_norm(g.params))])
    guard = state.guard
    first_bad = (guard["bad_step"] < 0) & ~jnp.all(finite)
    ok = jnp.all(finite) & ((guard["bad_step"] < 0) if freeze_after_first else True)
    keep = lambda new, old: jax.tree.map(lambda a, b: jnp.where(ok, a, b), new, old)
    guard = {"skipped": guard["skipped"] + (~ok).astype(jnp.int32),
             "bad_step": jnp.where(first_bad, state.step, guard["bad_step"]),
             "bad_what": jnp.where(first_bad, jnp.argmin(finite) + 1, guard["bad_what"]),
             "consecutive": jnp.where(ok, 0, guard["consecutive"] + 1)}
    metrics = {k: v for k, v in metrics.items() if k != "batch"}
    metrics["skipped_steps"] = guard["skipped"]
    new_state = state.replace(step=state.step + 1, g=keep(g, state.g), d=keep(d, state.d),
                              controller=keep(controller, state.controller), guard=guard)
    return new_state, metrics

  def joint_step(state: GANState, batch: Array) -> tuple[GANState, Metrics]:
    """The VAE: encoder (``d``) and decoder (``g``) updated together on ``-ELBO``."""
    key = jax.random.fold_in(state.key, state.step)
    k_eps, k_enc, k_dec = jax.random.split(key, 3)
    x = algorithm.target(batch)
    n_samples = algorithm.num_samples

    def loss_fn(g_params, d_params):
      (mean, log_var), d_stats = _apply_train(state.d, d_params, state.d.batch_stats, batch, k_enc)
      eps = jax.random.normal(k_eps, (n_samples,) + mean.shape)
      z = mean[None] + jnp.exp(0.5 * log_var)[None] * eps  # the reparameterisation trick
      decoded, g_stats = _apply_train(state.g, g_params, state.g.batch_stats,
                                      shard_batch(z.reshape((-1,) + mean.shape[1:])), k_dec)
      decoded = decoded.reshape((n_samples,) + x.shape)
      log_px_z = jax.vmap(algorithm.log_likelihood, in_axes=(None, 0))(x, decoded)
      bound = jnp.mean(losses.elbo(log_px_z, mean, log_var, z, estimator=algorithm.estimator))
      kl = jnp.mean(losses.gaussian_kl(mean, log_var))
      return -bound, ({"elbo": bound, "kl": kl, "loss_d": -bound, "loss_g": -bound},
                      g_stats, d_stats)

    (loss, (metrics, g_stats, d_stats)), (g_grads, d_grads) = jax.value_and_grad(
        loss_fn, argnums=(0, 1), has_aux=True)(state.g.params, state.d.params)
    g = state.g.apply_gradients(grads=g_grads).replace(batch_stats=g_stats)
    d = state.d.apply_gradients(grads=d_grads).replace(batch_stats=d_stats)
    grad_norm_d, grad_norm_g = optax.global_norm(d_grads), optax.global_norm(g_grads)
    metrics.update(grad_norm_d=grad_norm_d, grad_norm_g=grad_norm_g)
    return _guarded_update(state, g, d, state.controller, metrics,
                           (loss, loss, grad_norm_d, grad_norm_g))

  if algorithm.joint:
    return joint_step
  return train_step


def make_multi_step(config: ml_collections.ConfigDict, algorithm: Any = None,
                    shard_batch: Callable[[Array], Array] = lambda x: x):
  """``steps_per_dispatch`` steps in one call, over batches stacked on a leading axis.

  The scan is fully unrolled: rolled loops around convolution gradients are ~100x slower on
  XLA:CPU (jax-ml/jax#12868). Metrics are those of the last step.
  """
  step = make_train_step(config, algorithm, shard_batch)
  k = config.steps_per_dispatch
  if k == 1:
    return lambda state, batches: step(state, batches[0])

  def multi(state, batches):
    state, metrics = jax.lax.scan(step, state, batches, unroll=k)
    return state, jax.tree.map(lambda m: m[-1], metrics)
  return multi


def make_parallel_step(config: ml_collections.ConfigDict, mesh: jax.sharding.Mesh,
                       algorithm: Any = None, population: bool = False):
  """The jitted data-parallel step: batches ``[steps_per_dispatch, B, ...]`` sharded over the
  mesh's ``data`` axis, the state replicated and donated.

  With ``population=True`` the state has a leading member axis and the batches are
  ``[members, steps_per_dispatch, B, ...]``: one ``vmap``-ed program trains every member of a
  sweep, each with its own margin, weights, learning rates and key (all traced values).
  """
  rep = parallel.replicated(mesh)
  shard = lambda x: jax.lax.with_sharding_constraint(x, parallel.batch_sharding(mesh))
  step = make_multi_step(config, algorithm, shard)
  if population:
    step = jax.vmap(step)
  batches = parallel.batch_sharding(mesh, 2 if population else 1)
  return jax.jit(step, in_shardings=(rep, batches), out_shardings=(rep, rep),
                 donate_argnums=0)


def make_sampler(generator: nn.Module, population: bool = False, algorithm: Any = None):
  """Jitted ``(g_params, g_batch_stats, z) -> samples`` in data space; vmapped over members
  if asked."""
  display = getattr(algorithm, "to_display", lambda x: x)

  def sample(g_params, g_batch_stats, z):
    return display(generator.apply({"params": g_params, "batch_stats": g_batch_stats}, z,
                                   train=False))
  return jax.jit(jax.vmap(sample, in_axes=(0, 0, None)) if population else sample)


def make_energy_fn(discriminator: nn.Module, algorithm: Any, population: bool = False,
                   pack: int = 1):
  """Jitted ``(d_params, d_batch_stats, x) -> [B]``, the discriminator's energy as the 2-D
  plots show it; vmapped over members if asked. A packed discriminator is shown the energy of
  ``pack`` copies of each point."""
  def energy(d_params, d_batch_stats, x):
    x = models.pack_examples(jnp.repeat(x, pack, axis=0), pack)
    out = discriminator.apply({"params": d_params, "batch_stats": d_batch_stats}, x, train=False)
    return algorithm.energy(x, out)
  return jax.jit(jax.vmap(energy, in_axes=(0, 0, None)) if population else energy)


def sample_noise(config: ml_collections.ConfigDict, n: int) -> Array:
  """The fixed noise of the sample grids, the same at every step of a run."""
  key = jax.random.fold_in(jax.random.PRNGKey(config.seed), _SAMPLE_STREAM)
  return sample_latent(key, n, config.latent_dim, config.latent_dist)


# ----------------------------------------------------------------------------------------------
# The runner
# ----------------------------------------------------------------------------------------------

class TrainingStopped(RuntimeError):
  """Training stopped on purpose: a non-finite value under ``on_nonfinite="stop"``."""


def _prepare_workdir(workdir: str) -> None:
  try:
    os.makedirs(workdir, exist_ok=True)
    probe = os.path.join(workdir, f".write_test_{os.getpid()}")  # one per process
    with open(probe, "w"):
      pass
    os.remove(probe)
  except OSError as e:
    raise ValueError(f"workdir {workdir!r} cannot be written ({e.strerror}); "
                     "pass a writable --workdir.") from None


def _check_devices(config: ml_collections.ConfigDict) -> None:
  n = jax.device_count()
  if config.batch_size * config.pack % n:
    raise ValueError(f"config.batch_size={config.batch_size} does not divide over {n} devices; "
                     f"use a multiple of {n}, e.g. --config.batch_size={n * max(1, config.batch_size // n)}.")


def _write_samples(config, workdir, tag, sampler, energy_fn, state, dataset,
                   is_writer: bool = True, labels: Sequence[str] | None = None
                   ) -> list[dict[str, float]]:
  """Writes the sample picture(s) for ``tag``; returns per-member metrics measured on them.

  Every process computes (the programs are SPMD), only the writer writes. With ``labels`` the
  state is a population: one vmapped call samples every member, one row per member.
  """
  mixture = dataset.mixture if isinstance(dataset, data.MixtureDataset) else None
  z = sample_noise(config, 2500 if mixture else config.num_samples)
  samples = np.asarray(sampler(state.g.params, state.g.batch_stats, z))
  members = [samples] if labels is None else list(samples)
  path = os.path.join(workdir, f"samples_{tag}.png")
  if mixture is None:
    if is_writer:
      if labels is None:
        outputs.save_image_grid(path, samples)
      else:
        outputs.save_labelled_rows(path, [m[:16] for m in members], labels)
    return [{} for _ in members]
  lim = float(np.abs(mixture.modes).max()) * 1.5 + 0.5
  axis = np.linspace(-lim, lim, 120, dtype=np.float32)
  grid = np.stack(np.meshgrid(axis, axis), -1).reshape(-1, 2)
  energy = np.asarray(energy_fn(state.d.params, state.d.batch_stats, grid))
  energies = [energy] if labels is None else list(energy)
  # The titles need modes and quality only; evaluate_samples measures the rest.
  stats = [evaluation.mixture_mode_stats(m, mixture.modes, mixture.std) for m in members]
  titles = [f"{config.name if labels is None else labels[i]} {tag}: "
            f"{st['modes_covered']}/{len(mixture.modes)} modes, {100 * st['high_quality']:.0f}% HQ"
            for i, st in enumerate(stats)]
  if is_writer:
    outputs.save_mixture_plots(path, members, mixture.modes,
                               [e.reshape(120, 120) for e in energies], (-lim, lim, -lim, lim),
                               titles)
  return stats


def evaluate_samples(config, sampler, state, dataset, population: bool, progress: bool = True
                     ) -> list[dict[str, float]]:
  """The evaluation metrics of the dataset's protocol, per member: modes, quality and
  precision/recall of the 2-D mixtures (on the 2,500 samples of the plots), classifier scores
  for digits, modes of stacked digits, FID/KID for TFDS images when Inception weights are
  given."""
  if isinstance(dataset, data.MixtureDataset):
    z = sample_noise(config, 2500)  # the fixed noise of the plots: the samples they show
    samples = np.asarray(sampler(state.g.params, state.g.batch_stats, z))
    return [evaluation.mixture_scores(m, dataset.mixture)
            for m in (list(samples) if population else [samples])]
  extractor = None
  if dataset.name in evaluation.INCEPTION_DATASETS:
    extractor = evaluation.inception_extractor(config.get("inception_weights"))
    if extractor is None:
      return []
  elif dataset.name not in ("digits", "stacked_digits"):
    return []
  n = 26000 if dataset.name == "stacked_digits" else config.eval_samples
  z = jax.random.fold_in(jax.random.PRNGKey(config.seed), _SAMPLE_STREAM + 2)
  z = sample_latent(z, n, config.latent_dim, config.latent_dist)
  # In chunks: thousands of 64x64 samples at once would hold gigabytes of activations.
  chunks = [sampler(state.g.params, state.g.batch_stats, z[i:i + 1000]) for i in range(0, n, 1000)]
  samples = np.concatenate([np.asarray(c) for c in chunks], axis=1 if population else 0)
  members = list(samples) if population else [samples]
  if extractor is not None:
    real = evaluation.real_inception_features(dataset, n, extractor, progress=progress)
    return [evaluation.fid_kid(real, extractor.features(m, progress=progress, desc="FID samples"))
            for m in members]
  if dataset.name == "stacked_digits":
    return [evaluation.stacked_mode_stats(m) for m in members]
  return [evaluation.digit_scores(m) for m in members]


def _check_guard(state: GANState, config: ml_collections.ConfigDict,
                 ckpt: checkpoint.Checkpointer, labels: Sequence[str] | None = None,
                 reported: set[int] | None = None, skips_seen: list[int] | None = None) -> None:
  """Raises :class:`TrainingStopped` when the step found a non-finite value (one host sync).

  In a sweep (``labels`` given, one per member) a diverged member stays frozen at its last
  finite state while the others go on; it is reported once instead. Under
  ``on_nonfinite="skip"``, warns when updates were skipped since the last check
  (``skips_seen`` holds the counts already reported), and stops a run (or a sweep whose members
  all are) in which no update was applied for ``max_consecutive_skips`` steps.
  """
  if config.on_nonfinite != "stop":
    _check_skips(state, config, ckpt, labels, skips_seen)
    return
  bad_step, bad_what = (np.atleast_1d(v) for v in jax.device_get(
      (state.guard["bad_step"], state.guard["bad_what"])))
  for i in np.flatnonzero(bad_step >= 0):
    what = f"non-finite {GUARDED[int(bad_what[i]) - 1]} at step {int(bad_step[i])}"
    if labels is not None:
      if i not in reported:
        reported.add(i)
        warnings.warn(f"sweep member {labels[i]}: {what}; it is frozen at its last finite "
                      "state, the other members go on.", stacklevel=2)
      continue
    ckpt.wait()
    last = ckpt.steps()
    kept = f"the last good checkpoint (step {last[-1]}) is intact" if last else "no checkpoint was written"
    raise TrainingStopped(f"{what}; {kept}. Lower the learning rate, or pass "
                          "--config.on_nonfinite=skip to skip such updates.")


def _check_skips(state, config, ckpt, labels, skips_seen) -> None:
  skipped, consecutive, step = (np.atleast_1d(v) for v in jax.device_get(
      (state.guard["skipped"], state.guard["consecutive"], state.step)))
  names = labels or [config.name]
  for i, name in enumerate(names):
    if skips_seen is not None and skipped[i] > skips_seen[i]:
      warnings.warn(f"{'sweep member ' if labels else ''}{name}: {int(skipped[i])} of "
                    f"{int(step[i])} updates skipped so far (non-finite values, "
                    "on_nonfinite=skip).", stacklevel=3)
      skips_seen[i] = int(skipped[i])
  if np.all(consecutive >= config.max_consecutive_skips):
    ckpt.wait()
    last = ckpt.steps()
    kept = f"the last checkpoint is step {last[-1]}" if last else "no checkpoint was written"
    raise TrainingStopped(
        f"no update was applied in the last {int(consecutive.min())} steps (every one had a "
        f"non-finite value; limit config.max_consecutive_skips={config.max_consecutive_skips}); "
        f"{kept}. Lower the learning rate.")


class _StopSignals:
  """Turns SIGTERM/SIGINT (a preemption, Ctrl-C) into a flag the loop checks between steps."""

  def __init__(self):
    self.received: int | None = None
    self._previous = {}

  def __enter__(self):
    if threading.current_thread() is threading.main_thread():
      for sig in (signal.SIGTERM, signal.SIGINT):
        self._previous[sig] = signal.signal(sig, self._handle)
    return self

  def _handle(self, signum, frame):
    self.received = signum

  def __exit__(self, *exc):
    for sig, handler in self._previous.items():
      signal.signal(sig, handler)


def _networks(state: GANState) -> dict[str, ModelState]:
  """What must be finite in a restored state: parameters, optimizer moments and BatchNorm
  statistics. Controller values may be infinite by design (MAGAN's ``S_G`` starts at +inf)."""
  return {"g": state.g, "d": state.d}


def _read_config_json(workdir: str) -> dict | None:
  """``<workdir>/config.json`` as a dict; None when it is missing or cannot be parsed."""
  try:
    with open(os.path.join(workdir, "config.json")) as f:
      return json.load(f)
  except (FileNotFoundError, json.JSONDecodeError, UnicodeDecodeError):
    return None


def _config_before(workdir: str, meta: dict) -> dict:
  """The config a run was started with: from its checkpoint's record, else its config.json."""
  if "config" in meta:
    return meta["config"]
  before = _read_config_json(workdir)
  if before is None:
    raise ValueError(f"{os.path.join(workdir, 'config.json')} is missing or not valid JSON, and "
                     "the checkpoint predates the config record; restore the file or use a new "
                     "--workdir.")
  return before


def _check_resume(workdir: str, config: ml_collections.ConfigDict, meta: dict,
                  labels: Sequence[str] | None) -> dict:
  """Refuses a resume that would silently be another run; returns the config in force.

  Margins, weights and learning rates are training state: a resumed run keeps the
  checkpoint's values, with a warning when the config asks for others. A sweep must be resumed
  with the members it was started with.
  """
  before = _config_before(workdir, meta)
  if labels is not None and meta.get("members") != list(labels):
    raise ValueError(f"resuming: the sweep in {workdir} has members {meta.get('members')}, not "
                     f"{list(labels)}; use a new --workdir for other values (or resume with "
                     "the same --sweep).")
  for key in configs.resume_check(before, config):
    old, new = configs.get_key(ml_collections.ConfigDict(before), key), configs.get_key(config, key)
    warnings.warn(f"resuming: {key} was {old:g} when the run started and is {new:g} in the "
                  "config; the checkpoint's value is kept (use a new --workdir to start over).",
                  stacklevel=3)
  return configs.in_force(before, config)


def _evaluate_vae(config, algorithm, generator, discriminator, state, dataset) -> dict[str, float]:
  """The importance-weighted log-likelihood of the first ``vae.eval_examples`` training
  examples with ``vae.eval_importance_samples`` samples each."""
  n = min(config.vae.eval_examples, getattr(dataset, "num_examples", config.vae.eval_examples))
  x = np.asarray(algorithm.target(dataset.examples(np.arange(n))))
  g_vars = {"params": state.g.params, "batch_stats": state.g.batch_stats}
  d_vars = {"params": state.d.params, "batch_stats": state.d.batch_stats}
  result = evaluation.vae_log_likelihood(
      lambda xb: discriminator.apply(d_vars, algorithm.to_data(xb), train=False),
      lambda z: generator.apply(g_vars, z, train=False), algorithm.log_likelihood, x,
      num_samples=config.vae.eval_importance_samples,
      key=jax.random.fold_in(jax.random.PRNGKey(config.seed), _SAMPLE_STREAM + 1))
  return {"train_" + k: v for k, v in result.items()}


def train_and_evaluate(config: ml_collections.ConfigDict, workdir: str, progress: bool = True,
                       members: Sequence[ml_collections.ConfigDict] | None = None,
                       labels: Sequence[str] | None = None) -> dict[str, Any]:
  """Trains ``config`` in ``workdir``, resuming from its latest checkpoint if there is one.

  With ``members`` (configs that differ from ``config`` only in traced values: seed, margin,
  PT weight, learning rates; see :mod:`ebgan_jax.sweep`), trains all of them at once in one
  vmapped program; ``labels`` name them in the outputs.

  Returns the summary that is also written to ``summary.json``. Raises ``ValueError`` for bad
  input (before anything in ``workdir`` is overwritten) and :class:`TrainingStopped` when the
  divergence guard stops the run.
  """
  population = members is not None
  members = list(members) if population else [config]
  labels = list(labels) if labels is not None else [str(i) for i in range(len(members))]
  for m in members:
    configs.validate(m)
  _check_devices(config)
  _prepare_workdir(workdir)
  global_batch_size = config.batch_size * config.pack * config.d_steps
  datasets = {}
  for m in members:  # one data stream per seed, as each member would read alone
    if m.seed not in datasets:
      datasets[m.seed] = data.make_dataset(m.data, batch_size=global_batch_size, seed=m.seed)
  dataset = datasets[config.seed] if config.seed in datasets else datasets[members[0].seed]
  generator, discriminator = build_models(config, dataset.shape)
  algorithm = algorithms.make_algorithm(config)
  mesh = parallel.make_mesh()
  states = [create_state(m, generator, discriminator, dataset.shape) for m in members]
  state = stack_states(states) if population else states[0]
  state = parallel.replicate(state, mesh)
  is_writer = jax.process_index() == 0  # only process 0 writes metrics, samples and plots

  # Inception weights are read now: a bad file must not surface after all the training.
  if dataset.name in evaluation.INCEPTION_DATASETS:
    evaluation.inception_extractor(config.get("inception_weights"))

  ckpt = checkpoint.Checkpointer(workdir, keep=config.keep_checkpoints,
                                 async_save=config.async_checkpoints)
  try:
    restored = ckpt.restore_latest(state, experiment=config.name, finite=_networks)
    if restored is not None:
      state, start, saved_meta = restored
      settings = _check_resume(workdir, config, saved_meta, labels if population else None)
    else:
      start, settings = 0, json.loads(config.to_json_best_effort())
      _warn_on_outputs_without_checkpoint(workdir)
  except (checkpoint.IncompatibleCheckpointError, ValueError) as e:
    ckpt.close()
    raise ValueError(str(e)) from None
  meta = {"experiment": config.name, "data_shape": list(dataset.shape), "population": population,
          "members": labels, "config": settings}
  if is_writer:
    # What the run runs with: on resume, the values it started with but for the schedule.
    _write_json_atomically(os.path.join(workdir, "config.json"), settings)
    outputs.truncate_metrics(workdir, after_step=start)

  k = config.steps_per_dispatch
  step_fn = make_parallel_step(config, mesh, population=population)
  batch_axis = 2 if population else 1
  batch_sharding = parallel.batch_sharding(mesh, batch_axis)
  rows = parallel.process_slice(global_batch_size)
  sampler = make_sampler(generator, population, algorithm)
  energy_fn = make_energy_fn(discriminator, algorithm, population, config.pack)
  writer = outputs.MetricWriter(workdir) if is_writer else None

  def local_batches(step: int) -> np.ndarray:
    per_member = [np.stack([datasets[m.seed].batch(s, rows) for s in range(step, step + k)])
                  for m in members]
    return np.stack(per_member) if population else per_member[0]

  resumed = f", resuming from step {start}" if start else ""
  sweep = f", a sweep of {len(members)} members in one program" if population else ""
  print(f"{config.name}: {config.algorithm} on {dataset.name} {dataset.shape}, "
        f"model {config.model.arch}, {config.num_steps} steps of batch {config.batch_size}"
        f"{sweep}, devices: {jax.device_count()} x {jax.devices()[0].platform}, "
        f"processes: {jax.process_count()}{resumed}", flush=True)

  t_start = t_window = time.perf_counter()
  images_window, interrupted, reported = 0, None, set()
  # Until this process logs, the summary's training metrics are the last ones logged before.
  last_logged = outputs.last_training_rows(workdir, labels if population else None, start)
  skips_seen = [int(v) for v in np.atleast_1d(jax.device_get(state.guard["skipped"]))]
  guard_labels = labels if population else None
  bar = tqdm(total=config.num_steps, initial=start, disable=not (progress and is_writer),
             unit="step", dynamic_ncols=True)
  step = start
  try:
    with _StopSignals() as signals:
      while step < config.num_steps and signals.received is None:
        local = local_batches(step)
        data.check_finite(local, step, dataset.name)
        state, metrics = step_fn(state, parallel.global_batch(local, batch_sharding, batch_axis))
        step += k
        images_window += k * config.batch_size * config.pack * len(members)
        bar.update(k)
        if step % config.log_every < k or step >= config.num_steps:
          _check_guard(state, config, ckpt, guard_labels, reported, skips_seen)
          now = time.perf_counter()
          rate = images_window / max(now - t_window, 1e-9)
          t_window, images_window = now, 0
          fetched = jax.device_get(metrics)
          last_logged = [{name: float(np.asarray(v)[i] if population else v)
                          for name, v in fetched.items()} for i in range(len(members))]
          for i, row in enumerate(last_logged):
            row["images_per_sec"] = rate
            if writer:
              writer.write(step, row, member=labels[i] if population else None)
          bar.set_postfix({**{m: f"{last_logged[0][m]:.3g}" for m in algorithm.progress_metrics},
                           "img_s": f"{rate:.0f}"})
        if step % config.checkpoint_every < k or step >= config.num_steps:
          _check_guard(state, config, ckpt, guard_labels, reported, skips_seen)
          ckpt.save(step, state, meta)
        if step % config.sample_every < k and step < config.num_steps:
          _write_samples(config, workdir, f"{step:06d}", sampler, energy_fn, state, dataset,
                         is_writer, labels if population else None)
        if config.eval_every and step % config.eval_every < k and step < config.num_steps:
          scores_per_member = evaluate_samples(config, sampler, state, dataset, population,
                                               progress and is_writer)
          for i, scores in enumerate(scores_per_member):
            if writer:
              writer.write(step, scores, member=labels[i] if population else None)
      interrupted = signals.received
      if interrupted is not None:
        _check_guard(state, config, ckpt, guard_labels, reported, skips_seen)
        ckpt.save(step, state, meta)
      ckpt.close()
  except Exception as e:  # noqa: BLE001 - only a full disk is handled; the rest re-raised
    _raise_if_disk_full(e, workdir, ckpt)
    raise
  finally:
    # Closed before any error propagates: the error must be the last line on the terminal,
    # not a progress bar redrawn after it.
    bar.close()
    if writer:
      writer.close()
  if interrupted is not None:
    print(f"stopped by {signal.Signals(interrupted).name} at step {step}; checkpoint saved in "
          f"{ckpt.directory}; rerun the same command to resume.", flush=True)
    return {"experiment": config.name, "steps": step, "interrupted": True}

  try:
    sample_stats = _write_samples(config, workdir, "final", sampler, energy_fn, state, dataset,
                                  is_writer, labels if population else None)
    for stats, scores in zip(sample_stats, evaluate_samples(config, sampler, state, dataset,
                                                           population, progress and is_writer)):
      stats.update(scores)
    if algorithm.joint and not population:
      sample_stats[0].update(_evaluate_vae(config, algorithm, generator, discriminator, state,
                                           dataset))
    per_member = [{**{k_: round(v, 5) for k_, v in row.items()}, **stats}
                  for row, stats in zip(last_logged, sample_stats)]
    summary = {"experiment": config.name, "steps": int(np.max(jax.device_get(state.step))),
               "seconds": round(time.perf_counter() - t_start, 2)}
    if population:
      summary["members"] = [{"member": label, **row} for label, row in zip(labels, per_member)]
    else:
      summary.update(per_member[0])
    if is_writer:
      logged = outputs.read_metrics(workdir)
      if logged:
        outputs.save_loss_curves(os.path.join(workdir, "loss_curves.png"), logged, config.name)
      _write_json_atomically(os.path.join(workdir, "summary.json"), summary)
  except Exception as e:  # noqa: BLE001 - only a full disk is handled; the rest re-raised
    _raise_if_disk_full(e, workdir, ckpt)
    raise
  if is_writer and not population:
    print("summary: " + json.dumps(summary), flush=True)
  return summary


class DiskFull(RuntimeError):
  """The disk holding the workdir filled up; what was saved is said in the message."""


def _raise_if_disk_full(error: BaseException, workdir: str, ckpt: checkpoint.Checkpointer
                        ) -> None:
  """Turns "no space left on device" (however deep Orbax or TensorStore wrapped it: they
  report it as a ValueError) into one :class:`DiskFull` line: where, and what is safe."""
  chain = list(checkpoint.exception_chain(error))
  if not any(getattr(e, "errno", None) == errno.ENOSPC or "No space left on device" in str(e)
             for e in chain):
    return
  with contextlib.suppress(Exception), warnings.catch_warnings():
    warnings.simplefilter("ignore")
    ckpt.close()  # let the writes in flight settle (and fail) before the process exits
  try:
    saved = ckpt.steps()
  except Exception:  # noqa: BLE001 - listing may fail on a full disk too; the message says so
    saved = []
  kept = (f"the last complete checkpoint is step {saved[-1]}; rerun the same command to resume"
          if saved else "no checkpoint was completed")
  raise DiskFull(f"the disk holding {os.path.abspath(workdir)} is full (no space left on "
                 f"device); {kept} once space is freed.") from None


def _write_json_atomically(path: str, value: Any) -> None:
  """A JSON file that is either the old one or the new one, never half of each."""
  tmp = f"{path}.tmp{os.getpid()}"
  try:
    with open(tmp, "w") as f:
      json.dump(value, f, indent=2)
    os.replace(tmp, path)
  finally:
    if os.path.exists(tmp):
      os.remove(tmp)


def _warn_on_outputs_without_checkpoint(workdir: str) -> None:
  earlier = [name for name in ("metrics.jsonl", "summary.json", "samples_final.png")
             if os.path.exists(os.path.join(workdir, name))]
  if earlier:
    warnings.warn(f"{workdir} holds outputs of an earlier run ({', '.join(earlier)}) but no "
                  "checkpoint to resume from; training starts at step 0 and replaces them (use "
                  "a new --workdir to keep them).", stacklevel=3)


# ----------------------------------------------------------------------------------------------
# Loading a trained run
# ----------------------------------------------------------------------------------------------

@dataclasses.dataclass
class TrainedRun:
  """A run restored from its workdir: ``run.sample(64)`` draws images from its generator.

  For a sweep, ``members`` names the members, the state has a leading member axis, and
  ``sample`` returns ``[members, n, ...]``.
  """
  config: ml_collections.ConfigDict
  generator: nn.Module
  discriminator: nn.Module
  state: GANState
  members: list[str] | None = None

  @property
  def step(self) -> int:
    return int(np.max(jax.device_get(self.state.step)))

  def sample(self, n: int, seed: int = 0) -> np.ndarray:
    z = sample_latent(jax.random.PRNGKey(seed), n, self.config.latent_dim, self.config.latent_dist)
    sampler = make_sampler(self.generator, self.members is not None,
                           algorithms.make_algorithm(self.config))
    return np.asarray(sampler(self.state.g.params, self.state.g.batch_stats, z))


def load(workdir: str) -> TrainedRun:
  """Restores the newest finished checkpoint of the run in ``workdir``.

  Read-only: it never deletes, moves or cleans anything, so it is safe on a run that is still
  training (a checkpoint removed by the trainer while being read is skipped for the next one).
  """
  ckpt = checkpoint.Checkpointer(workdir, read_only=True)
  try:
    latest = ckpt.latest_meta()
    if latest is None:
      if not os.path.exists(os.path.join(workdir, "config.json")):
        raise ValueError(f"{workdir!r} holds no run (no config.json); pass the --workdir of a "
                         "training run.")
      raise ValueError(f"{workdir!r} holds no checkpoint yet; train first (make train).")
    _, meta = latest
    # config.json first (a user may edit its evaluation settings), the checkpoint's own
    # record when the file is missing or damaged.
    settings = _read_config_json(workdir) or meta.get("config")
    if settings is None:
      raise ValueError(f"{os.path.join(workdir, 'config.json')} is missing or not valid JSON and "
                       "the checkpoint predates the config record; restore the file.")
    config = configs.from_saved(settings)
    data_shape = tuple(meta["data_shape"])
    generator, discriminator = build_models(config, data_shape)
    template = create_state(config, generator, discriminator, data_shape)
    members = meta["members"] if meta.get("population") else None
    if members is not None:
      template = stack_states([template] * len(members))
    restored = ckpt.restore_latest(template, experiment=config.name, finite=_networks)
  finally:
    ckpt.close()
  if restored is None:
    raise ValueError(f"no checkpoint in {workdir!r} could be read.")
  return TrainedRun(config, generator, discriminator, restored[0], members)
