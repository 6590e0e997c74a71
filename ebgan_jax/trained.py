"""A trained run, restored from its workdir: ``ebgan_jax.load(workdir).sample(64)``."""

from __future__ import annotations

import dataclasses
import os
from typing import Any

import flax.linen as nn
import jax
import ml_collections
import numpy as np

from ebgan_jax import algorithms, checkpoint, configs, parallel, rundir
from ebgan_jax.pictures import make_sampler
from ebgan_jax.state import GANState, ModelState, sample_latent, stack_states
from ebgan_jax.step import build_models, create_state, member_layout


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
  # super_resolve's jitted ``(g_vars, x) -> y``, built on its first call: one compilation per
  # tile shape for the run, not one per image.
  _resolver: Any = dataclasses.field(default=None, init=False, repr=False, compare=False)

  @property
  def step(self) -> int:
    return int(np.max(jax.device_get(self.state.step)))

  def sampler(self):
    """``(state, z) -> samples`` (jitted) for this run's state."""
    return make_sampler(self.generator, algorithms.make_algorithm(self.config),
                        None if self.members is None else len(self.members), self.discriminator,
                        member_layout(self.config))

  def sample(self, n: int, seed: int = 0) -> np.ndarray:
    """``n`` samples (``[members, n, ...]`` for a sweep) from latents drawn with ``seed``.

    More than :data:`SAMPLE_CHUNK` are generated that many at a time (the networks' activations
    for all of them at once could exceed the memory the samples need). Raises a one-line
    ``ValueError`` when ``n`` samples could not fit in this host's memory."""
    check_sample_count(self, n)
    z = sample_latent(jax.random.PRNGKey(seed), n, self.config.latent_dim, self.config.latent_dist)
    sampler = self.sampler()
    draw = lambda zs: np.asarray(sampler(self.state, zs))
    if n <= SAMPLE_CHUNK:
      return draw(z)
    return np.concatenate([draw(z[i:i + SAMPLE_CHUNK]) for i in range(0, n, SAMPLE_CHUNK)],
                          axis=0 if self.members is None else 1)

  def super_resolve(self, lr: np.ndarray, tile: int = 64, seed: int = 0) -> np.ndarray:
    """The HR image ``[s*H, s*W, 3]`` (uint8) of an LR image ``[H, W, 3]`` (uint8) of any size,
    by a super-resolution run (``algorithm="superres"``), computed in tiles of ``tile`` LR
    pixels with enough context that the tiling changes nothing inside the image. A noisy
    generator (``model.noise > 0``, the conditional EBGAN) draws one sample per ``seed``."""
    from ebgan_jax.algorithms.superres import with_noise
    from ebgan_jax.evaluators import superres as sr
    algorithm = algorithms.make_algorithm(self.config)
    if not hasattr(algorithm, "super_resolve_fn"):
      raise ValueError(f"this run trains {self.config.algorithm!r}; super-resolution needs a "
                       "run of algorithm='superres' (make train EXP=superres_x4_mse).")
    if self.members is not None:
      raise ValueError("this workdir holds a sweep; super-resolve with a single run's workdir.")
    lr = np.asarray(lr)
    if lr.ndim != 3 or lr.shape[-1] != 3:
      what = "grey-scale" if lr.ndim == 2 else f"of shape {lr.shape}"
      raise ValueError(f"the LR image is {what}; super-resolution takes RGB images [H, W, 3] "
                       "(convert it to RGB first).")
    if lr.dtype != np.uint8:
      raise ValueError(f"the LR image is {lr.dtype}; pass 8-bit RGB (uint8) values.")
    field = receptive_field(self.config)
    if min(lr.shape[:2]) < field:
      raise ValueError(f"the LR image is {lr.shape[0]}x{lr.shape[1]}, smaller than the "
                       f"network's receptive field of {field}x{field} pixels; give a larger "
                       "image.")
    if self._resolver is None:
      self._resolver = algorithm.super_resolve_fn(self.generator, self.discriminator)
    variables = algorithm.variables(self.state)
    x = with_noise(lr.astype(np.float32) / 255.0, algorithm.noise, seed)
    out = sr.tiled(lambda t: self._resolver(variables, t), x, algorithm.scale, tile=tile,
                   margin=field // 2 + 1)
    return sr.to_uint8(out)


def receptive_field(config: ml_collections.ConfigDict) -> int:
  """The side, in LR pixels, of the input window one output pixel of the super-resolution
  network depends on: its 3x3 convolutions at the LR resolution (head, two per block, the
  body's last, the first upsampling's), and at most one more LR pixel for all those after."""
  return 2 * (2 * int(config.model.blocks) + 3 + 1) + 1


# How many samples ``TrainedRun.sample`` generates at a time.
SAMPLE_CHUNK = 16384


def check_sample_count(run: TrainedRun, n: int) -> None:
  """Refuses ``n`` samples whose latents and outputs (twice: the chunks and their
  concatenation) would not fit in half of this host's memory, naming the largest ``n`` that
  does."""
  from ebgan_jax import data
  members = len(run.members) if run.members else 1
  per_sample = 4 * members * (2 * int(np.prod(data.example_shape(run.config.data)))
                              + run.config.latent_dim)
  memory = parallel.host_memory()
  if n * per_sample > memory // 2:
    most = max(1, memory // 2 // per_sample)
    raise ValueError(f"{n:,} samples would take {n * per_sample / 1e9:.1f} GB, more than half "
                     f"of this host's {memory / 1e9:.1f} GB of memory; draw at most {most:,} at "
                     "a time (N / --n), with a different --seed for each batch.")


def networks(state: GANState) -> dict[str, ModelState]:
  """What must be finite in a restored state: parameters, optimizer moments and BatchNorm
  statistics. Controller values may be infinite by design (MAGAN's ``S_G`` starts at +inf)."""
  return {"g": state.g, "d": state.d}


def _check_edits(workdir: str, meta: dict, settings: dict) -> None:
  """Refuses a ``config.json`` edited in a key that the checkpoint depends on (the networks,
  the data, the algorithm), naming the key with the file's and the checkpoint's values.
  The schedule and evaluation settings may be edited; margins, weights and learning rates are
  read from the checkpoint's state whatever the file says."""
  if "config" not in meta:
    return
  for key in configs.changed_keys(meta["config"], settings):
    if key in configs.RESUMABLE_KEYS or key in configs.state_keys():
      continue
    saved, edited = configs.flatten(meta["config"])[key], configs.flatten(settings)[key]
    raise ValueError(f"{rundir.path(workdir, rundir.CONFIG)} says {key}={edited!r}, "
                     f"but the checkpoint at step {meta.get('step')} was written with "
                     f"{key}={saved!r}; put {saved!r} back in the file (or delete the file: "
                     "the checkpoint's own record is then used).")


def load(workdir: str) -> TrainedRun:
  """Restores the newest finished checkpoint of the run in ``workdir``.

  Read-only: it never deletes, moves or cleans anything, so it is safe on a run that is still
  training (a checkpoint removed by the trainer while being read is skipped for the next one).
  """
  rundir.check_entries(workdir, writing=False)
  ckpt = checkpoint.Checkpointer(workdir, read_only=True)
  try:
    latest = ckpt.latest_meta()
    if latest is None:
      if not os.path.exists(rundir.path(workdir, rundir.CONFIG)):
        raise ValueError(f"{workdir!r} holds no run (no {rundir.CONFIG}); pass the --workdir of "
                         "a training run.")
      raise ValueError(f"{workdir!r} holds no checkpoint yet; train first (make train).")
    _, meta = latest
    # config.json first (a user may edit its evaluation settings), the checkpoint's own
    # record when the file is missing or damaged.
    settings = rundir.read_config(workdir) or meta.get("config")
    if settings is None:
      raise ValueError(f"{rundir.path(workdir, rundir.CONFIG)} is missing or not valid JSON and "
                       "the checkpoint predates the config record; restore the file.")
    _check_edits(workdir, meta, settings)
    config = configs.from_saved(settings)
    data_shape = tuple(meta["data_shape"])
    generator, discriminator = build_models(config, data_shape)
    template = create_state(config, generator, discriminator, data_shape)
    members = meta["members"] if meta.get("population") else None
    if members is not None:
      template = stack_states([template] * len(members))
    restored = ckpt.restore_latest(template, experiment=config.name, finite=networks)
  finally:
    ckpt.close()
  if restored is None:
    raise ValueError(f"no checkpoint in {workdir!r} could be read.")
  return TrainedRun(config, generator, discriminator, restored[0], members)
