"""A trained run, restored from its workdir: ``ebgan_jax.load(workdir).sample(64)``."""

from __future__ import annotations

import dataclasses
import os

import flax.linen as nn
import jax
import ml_collections
import numpy as np

from ebgan_jax import algorithms, checkpoint, configs, rundir
from ebgan_jax.pictures import make_sampler
from ebgan_jax.state import GANState, ModelState, sample_latent, stack_states
from ebgan_jax.step import build_models, create_state


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

  def sampler(self):
    """Jitted ``(g_params, g_batch_stats, z) -> samples`` for this run's state."""
    return make_sampler(self.generator, algorithms.make_algorithm(self.config),
                        None if self.members is None else len(self.members))

  def sample(self, n: int, seed: int = 0) -> np.ndarray:
    z = sample_latent(jax.random.PRNGKey(seed), n, self.config.latent_dim, self.config.latent_dist)
    return np.asarray(self.sampler()(self.state.g.params, self.state.g.batch_stats, z))


def networks(state: GANState) -> dict[str, ModelState]:
  """What must be finite in a restored state: parameters, optimizer moments and BatchNorm
  statistics. Controller values may be infinite by design (MAGAN's ``S_G`` starts at +inf)."""
  return {"g": state.g, "d": state.d}


def load(workdir: str) -> TrainedRun:
  """Restores the newest finished checkpoint of the run in ``workdir``.

  Read-only: it never deletes, moves or cleans anything, so it is safe on a run that is still
  training (a checkpoint removed by the trainer while being read is skipped for the next one).
  """
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
