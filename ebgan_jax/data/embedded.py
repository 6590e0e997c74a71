"""The embedded datasets, which need no download: scikit-learn's handwritten digits, stacked
digits (the Stacked-MNIST protocol on them) and PacGAN's 2-D mixtures (Lin et al. 2018, §5.1)."""

from __future__ import annotations

import dataclasses
import numpy as np

from ebgan_jax.data.base import IndexedDataset, array_dataset, resize_images


def load_digits(image_size: int = 0) -> tuple[np.ndarray, np.ndarray]:
  """scikit-learn's 1,797 handwritten digits as ``[N, S, S, 1]`` in [-1, 1], and the labels."""
  from sklearn import datasets  # imported here: only the digits need scikit-learn
  digits = datasets.load_digits()
  images = (digits.images.astype(np.float32) / 16.0 * 2.0 - 1.0)[..., None]
  if image_size:
    images = np.clip(resize_images(images, image_size), -1.0, 1.0)
  return images, digits.target.astype(np.int32)


# ----------------------------------------------------------------------------------------------


# 2-D mixtures (the PacGAN protocol, Lin et al. 2018)
# ----------------------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Mixture:
  """An equal-weight mixture of isotropic Gaussians in 2-D."""
  name: str
  modes: np.ndarray  # [K, 2]
  std: float

  def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
    which = rng.integers(0, len(self.modes), n)
    return (self.modes[which] + self.std * rng.standard_normal((n, 2))).astype(np.float32)


def ring_mixture() -> Mixture:
  """Eight Gaussians on the unit circle, std 0.01."""
  angles = 2 * np.pi * np.arange(8) / 8
  return Mixture("ring", np.stack([np.cos(angles), np.sin(angles)], -1), 0.01)


def grid_mixture() -> Mixture:
  """25 Gaussians at {-4, -2, 0, 2, 4}^2, std 0.05."""
  axis = np.array([-4.0, -2.0, 0.0, 2.0, 4.0])
  return Mixture("grid", np.stack(np.meshgrid(axis, axis), -1).reshape(-1, 2), 0.05)


MIXTURES = {"ring": ring_mixture, "grid": grid_mixture}


# The stream the fixed training set of a mixture is drawn from (with the seed).
_TRAIN_SET_STREAM = 0x7A15


class MixtureDataset:
  """Fresh samples every step, drawn from ``rng(seed, step)``; or, with ``train_points``, a
  fixed set of that many points drawn once from ``rng(seed)`` and walked in epochs (PacGAN
  trains on 100,000)."""

  def __init__(self, mixture: Mixture, batch_size: int, seed: int, train_points: int = 0):
    self.mixture, self.name = mixture, mixture.name
    self.shape, self.batch_size, self.seed = (2,), batch_size, seed
    self._fixed = None
    if train_points:
      points = mixture.sample(np.random.default_rng([seed, _TRAIN_SET_STREAM]), train_points)
      self._fixed = array_dataset(mixture.name, points, batch_size, seed)

  def batch(self, step: int, rows: slice = slice(None)) -> np.ndarray:
    if self._fixed is not None:
      return self._fixed.batch(step, rows)
    # Sampling the whole global batch keeps every process's rows identical to a 1-process run.
    return self.mixture.sample(np.random.default_rng([self.seed, step]), self.batch_size)[rows]


# Stacked MNIST's fixed training triples are drawn from this stream, the same for every run and
# seed, so that every model trains on one set (the released code draws a set per run).
_STACKED_MNIST_STREAM = 0x57AC


def fixed_triples(stacked, num_images: int, train_points: int) -> IndexedDataset | None:
  """The training set of ``train_points`` fixed triples of ``stacked`` (a stacked dataset with
  ``triples``), drawn once from a fixed stream (the same for every seed) and walked in epochs;
  None for 0 (fresh triples every step)."""
  if not train_points:
    return None
  triples = np.random.default_rng(_STACKED_MNIST_STREAM).integers(
      0, num_images, (train_points, 3))
  return IndexedDataset(stacked.name, lambda idx: stacked.triples(triples[idx]), len(triples),
                        stacked.shape, stacked.batch_size, stacked.seed)


class StackedDigitsDataset:
  """Stacked digits, the Stacked-MNIST protocol on embedded data: three independently drawn
  digits as the three channels of one 8x8 image (or ``image_size`` square, resized), so 1,000
  modes.

  With ``train_points = N`` the training set is N fixed triples (the same for every seed, as
  :class:`StackedMnistDataset`'s), walked in a fresh permutation each epoch; with 0, fresh
  triples every step from ``rng(seed, step)``."""

  def __init__(self, batch_size: int, seed: int, train_points: int = 0, image_size: int = 0):
    self.images, self.labels = load_digits(image_size)
    self.name, self.shape = "stacked_digits", self.images.shape[1:3] + (3,)
    self.batch_size, self.seed = batch_size, seed
    self._fixed = fixed_triples(self, len(self.images), train_points)

  def triples(self, indices: np.ndarray) -> np.ndarray:
    """``[N, 3]`` digit indices -> stacked images ``[N, S, S, 3]``."""
    return np.concatenate([self.images[indices[:, c]] for c in range(3)], axis=-1)

  def batch(self, step: int, rows: slice = slice(None)) -> np.ndarray:
    if self._fixed is not None:
      return self._fixed.batch(step, rows)
    idx = np.random.default_rng([self.seed, step]).integers(0, len(self.images),
                                                              (self.batch_size, 3))[rows]
    return self.triples(idx)


# The stream of the fixed permutation that splits the digits into training and held-out sets:
# independent of the run's seed, so every model and seed is scored on the same examples.
HOLDOUT_STREAM = 0x4E1D


def digits_split(holdout: int, n: int = 1797) -> tuple[np.ndarray, np.ndarray]:
  """Indices ``(train, held_out)`` of the digits with ``holdout`` examples held out: a fixed
  random subset, the same for every run, each part in ascending order."""
  if not 0 <= holdout < n:
    raise ValueError(f"config.data.holdout must be in [0, {n}), got {holdout}.")
  perm = np.random.default_rng(HOLDOUT_STREAM).permutation(n)
  return np.sort(perm[:n - holdout]), np.sort(perm[n - holdout:])
