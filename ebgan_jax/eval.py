"""Evaluation metrics that mean the same as the published ones (SPEC §9)."""

from __future__ import annotations

import numpy as np


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
