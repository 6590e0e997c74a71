"""Natural photographs for super-resolution, offline: the images scikit-image ships in its wheel
(``skimage.data``), split by image into training, validation and held-out test images.

The split is fixed here, before any training, and by whole image, so no patch of a test image
is ever seen by training or by a choice made on the validation images. Grey-scale photographs
(textures: brick, grass, gravel) are repeated over the three channels. The stereo pair
``motorcycle_left``/``motorcycle_right`` shows one scene twice, so both sit in training.

Training examples are high-resolution (HR) patches drawn from the training images by their
index: patch ``i`` of seed ``s`` is a fixed function of ``(s, i)`` (the image, each equally
often, the position, one of the eight flips and quarter-turns), so a resumed run reads the same
patches and no patch bank is held in memory. Patches are float32 in [-1, 1] like every dataset
of the project; the low-resolution (LR) input is made from them by the algorithm with the
degradation operator of :mod:`ebgan_jax.evaluators.superres`.
"""

from __future__ import annotations

import functools
from typing import Callable, Sequence

import numpy as np

from ebgan_jax.data.base import IndexedDataset

# Fixed on 2026-12-06, before any super-resolution model was trained.
TRAIN = ("astronaut", "coffee", "hubble_deep_field", "retina", "motorcycle_left",
         "motorcycle_right", "brick", "grass")
VALIDATION = ("camera", "coins")
TEST = ("chelsea", "rocket", "immunohistochemistry", "gravel", "moon")
SPLITS = {"train": TRAIN, "validation": VALIDATION, "test": TEST}

# Virtual patches per epoch: patch i is drawn from (seed, i), so this only sets how often the
# permutation of the epoch is redrawn.
PATCHES_PER_EPOCH = 1 << 16


def _skimage_data():
  try:
    from skimage import data
  except ImportError as error:  # a dependency of the package: only a broken install lacks it
    raise ImportError("the natural_images dataset reads scikit-image's photographs: "
                      "pip install scikit-image") from error
  return data


@functools.lru_cache(maxsize=None)
def load_image(name: str) -> np.ndarray:
  """One of scikit-image's photographs as float32 RGB in [0, 1], ``[H, W, 3]``."""
  data = _skimage_data()
  if name.startswith("motorcycle_"):  # the two views of one stereo pair
    image = data.stereo_motorcycle()[0 if name == "motorcycle_left" else 1]
  else:
    image = getattr(data, name)()
  image = np.asarray(image)
  if image.ndim == 2:
    image = np.repeat(image[..., None], 3, axis=-1)
  image = image[..., :3]
  if image.dtype == np.uint8:
    return image.astype(np.float32) / 255.0
  image = image.astype(np.float32)
  return (image - image.min()) / max(float(image.max() - image.min()), 1e-8)


def split_images(split: str) -> dict[str, np.ndarray]:
  """``{name: image}`` of a split: ``"train"``, ``"validation"`` or ``"test"``."""
  if split not in SPLITS:
    raise ValueError(f"natural_images has the splits {', '.join(SPLITS)}; got {split!r}.")
  return {name: load_image(name) for name in SPLITS[split]}


class PatchSource:
  """HR patches of ``side`` pixels drawn from images by index (see the module's docstring).

  ``images`` is a sequence of ``[H, W, 3]`` float images in [0, 1], or a function from an
  image's index to it with their number ``count`` (images read from files on demand)."""

  def __init__(self, images: Sequence[np.ndarray] | Callable[[int], np.ndarray], side: int,
               seed: int, count: int | None = None):
    if callable(images):
      self.image, self.count = images, int(count)
    else:
      small = [im.shape[:2] for im in images if min(im.shape[:2]) < side]
      if small:
        raise ValueError(f"patch side {side} is larger than an image of size {small[0]}; "
                         "lower data.image_size.")
      self.image, self.count = images.__getitem__, len(images)
    self.side, self.seed = side, seed

  def patch(self, index: int) -> np.ndarray:
    rng = np.random.default_rng([self.seed, 0x5A7C, int(index)])
    # Every image equally often: by area, the two largest training images (retina, Hubble's
    # deep field), mostly a dark background, would give more than half of the patches.
    image = self.image(int(rng.integers(self.count)))
    if min(image.shape[:2]) < self.side:
      raise ValueError(f"patch side {self.side} is larger than an image of size "
                       f"{image.shape[:2]}; lower data.image_size.")
    top = rng.integers(0, image.shape[0] - self.side + 1)
    left = rng.integers(0, image.shape[1] - self.side + 1)
    patch = image[top:top + self.side, left:left + self.side]
    patch = np.rot90(patch, k=int(rng.integers(4)))
    if rng.integers(2):
      patch = patch[:, ::-1]
    return patch

  def __call__(self, indices: np.ndarray) -> np.ndarray:
    patches = np.stack([self.patch(i) for i in np.asarray(indices).reshape(-1)])
    return np.ascontiguousarray(patches * 2.0 - 1.0, np.float32)


def make_patches(data_cfg, batch_size: int, seed: int) -> IndexedDataset:
  """The training stream: ``data.image_size`` HR patches of the training images."""
  side = data_cfg.image_size or 32
  source = PatchSource(list(split_images("train").values()), side, seed)
  return IndexedDataset("natural_images", source, PATCHES_PER_EPOCH, (side, side, 3),
                        batch_size, seed)


def heldout_patches(data_cfg, limit: int) -> np.ndarray:
  """Patches of the validation images (never trained on), the same for every seed."""
  side = data_cfg.image_size or 32
  source = PatchSource(list(split_images("validation").values()), side, seed=0)
  return source(np.arange(limit or 64))


# ----------------------------------------------------------------------------------------------
# DIV2K (Agustsson & Timofte 2017) through TFDS, for users who have prepared it
# ----------------------------------------------------------------------------------------------

# The TFDS builder config read: every config of ``div2k`` holds the same 800 training and 100
# validation HR images; the LR images it also holds (MATLAB's imresize, or unknown kernels) are
# not read, since the LR input is always made by the project's operator U.
DIV2K = "div2k/bicubic_x4"
# Decoded HR images kept in memory (a 2K image is about 6 MB as uint8).
DIV2K_CACHE = 32


def _div2k_reader(split: str, data_dir: str) -> tuple[Callable[[int], np.ndarray], int, bool]:
  from ebgan_jax.data.tfds_images import is_mocked, open_source
  source = open_source(DIV2K, split, data_dir)

  @functools.lru_cache(maxsize=DIV2K_CACHE)
  def read(index: int) -> np.ndarray:
    return np.asarray(source[index]["hr"], np.float32)[..., :3] / 255.0
  return read, len(source), is_mocked(source)


def make_div2k_patches(data_cfg, batch_size: int, seed: int) -> IndexedDataset:
  """Random HR patches of DIV2K's training images (``data.split``, default ``train``), each
  image equally often, drawn by index like the photographs' patches."""
  side = data_cfg.image_size or 32
  read, count, mocked = _div2k_reader(data_cfg.split or "train", data_cfg.data_dir)
  dataset = IndexedDataset("div2k", PatchSource(read, side, seed, count), PATCHES_PER_EPOCH,
                           (side, side, 3), batch_size, seed)
  dataset.mocked = mocked  # mock_data patches this process only: read in the training thread
  return dataset


def div2k_images(data_cfg, split: str, limit: int = 0) -> dict[str, np.ndarray]:
  """``{name: image}`` of DIV2K's whole HR images: ``"validation"`` is the 100 images the
  challenge validates on (its test images were never released)."""
  read, count, _ = _div2k_reader(split, data_cfg.data_dir)
  return {f"div2k_{split}_{i:04d}": read(i) for i in range(min(limit or count, count))}


def images(data_cfg, split: str, limit: int = 0) -> dict[str, np.ndarray]:
  """Whole HR images of a split of ``data.name`` (``natural_images`` or ``div2k``), the first
  ``limit`` (0: all): what super-resolution is scored on."""
  if data_cfg.name == "div2k":
    return div2k_images(data_cfg, split, limit)
  chosen = split_images(split)
  return dict(list(chosen.items())[:limit] if limit else chosen.items())
