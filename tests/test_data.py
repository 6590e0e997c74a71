"""Datasets: embedded digits and mixtures, and TFDS through mock data (no network)."""

import numpy as np
import pytest
import tensorflow_datasets as tfds

from ebgan_jax import configs, data
from ebgan_jax.data import tfds_images


def test_digits_are_real_and_scaled():
  images, labels = data.load_digits()
  assert images.shape == (1797, 8, 8, 1) and labels.shape == (1797,)
  assert images.min() == -1.0 and images.max() == 1.0
  assert set(labels.tolist()) == set(range(10))
  big, _ = data.load_digits(16)
  assert big.shape == (1797, 16, 16, 1) and big.min() >= -1.0 and big.max() <= 1.0


def test_batches_are_a_function_of_step_and_walk_epochs():
  ds = data.array_dataset("x", np.arange(10, dtype=np.float32)[:, None], batch_size=4, seed=3)
  assert ds.steps_per_epoch == 2
  np.testing.assert_array_equal(ds.batch(5), ds.batch(5))
  epoch0 = np.concatenate([ds.batch(0), ds.batch(1)]).ravel()
  assert len(set(epoch0.tolist())) == 8  # no repeats inside an epoch
  assert not np.array_equal(ds.indices(0), ds.indices(2))  # a fresh permutation per epoch
  with pytest.raises(ValueError, match=r"fewer than the 4 that one step reads \(config.batch_size "
                                       r"× config.pack\); lower config.batch_size or config.pack"):
    data.array_dataset("x", np.zeros((3, 1)), batch_size=4, seed=0)


def test_mixtures_follow_the_protocol():
  ring, grid = data.ring_mixture(), data.grid_mixture()
  assert ring.modes.shape == (8, 2) and ring.std == 0.01
  np.testing.assert_allclose(np.linalg.norm(ring.modes, axis=1), 1.0)
  assert grid.modes.shape == (25, 2) and grid.std == 0.05
  assert sorted(set(grid.modes[:, 0].tolist())) == [-4, -2, 0, 2, 4]
  ds = data.MixtureDataset(ring, batch_size=500, seed=0)
  x = ds.batch(0)
  assert x.shape == (500, 2) and x.dtype == np.float32
  np.testing.assert_array_equal(x, ds.batch(0))
  assert not np.array_equal(x, ds.batch(1))
  nearest = np.linalg.norm(x[:, None] - ring.modes[None], axis=-1).min(1)
  assert nearest.max() < 6 * ring.std


def test_mnist_through_tfds_mock(tmp_path):
  cfg = configs.base_config().data
  cfg.name, cfg.data_dir = "mnist", str(tmp_path)
  with tfds.testing.mock_data(num_examples=16):
    ds = data.make_dataset(cfg, batch_size=8, seed=0)
    batch = ds.batch(3)
  assert ds.shape == (28, 28, 1) and batch.shape == (8, 28, 28, 1)
  assert batch.dtype == np.float32 and batch.min() >= -1.0 and batch.max() <= 1.0


def test_celeba_is_cropped_and_resized_to_64(tmp_path):
  cfg = configs.base_config().data
  cfg.name, cfg.data_dir, cfg.image_size = "celeb_a", str(tmp_path), 64
  with tfds.testing.mock_data(num_examples=8):
    batch = data.make_dataset(cfg, batch_size=4, seed=0).batch(0)
  assert batch.shape == (4, 64, 64, 3) and batch.min() >= -1.0 and batch.max() <= 1.0


def test_lsun_bedrooms_are_centre_cropped_and_resized_to_64(tmp_path):
  cfg = configs.base_config().data
  cfg.name, cfg.data_dir, cfg.image_size = "lsun/bedroom", str(tmp_path), 64
  with tfds.testing.mock_data(num_examples=8):
    batch = data.make_dataset(cfg, batch_size=4, seed=0).batch(0)
  assert batch.shape == (4, 64, 64, 3) and batch.min() >= -1.0 and batch.max() <= 1.0
  # the crop is the central square: a 4x6 image keeps its columns 1 to 4
  image = np.arange(4 * 6 * 3, dtype=np.uint8).reshape(4, 6, 3)
  np.testing.assert_array_equal(tfds_images._centre_crop(4)(image), image[:, 1:5])


@pytest.mark.parametrize("name", ["mnist", "lsun/bedroom"])
def test_unprepared_tfds_dataset_says_how_to_prepare(tmp_path, name):
  cfg = configs.base_config().data
  cfg.name, cfg.data_dir = name, str(tmp_path)
  with pytest.raises(ValueError, match=rf"not prepared.*tfds build {name} --file_format=array_record"):
    data.make_dataset(cfg, batch_size=8, seed=0)


def test_nan_in_a_batch_is_named():
  with pytest.raises(ValueError, match="step 7 from 'digits' holds NaN"):
    data.check_finite(np.array([0.0, np.nan]), 7, "digits")
