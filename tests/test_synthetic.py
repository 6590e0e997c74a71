"""The synthetic CelebA-shaped dataset: written by TFDS's builder without network or
TensorFlow, read back by the runner's TFDS path like CelebA."""

import numpy as np
import pytest

from ebgan_jax import configs, data
from ebgan_jax.data import synthetic_celeba as synthetic


def test_written_read_back_and_cropped_like_celeba(tmp_path):
  assert synthetic.main(["--data_dir", str(tmp_path), "--examples", "6"]) == 0
  import tensorflow_datasets as tfds
  source = tfds.data_source("synthetic_celeb_a", split="train", data_dir=str(tmp_path))
  assert len(source) == 6
  image = source[2]["image"]
  assert image.shape == synthetic.SHAPE and image.dtype == np.uint8
  # JPEG: what was stored decodes to one of the generated images (TFDS orders examples by a
  # hash of their keys) up to compression error
  generated = [synthetic.synthetic_image(np.random.default_rng([0, i])) for i in range(6)]
  errors = [np.abs(image.astype(float) - g).mean() for g in generated]
  assert min(errors) < 8 and sorted(errors)[1] > 30
  assert 3_000 < len(synthetic.jpeg_bytes(generated[0])) < 40_000  # CelebA's: about 10 kB
  cfg = configs.base_config().data
  cfg.name, cfg.data_dir, cfg.image_size = "synthetic_celeb_a", str(tmp_path), 64
  batch = data.make_dataset(cfg, batch_size=4, seed=0).batch(0)
  assert batch.shape == (4, 64, 64, 3) and batch.min() >= -1 and batch.max() <= 1
  # rewriting with another size would mix two datasets: refused, nothing touched
  with pytest.raises(ValueError, match="already holds 6 examples, not 9"):
    synthetic.write(str(tmp_path), 9)


def test_not_written_says_how(tmp_path):
  cfg = configs.base_config().data
  cfg.name, cfg.data_dir = "synthetic_celeb_a", str(tmp_path)
  with pytest.raises(ValueError, match="write it with: python -m ebgan_jax.data.synthetic_celeba"):
    data.make_dataset(cfg, batch_size=4, seed=0)
