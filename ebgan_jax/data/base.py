"""What every dataset is: ``batch(step)``, the global batch of a training step as a pure function
of ``(seed, step)``, so a resumed or sharded run reads exactly what an uninterrupted run would,
with no iterator state to save. Images are float32 in [-1, 1], NHWC."""

from __future__ import annotations

from typing import Callable, Protocol, Sequence

import numpy as np
from PIL import Image


class Dataset(Protocol):
  shape: tuple[int, ...]  # one example
  name: str

  def batch(self, step: int, rows: slice = slice(None)) -> np.ndarray:
    """Rows ``rows`` of the ``[batch_size, *shape]`` float32 global batch of ``step``; each
    process of a multi-host run reads only its own rows."""


def _epoch_permutation(seed: int, epoch: int, n: int) -> np.ndarray:
  return np.random.default_rng([seed, epoch]).permutation(n)


class IndexedDataset:
  """A finite random-access dataset walked in a fresh permutation each epoch (drop-remainder)."""

  mocked = False  # a TFDS source replaced by tfds.testing.mock_data (in this process only)

  def __init__(self, name: str, get: Callable[[np.ndarray], np.ndarray], num_examples: int,
               shape: Sequence[int], batch_size: int, seed: int):
    if num_examples < batch_size:
      raise ValueError(f"dataset {name!r} has {num_examples} examples, fewer than the "
                       f"{batch_size} that one step reads (config.batch_size × config.pack); "
                       "lower config.batch_size or config.pack.")
    self.name, self._get, self.num_examples = name, get, num_examples
    self.shape, self.batch_size, self.seed = tuple(shape), batch_size, seed
    self.steps_per_epoch = num_examples // batch_size

  def indices(self, step: int) -> np.ndarray:
    epoch, pos = divmod(step, self.steps_per_epoch)
    perm = _epoch_permutation(self.seed, epoch, self.num_examples)
    return perm[pos * self.batch_size:(pos + 1) * self.batch_size]

  def batch(self, step: int, rows: slice = slice(None)) -> np.ndarray:
    return self._get(self.indices(step)[rows])

  def examples(self, indices: np.ndarray) -> np.ndarray:
    """The examples at ``indices``, in order (for evaluation)."""
    return self._get(np.asarray(indices))


def array_dataset(name: str, images: np.ndarray, batch_size: int, seed: int) -> IndexedDataset:
  images = np.ascontiguousarray(images, np.float32)
  return IndexedDataset(name, lambda idx: images[idx], len(images), images.shape[1:],
                        batch_size, seed)


def resize_images(images: np.ndarray, size: int) -> np.ndarray:
  """Bilinear (antialiased) resize of ``[N, H, W, C]`` float images to ``size x size``."""
  if images.shape[1] == size and images.shape[2] == size:
    return images
  out = np.empty((images.shape[0], size, size, images.shape[3]), np.float32)
  for i, img in enumerate(images):
    for c in range(images.shape[3]):
      out[i, :, :, c] = np.asarray(
          Image.fromarray(img[:, :, c].astype(np.float32), mode="F").resize(
              (size, size), Image.BILINEAR))
  return out


def check_finite(batch: np.ndarray, step: int, name: str) -> None:
  if not np.all(np.isfinite(batch)):
    raise ValueError(f"data batch of step {step} from {name!r} holds NaN or inf; "
                     "check the dataset files or the preprocessing.")
