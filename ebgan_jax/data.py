"""Datasets: embedded (scikit-learn digits, stacked digits, 2-D mixtures) and TFDS (``mnist``,
``stacked_mnist``, ``celeb_a``, ``lsun/bedroom``).

Every dataset answers ``batch(step)``: the global batch for a training step, a pure function of
``(seed, step)``. A resumed or sharded run therefore reads exactly what an uninterrupted run
would, with no iterator state to save. Images are float32 in [-1, 1], NHWC.

TFDS datasets are read through ``tfds.data_source`` (random access over ArrayRecord files) and
grain; TensorFlow is not needed.
"""

from __future__ import annotations

import dataclasses
import math
import os
from typing import Any, Callable, Protocol, Sequence

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
      raise ValueError(f"dataset {name!r} has {num_examples} examples, fewer than "
                       f"batch_size={batch_size}; lower config.batch_size.")
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


# ----------------------------------------------------------------------------------------------
# Images
# ----------------------------------------------------------------------------------------------

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


# ----------------------------------------------------------------------------------------------
# TFDS through tfds.data_source and grain
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


# The TFDS image datasets the runner reads (tfds.data_source, prepared as ArrayRecord).
TFDS_DATASETS = ("mnist", "celeb_a", "lsun/bedroom", "synthetic_celeb_a")
# Datasets read from TFDS files (worker processes can read them): the TFDS datasets and those
# built from one.
READ_FROM_FILES = TFDS_DATASETS + ("stacked_mnist",)


def _to_float(image: np.ndarray) -> np.ndarray:
  return image.astype(np.float32) / 127.5 - 1.0


def tfds_dataset(name: str, *, split: str, data_dir: str, image_size: int, batch_size: int,
                 seed: int, binarize: bool = False) -> IndexedDataset:
  """A TFDS image dataset read by index through ``tfds.data_source`` and a grain map."""
  import grain
  import tensorflow_datasets as tfds

  data_dir = data_dir or os.environ.get("TFDS_DATA_DIR") or None
  if name == "synthetic_celeb_a":  # this package's builder (ebgan_jax.synthetic), registered
    from ebgan_jax import synthetic
    synthetic.builder_class()
  try:
    source = tfds.data_source(name, split=split, data_dir=data_dir, download=False)
  except Exception as e:  # tfds raises several types for "not there"; all mean the same here
    where = data_dir or "~/tensorflow_datasets"
    how = (f"write it with: python -m ebgan_jax.synthetic --data_dir={where}"
           if name == "synthetic_celeb_a" else
           f"prepare it once with network access: pip install tensorflow && tfds build {name} "
           f"--file_format=array_record --data_dir={where}")
    raise ValueError(f"TFDS dataset {name!r} (split {split!r}) is not prepared as ArrayRecord "
                     f"in {where}; {how} ({type(e).__name__})") from None

  if name in ("celeb_a", "synthetic_celeb_a", "lsun/bedroom"):
    crop = _centre_crop(image_size or 64, None if name == "lsun/bedroom" else 108)
    prepare = lambda ex: _to_float(crop(ex["image"]))
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
  dataset.mocked = type(getattr(source, "data_source", None)).__name__ == "PickableDataSourceMock"
  return dataset


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
_HOLDOUT_STREAM = 0x4E1D


def digits_split(holdout: int, n: int = 1797) -> tuple[np.ndarray, np.ndarray]:
  """Indices ``(train, held_out)`` of the digits with ``holdout`` examples held out: a fixed
  random subset, the same for every run, each part in ascending order."""
  if not 0 <= holdout < n:
    raise ValueError(f"config.data.holdout must be in [0, {n}), got {holdout}.")
  perm = np.random.default_rng(_HOLDOUT_STREAM).permutation(n)
  return np.sort(perm[:n - holdout]), np.sort(perm[n - holdout:])


def _digits(data_cfg: Any) -> tuple[np.ndarray, np.ndarray]:
  images, labels = load_digits(data_cfg.image_size)
  if data_cfg.binarize:
    images = np.where(images > 0, 1.0, -1.0).astype(np.float32)
  return images, labels


def heldout_examples(data_cfg: Any, limit: int = 0) -> np.ndarray | None:
  """The examples a run is tested on, never trained on, preprocessed like its training
  batches: the digits held out by ``data.holdout``, or the TFDS split ``data.eval_split``;
  None when the config names none. ``limit`` > 0 keeps the first ``limit``."""
  if data_cfg.name == "digits" and data_cfg.get("holdout", 0):
    images, _ = _digits(data_cfg)
    held = images[digits_split(data_cfg.holdout)[1]]
    return held[:limit] if limit else held
  if data_cfg.name in TFDS_DATASETS and data_cfg.get("eval_split", ""):
    test = tfds_dataset(data_cfg.name, split=data_cfg.eval_split, data_dir=data_cfg.data_dir,
                        image_size=data_cfg.image_size, batch_size=1, seed=0,
                        binarize=data_cfg.binarize)
    n = min(limit or test.num_examples, test.num_examples)
    return test.examples(np.arange(n))
  return None


def _tfds_labels(data_cfg: Any, split: str) -> np.ndarray:
  import tensorflow_datasets as tfds
  data_dir = data_cfg.data_dir or os.environ.get("TFDS_DATA_DIR") or None
  source = tfds.data_source(data_cfg.name, split=split, data_dir=data_dir, download=False)
  return np.array([int(source[i]["label"]) for i in range(len(source))], np.int32)


def heldout_labels(data_cfg: Any, limit: int = 0) -> np.ndarray | None:
  """The class labels of :func:`heldout_examples`, in the same order."""
  if data_cfg.name == "digits" and data_cfg.get("holdout", 0):
    labels = load_digits()[1][digits_split(data_cfg.holdout)[1]]
  elif data_cfg.name == "mnist" and data_cfg.get("eval_split", ""):
    labels = _tfds_labels(data_cfg, data_cfg.eval_split)
  else:
    return None
  return labels[:limit] if limit else labels


def labelled_subset(data_cfg: Any, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
  """``n`` training examples and their labels, ``n / 10`` of each class, drawn by ``seed``:
  the labelled examples of a semi-supervised run (the digits' held-out examples excluded)."""
  if data_cfg.name == "digits":
    images, labels = _digits(data_cfg)
    train = digits_split(data_cfg.get("holdout", 0))[0]
    images, labels = images[train], labels[train]
    get = lambda idx: images[idx]
  elif data_cfg.name == "mnist":
    labels = _tfds_labels(data_cfg, data_cfg.split)
    ds = tfds_dataset("mnist", split=data_cfg.split, data_dir=data_cfg.data_dir,
                      image_size=data_cfg.image_size, batch_size=1, seed=0,
                      binarize=data_cfg.binarize)
    get = ds.examples
  else:
    raise ValueError(f"labelled examples come from 'digits' or 'mnist', not {data_cfg.name!r}.")
  if n % 10:
    raise ValueError(f"the labelled examples are balanced over 10 classes: their number must be "
                     f"a multiple of 10, got {n}.")
  rng = np.random.default_rng([seed, _HOLDOUT_STREAM])
  chosen = []
  for c in range(10):
    of_class = np.flatnonzero(labels == c)
    if len(of_class) < n // 10:
      raise ValueError(f"class {c} has {len(of_class)} training examples, fewer than {n // 10}.")
    chosen.append(rng.choice(of_class, n // 10, replace=False))
  idx = np.sort(np.concatenate(chosen))
  return np.asarray(get(idx), np.float32), labels[idx].astype(np.int32)


def example_shape(data_cfg: Any) -> tuple[int, ...]:
  """The shape of one example of ``data_cfg``, known without reading the data."""
  size = data_cfg.image_size
  shapes = {"digits": (size or 8, size or 8, 1), "mnist": (size or 28, size or 28, 1),
            "stacked_digits": (size or 8, size or 8, 3),
            "stacked_mnist": (size or 28, size or 28, 3),
            "celeb_a": (size or 64, size or 64, 3), "lsun/bedroom": (size or 64, size or 64, 3),
            "synthetic_celeb_a": (size or 64, size or 64, 3),
            "ring": (2,), "grid": (2,)}
  if data_cfg.name not in shapes:
    raise ValueError(f"unknown data.name {data_cfg.name!r}; choose one of {', '.join(shapes)}.")
  return shapes[data_cfg.name]


def make_dataset(data_cfg: Any, *, batch_size: int, seed: int) -> Dataset:
  """The dataset that ``data_cfg.name`` names, yielding global batches of ``batch_size``."""
  name = data_cfg.name
  if name == "digits":
    images, _ = _digits(data_cfg)
    if data_cfg.get("holdout", 0):
      images = images[digits_split(data_cfg.holdout)[0]]
    return array_dataset("digits", images, batch_size, seed)
  if name in MIXTURES:
    return MixtureDataset(MIXTURES[name](), batch_size, seed, data_cfg.get("train_points", 0))
  if name == "stacked_digits":
    return StackedDigitsDataset(batch_size, seed, data_cfg.get("train_points", 0),
                                data_cfg.get("image_size", 0))
  if name == "stacked_mnist":
    return StackedMnistDataset(data_cfg, batch_size, seed)
  if name in TFDS_DATASETS:
    return tfds_dataset(name, split=data_cfg.split, data_dir=data_cfg.data_dir,
                        image_size=data_cfg.image_size, batch_size=batch_size, seed=seed,
                        binarize=data_cfg.binarize)
  raise ValueError(f"unknown data.name {name!r}; choose one of digits, stacked_digits, ring, "
                   "grid, mnist, stacked_mnist, celeb_a, lsun/bedroom, synthetic_celeb_a.")


def check_finite(batch: np.ndarray, step: int, name: str) -> None:
  if not np.all(np.isfinite(batch)):
    raise ValueError(f"data batch of step {step} from {name!r} holds NaN or inf; "
                     "check the dataset files or the preprocessing.")
