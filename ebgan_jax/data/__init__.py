"""Datasets by name: ``data.name`` picks a :class:`DatasetSpec` in :data:`DATASETS`.

Every dataset answers ``batch(step)``, the global batch for a training step as a pure function
of ``(seed, step)`` (:mod:`ebgan_jax.data.base`). The embedded ones need no download
(:mod:`ebgan_jax.data.embedded`: scikit-learn's digits, stacked digits, PacGAN's 2-D
mixtures); the TFDS ones are read by index from ArrayRecord files
(:mod:`ebgan_jax.data.tfds_images`); :mod:`ebgan_jax.data.loader` reads ahead in worker
processes. A spec says, besides how to build the dataset, the shape of one example, which
evaluation protocol scores its samples (:mod:`ebgan_jax.evaluators`) and whether it has
held-out examples and labels. A new dataset is one :func:`register` call
(``docs/contributing.md``).
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable

import numpy as np

from ebgan_jax.data.base import (Dataset, IndexedDataset, array_dataset, check_finite,
                                 resize_images)
from ebgan_jax.data.embedded import (HOLDOUT_STREAM, MIXTURES, Mixture, MixtureDataset,
                                     StackedDigitsDataset, digits_split, fixed_triples,
                                     grid_mixture, load_digits, ring_mixture)
from ebgan_jax.data import natural
from ebgan_jax.data.tfds_images import StackedMnistDataset, tfds_dataset, tfds_labels


@dataclasses.dataclass(frozen=True)
class DatasetSpec:
  """One value of ``data.name``.

  Attributes:
    make: ``(data_cfg, batch_size, seed) -> Dataset``, the training stream.
    shape: ``image_size -> shape`` of one example (0: the native size), known without reading.
    protocol: the evaluation protocol that scores samples (a key of
      ``ebgan_jax.evaluators.PROTOCOLS``), or None.
    tfds: read from TFDS files by name, so ``data.split`` and ``data.eval_split`` apply.
    reads_files: read from files, so worker processes can read it ahead (the embedded data are
      arrays in memory).
    heldout: ``(data_cfg, limit) -> examples`` never trained on, or None when the config holds
      none out.
    labels: ``(data_cfg, which) -> (examples, labels)`` for ``which`` in ``"train"`` (the
      training examples) and ``"heldout"`` (None when the config holds none out); None for
      data without labels. ``examples(indices)`` reads the examples at ``indices``, so that
      asking for the labels alone reads no image.
    mixture: the 2-D mixture the points come from, for the mixture protocol.
  """
  make: Callable[[Any, int, int], Dataset]
  shape: Callable[[int], tuple[int, ...]]
  protocol: str | None = None
  tfds: bool = False
  reads_files: bool = False
  heldout: Callable[[Any, int], np.ndarray | None] | None = None
  labels: Callable[[Any, str], tuple[Callable[[np.ndarray], np.ndarray], np.ndarray] | None
                   ] | None = None
  mixture: Callable[[], Mixture] | None = None


DATASETS: dict[str, DatasetSpec] = {}


def register(name: str, spec: DatasetSpec) -> DatasetSpec:
  """Adds ``spec`` as ``data.name=name``; refuses a name already taken."""
  if name in DATASETS:
    raise ValueError(f"data.name {name!r} is already registered.")
  DATASETS[name] = spec
  return spec


def spec(name: str) -> DatasetSpec:
  """The spec of ``name``, or a one-line error naming the choices."""
  if name not in DATASETS:
    raise ValueError(f"unknown data.name {name!r}; choose one of {', '.join(DATASETS)}.")
  return DATASETS[name]


# ----------------------------------------------------------------------------------------------
# The embedded datasets
# ----------------------------------------------------------------------------------------------

def _digits(data_cfg: Any) -> tuple[np.ndarray, np.ndarray]:
  images, labels = load_digits(data_cfg.image_size)
  if data_cfg.binarize:
    images = np.where(images > 0, 1.0, -1.0).astype(np.float32)
  return images, labels


def _make_digits(data_cfg: Any, batch_size: int, seed: int) -> Dataset:
  images, _ = _digits(data_cfg)
  if data_cfg.get("holdout", 0):
    images = images[digits_split(data_cfg.holdout)[0]]
  return array_dataset("digits", images, batch_size, seed)


def _digits_heldout(data_cfg: Any, limit: int) -> np.ndarray | None:
  if not data_cfg.get("holdout", 0):
    return None
  held = _digits(data_cfg)[0][digits_split(data_cfg.holdout)[1]]
  return held[:limit] if limit else held


def _digits_labels(data_cfg: Any, which: str):
  if which == "heldout" and not data_cfg.get("holdout", 0):
    return None
  images, labels = _digits(data_cfg)
  train, held = digits_split(data_cfg.get("holdout", 0))
  part = train if which == "train" else held
  return (lambda idx: images[part][idx]), labels[part]


def _mixture_spec(mixture: Callable[[], Mixture]) -> DatasetSpec:
  return DatasetSpec(
      make=lambda cfg, batch_size, seed: MixtureDataset(mixture(), batch_size, seed,
                                                        cfg.get("train_points", 0)),
      shape=lambda size: (2,), protocol="mixture", mixture=mixture)


register("digits", DatasetSpec(make=_make_digits, shape=lambda s: (s or 8, s or 8, 1),
                               protocol="digits", heldout=_digits_heldout, labels=_digits_labels))
register("stacked_digits", DatasetSpec(
    make=lambda cfg, batch_size, seed: StackedDigitsDataset(
        batch_size, seed, cfg.get("train_points", 0), cfg.get("image_size", 0)),
    shape=lambda s: (s or 8, s or 8, 3), protocol="stacked_digits"))
# Patches of scikit-image's photographs, for super-resolution (ebgan_jax/data/natural.py).
register("natural_images", DatasetSpec(
    make=lambda cfg, batch_size, seed: natural.make_patches(cfg, batch_size, seed),
    shape=lambda s: (s or 32, s or 32, 3),
    heldout=lambda cfg, limit: natural.heldout_patches(cfg, limit)))
# DIV2K's HR photographs through TFDS (``div2k``, prepared by the user): the same patches.
register("div2k", DatasetSpec(
    make=lambda cfg, batch_size, seed: natural.make_div2k_patches(cfg, batch_size, seed),
    shape=lambda s: (s or 32, s or 32, 3), tfds=True, reads_files=True))
register("ring", _mixture_spec(ring_mixture))
register("grid", _mixture_spec(grid_mixture))


# ----------------------------------------------------------------------------------------------
# The TFDS datasets
# ----------------------------------------------------------------------------------------------

def _tfds_spec(name: str, side: int, channels: int, protocol: str | None,
               labelled: bool = False, **read: Any) -> DatasetSpec:
  """A TFDS image dataset; ``read`` goes to :func:`tfds_dataset` (crop, builder hooks)."""
  def load(cfg: Any, split: str, batch_size: int, seed: int) -> IndexedDataset:
    return tfds_dataset(name, split=split, data_dir=cfg.data_dir, image_size=cfg.image_size,
                        batch_size=batch_size, seed=seed, binarize=cfg.binarize, **read)

  def heldout(cfg: Any, limit: int) -> np.ndarray | None:
    if not cfg.get("eval_split", ""):
      return None
    test = load(cfg, cfg.eval_split, 1, 0)
    return test.examples(np.arange(min(limit or test.num_examples, test.num_examples)))

  def labels(cfg: Any, which: str):
    split = cfg.split if which == "train" else cfg.get("eval_split", "")
    if not split:
      return None
    return (lambda idx: load(cfg, split, 1, 0).examples(idx)), tfds_labels(cfg, split)

  return DatasetSpec(make=lambda cfg, batch_size, seed: load(cfg, cfg.split, batch_size, seed),
                     shape=lambda s: (s or side, s or side, channels), protocol=protocol,
                     tfds=True, reads_files=True, heldout=heldout,
                     labels=labels if labelled else None)


def _register_synthetic_builder() -> None:
  from ebgan_jax.data import synthetic_celeba  # the package's own TFDS builder, registered
  synthetic_celeba.builder_class()


register("mnist", _tfds_spec("mnist", 28, 1, "inception", labelled=True))
register("stacked_mnist", DatasetSpec(make=StackedMnistDataset,
                                      shape=lambda s: (s or 28, s or 28, 3),
                                      protocol="stacked_mnist", reads_files=True))
# CelebA's aligned 218x178 faces: a central 108x108 crop (DCGAN, EBGAN); LSUN's bedrooms: the
# whole short side.
register("celeb_a", _tfds_spec("celeb_a", 64, 3, "inception", crop=108))
register("lsun/bedroom", _tfds_spec("lsun/bedroom", 64, 3, "inception", crop=0))
register("synthetic_celeb_a", _tfds_spec(
    "synthetic_celeb_a", 64, 3, None, crop=108, before=_register_synthetic_builder,
    how_to_prepare="write it with: python -m ebgan_jax.data.synthetic_celeba "
                   "--data_dir={data_dir}"))


# ----------------------------------------------------------------------------------------------
# What the runner, the evaluators and the algorithms ask of a dataset
# ----------------------------------------------------------------------------------------------

def make_dataset(data_cfg: Any, *, batch_size: int, seed: int) -> Dataset:
  """The dataset that ``data_cfg.name`` names, yielding global batches of ``batch_size``."""
  return spec(data_cfg.name).make(data_cfg, batch_size, seed)


def example_shape(data_cfg: Any) -> tuple[int, ...]:
  """The shape of one example of ``data_cfg``, known without reading the data."""
  return spec(data_cfg.name).shape(data_cfg.image_size)


def heldout_examples(data_cfg: Any, limit: int = 0) -> np.ndarray | None:
  """The examples a run is tested on, never trained on, preprocessed like its training
  batches: the digits held out by ``data.holdout``, or the TFDS split ``data.eval_split``;
  None when the config names none. ``limit`` > 0 keeps the first ``limit``."""
  heldout = spec(data_cfg.name).heldout
  return heldout(data_cfg, limit) if heldout is not None else None


def heldout_labels(data_cfg: Any, limit: int = 0) -> np.ndarray | None:
  """The class labels of :func:`heldout_examples`, in the same order; None without them."""
  labelled = spec(data_cfg.name).labels
  got = labelled(data_cfg, "heldout") if labelled is not None else None
  if got is None:
    return None
  return got[1][:limit] if limit else got[1]


def labelled_names() -> str:
  """The datasets with class labels, as an error message names them."""
  return " or ".join(repr(name) for name, s in DATASETS.items() if s.labels is not None)


def labelled_subset(data_cfg: Any, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
  """``n`` training examples and their labels, ``n / 10`` of each class, drawn by ``seed``:
  the labelled examples of a semi-supervised run (the digits' held-out examples excluded)."""
  labelled = spec(data_cfg.name).labels
  if labelled is None:
    raise ValueError(f"labelled examples come from {labelled_names()}, not {data_cfg.name!r}.")
  examples, labels = labelled(data_cfg, "train")
  if n % 10:
    raise ValueError(f"the labelled examples are balanced over 10 classes: their number must be "
                     f"a multiple of 10, got {n}.")
  rng = np.random.default_rng([seed, HOLDOUT_STREAM])  # with the seed: its own draw
  chosen = []
  for c in range(10):
    of_class = np.flatnonzero(labels == c)
    if len(of_class) < n // 10:
      raise ValueError(f"class {c} has {len(of_class)} training examples, fewer than {n // 10}.")
    chosen.append(rng.choice(of_class, n // 10, replace=False))
  idx = np.sort(np.concatenate(chosen))
  return np.asarray(examples(idx), np.float32), labels[idx].astype(np.int32)
