"""What a run draws: sample grids from fixed noise, and for the 2-D mixtures the samples over
the discriminator's energy landscape."""

from __future__ import annotations

from typing import Any, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from ebgan_jax import data, eval as evaluation, models, outputs
from ebgan_jax.state import SAMPLE_STREAM, over_members, sample_latent

Array = jax.Array

# The grid on which the 2-D energy landscape is drawn.
_ENERGY_GRID = 120
# The 2-D mixtures are drawn and evaluated on the same 2,500 samples from fixed noise
# (PacGAN's evaluation, Lin et al. 2018, §5.1).
MIXTURE_SAMPLES = 2500


def make_sampler(generator: nn.Module, algorithm: Any, members: int | None = None):
  """Jitted ``(g_params, g_batch_stats, z) -> samples`` in data space; over a leading member
  axis of the parameters when ``members`` is given (the noise is shared)."""
  def sample(g_params, g_batch_stats, z):
    return algorithm.to_display(generator.apply(
        {"params": g_params, "batch_stats": g_batch_stats}, z, train=False))
  return jax.jit(over_members(sample, members, (0, 0, None)))


def make_energy_fn(discriminator: nn.Module, algorithm: Any, members: int | None = None,
                   pack: int = 1):
  """Jitted ``(d_params, d_batch_stats, x) -> [B]``, the discriminator's energy as the 2-D
  plots show it. A packed discriminator is shown the energy of ``pack`` copies of each point."""
  def energy(d_params, d_batch_stats, x):
    x = models.pack_examples(jnp.repeat(x, pack, axis=0), pack)
    out = discriminator.apply({"params": d_params, "batch_stats": d_batch_stats}, x, train=False)
    return algorithm.energy(x, out)
  return jax.jit(over_members(energy, members, (0, 0, None)))


def sample_noise(config: ml_collections.ConfigDict, n: int) -> Array:
  """The fixed noise of the sample pictures, the same at every step of a run."""
  key = jax.random.fold_in(jax.random.PRNGKey(config.seed), SAMPLE_STREAM)
  return sample_latent(key, n, config.latent_dim, config.latent_dist)


def write_samples(path: str, config: ml_collections.ConfigDict, tag: str, sampler, energy_fn,
                  state, dataset, labels: Sequence[str] | None = None, write: bool = True
                  ) -> None:
  """Writes the sample picture of a stacked ``state`` to ``path``: an image grid (one labelled
  row per member for a sweep, ``labels`` given) or, for a 2-D mixture, each member's samples
  over its energy landscape, titled with the modes covered and the % of high-quality samples.

  Every process computes (the programs are SPMD); only the one with ``write`` writes."""
  mixture = dataset.mixture if isinstance(dataset, data.MixtureDataset) else None
  z = sample_noise(config, MIXTURE_SAMPLES if mixture else config.num_samples)
  members = list(np.asarray(sampler(state.g.params, state.g.batch_stats, z)))
  if mixture is None:
    if not write:
      return
    if labels is None:
      outputs.save_image_grid(path, members[0])
    else:
      outputs.save_labelled_rows(path, [m[:16] for m in members], labels)
    return
  lim = float(np.abs(mixture.modes).max()) * 1.5 + 0.5
  axis = np.linspace(-lim, lim, _ENERGY_GRID, dtype=np.float32)
  grid = np.stack(np.meshgrid(axis, axis), -1).reshape(-1, 2)
  energies = np.asarray(energy_fn(state.d.params, state.d.batch_stats, grid))
  if not write:
    return
  names = labels or [config.name]
  titles = []
  for name, m in zip(names, members):
    st = evaluation.mixture_mode_stats(m, mixture.modes, mixture.std)
    titles.append(f"{name} {tag}: {st['modes_covered']}/{len(mixture.modes)} modes, "
                  f"{100 * st['high_quality']:.0f}% HQ")
  outputs.save_mixture_plots(path, members, mixture.modes,
                             [e.reshape(_ENERGY_GRID, _ENERGY_GRID) for e in energies],
                             (-lim, lim, -lim, lim), titles)

