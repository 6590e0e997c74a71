"""TFDS image datasets (MNIST, CelebA, LSUN bedrooms, and Stacked MNIST built from MNIST), read by
index through ``tfds.data_source`` (random access over ArrayRecord files) and grain; TensorFlow
is not needed."""

from __future__ import annotations

import os
from typing import Any, Callable

import numpy as np
from PIL import Image

from ebgan_jax.data.base import IndexedDataset, resize_images
from ebgan_jax.data.embedded import fixed_triples


# ----------------------------------------------------------------------------------------------

def _centre_crop(size: int, max_side: int | None = None) -> Callable[[np.ndarray], np.ndarray]:
  """The central square of an image (at most ``max_side`` pixels a side), resized to ``size``:
  LSUN's bedrooms take the whole short side; CelebA's aligned 218x178 faces (DCGAN, EBGAN) a
  central 108x108 crop."""
  def crop(image: np.ndarray) -> np.ndarray:
    h, w = image.shape[:2]
    side = min(h, w) if max_side is None else min(max_side, h, w)
    top, left = (h - side) // 2, (w - side) // 2
    patch = Image.fromarray(image[top:top + side, left:left + side])
    return np.asarray(patch.resize((size, size), Image.BILINEAR))
  return crop


def _to_float(image: np.ndarray) -> np.ndarray:
  return image.astype(np.float32) / 127.5 - 1.0


def open_source(name: str, split: str, data_dir: str, how_to_prepare: str = ""):
  """``tfds.data_source`` of a prepared dataset, or a one-line error saying how to prepare it."""
  import tensorflow_datasets as tfds
  data_dir = data_dir or os.environ.get("TFDS_DATA_DIR") or None
  try:
    return tfds.data_source(name, split=split, data_dir=data_dir, download=False)
  except Exception as e:  # tfds raises several types for "not there"; all mean the same here
    where = data_dir or "~/tensorflow_datasets"
    how = (how_to_prepare.format(data_dir=where) if how_to_prepare else
           f"prepare it once with network access: pip install tensorflow && tfds build {name} "
           f"--file_format=array_record --data_dir={where}")
    raise ValueError(f"TFDS dataset {name!r} (split {split!r}) is not prepared as ArrayRecord "
                     f"in {where}; {how} ({type(e).__name__})") from None


def is_mocked(source) -> bool:
  """Whether ``source`` is ``tfds.testing.mock_data``'s (random examples, or the test's own
  ``as_data_source_fn``) rather than prepared files."""
  inner = getattr(source, "data_source", None)
  return (type(inner).__name__ == "PickableDataSourceMock"
          or not type(source).__module__.startswith("tensorflow_datasets.core"))


def tfds_dataset(name: str, *, split: str, data_dir: str, image_size: int, batch_size: int,
                 seed: int, binarize: bool = False, crop: int | None = None,
                 native_side: int = 64, before: Callable[[], Any] | None = None,
                 how_to_prepare: str = "") -> IndexedDataset:
  """A TFDS image dataset read by index through ``tfds.data_source`` and a grain map.

  ``crop``: None keeps the whole image (resized to ``image_size`` when given); 0 takes the
  central square of the whole short side and N at most N pixels a side, resized to
  ``image_size`` (``native_side`` when 0). ``before`` runs first (a builder to register);
  ``how_to_prepare`` replaces the ``tfds build`` advice of the error for missing files.
  """
  import grain

  if before is not None:
    before()
  source = open_source(name, split, data_dir, how_to_prepare)

  if crop is not None:
    cropped = _centre_crop(image_size or native_side, crop or None)
    prepare = lambda ex: _to_float(cropped(ex["image"]))
  else:
    def prepare(ex):
      img = _to_float(ex["image"])
      if image_size and image_size != img.shape[0]:
        img = resize_images(img[None], image_size)[0]
      return img
  if binarize:
    to_float = prepare
    prepare = lambda ex: np.where(to_float(ex) > 0, 1.0, -1.0).astype(np.float32)
  mapped = grain.MapDataset.source(source).map(prepare)
  shape = mapped[0].shape
  dataset = IndexedDataset(name, lambda idx: np.stack([mapped[int(i)] for i in idx]),
                           len(source), shape, batch_size, seed)
  # tfds.testing.mock_data patches this process only: a worker process would look for the
  # real files, so a mocked source is read in the training thread.
  dataset.mocked = is_mocked(source)
  return dataset


class StackedMnistDataset:
  """Stacked MNIST (Srivastava et al. 2017, §5.2; Lin et al. 2018, §5.2): three MNIST digits,
  each drawn from all 70,000 images (train and test splits), as the three channels of one
  28x28 image; 1,000 modes.

  With ``data.train_points = N`` (the published set-up: 128,000) the training set is N fixed
  triples, walked in a fresh permutation each epoch; with 0, fresh triples every step from
  ``rng(seed, step)``. Images are in [-1, 1] like every dataset here (the released code feeds
  [0, 1] images to a tanh generator).
  """

  def __init__(self, data_cfg: Any, batch_size: int, seed: int):
    kw = dict(data_dir=data_cfg.data_dir, image_size=data_cfg.image_size, batch_size=1, seed=0)
    self._parts = [tfds_dataset("mnist", split=s, **kw) for s in ("train", "test")]
    self._sizes = np.cumsum([p.num_examples for p in self._parts])
    self.num_images = int(self._sizes[-1])
    self.mocked = self._parts[0].mocked
    self.name, self.shape = "stacked_mnist", self._parts[0].shape[:2] + (3,)
    self.batch_size, self.seed = batch_size, seed
    self._fixed = fixed_triples(self, self.num_images, data_cfg.train_points)

  def images(self, indices: np.ndarray) -> np.ndarray:
    """MNIST images ``[N, H, W, 1]`` by index into train followed by test."""
    part = np.searchsorted(self._sizes, indices, side="right")
    out = np.empty((len(indices),) + self._parts[0].shape, np.float32)
    for p, source in enumerate(self._parts):
      mine = np.flatnonzero(part == p)
      if len(mine):
        offset = self._sizes[p - 1] if p else 0
        out[mine] = source.examples(indices[mine] - offset)
    return out

  def triples(self, indices: np.ndarray) -> np.ndarray:
    """``[N, 3]`` image indices -> stacked images ``[N, H, W, 3]``."""
    indices = np.asarray(indices)
    flat = self.images(indices.reshape(-1))
    return flat.reshape(indices.shape + flat.shape[1:3]).transpose(0, 2, 3, 1)

  def batch(self, step: int, rows: slice = slice(None)) -> np.ndarray:
    if self._fixed is not None:
      return self._fixed.batch(step, rows)
    idx = np.random.default_rng([self.seed, step]).integers(0, self.num_images,
                                                              (self.batch_size, 3))
    return self.triples(idx[rows])


def tfds_labels(data_cfg: Any, split: str) -> np.ndarray:
  import tensorflow_datasets as tfds
  data_dir = data_cfg.data_dir or os.environ.get("TFDS_DATA_DIR") or None
  source = tfds.data_source(data_cfg.name, split=split, data_dir=data_dir, download=False)
  return np.array([int(source[i]["label"]) for i in range(len(source))], np.int32)
