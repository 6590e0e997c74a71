"""The 2-D mixtures' protocol (PacGAN, Lin et al. 2018, §5.1): modes covered, the fraction of
high-quality samples and the reverse KL of the mode histogram, with precision, recall, density
and coverage on the raw coordinates."""

from __future__ import annotations

import numpy as np

from ebgan_jax.evaluators.neighbours import prdc


def mixture_mode_stats(samples: np.ndarray, modes: np.ndarray, std: float) -> dict[str, float]:
  """The PacGAN protocol on a 2-D Gaussian mixture.

  A sample is of high quality when it lies within 3 std of its nearest mode; a mode is covered
  when at least one high-quality sample is nearest to it. The reverse KL compares the histogram
  of high-quality samples over modes with the uniform distribution (``KL(hist || uniform)``);
  with no high-quality sample it is infinite.

  Returns:
    ``modes_covered`` (count), ``high_quality`` (fraction in [0, 1]), ``reverse_kl`` (nats).
  """
  samples, modes = np.asarray(samples, np.float64), np.asarray(modes, np.float64)
  dist = np.linalg.norm(samples[:, None, :] - modes[None, :, :], axis=-1)
  nearest = dist.argmin(axis=1)
  good = dist[np.arange(len(samples)), nearest] <= 3.0 * std
  counts = np.bincount(nearest[good], minlength=len(modes)).astype(np.float64)
  if counts.sum() == 0:
    reverse_kl = float("inf")
  else:
    p = counts / counts.sum()
    nz = p > 0
    reverse_kl = float(np.sum(p[nz] * np.log(p[nz] * len(modes))))
  return {"modes_covered": int((counts > 0).sum()), "high_quality": float(good.mean()),
          "reverse_kl": reverse_kl}


# The real points that the generated points of a 2-D mixture are compared with: drawn once
# from a fixed stream, the same for every run, seed and step.
_MIXTURE_REFERENCE_SEED = 20190701


def mixture_scores(samples: np.ndarray, mixture) -> dict[str, float]:
  """A 2-D mixture's evaluation: :func:`mixture_mode_stats`, then :func:`prdc` on the raw
  coordinates against as many points drawn from the mixture itself."""
  real = mixture.sample(np.random.default_rng(_MIXTURE_REFERENCE_SEED), len(samples))
  return {**mixture_mode_stats(samples, mixture.modes, mixture.std), **prdc(real, samples)}
