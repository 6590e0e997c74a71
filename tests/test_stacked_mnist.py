"""Stacked MNIST (VEEGAN's and PacGAN's protocol): the data from TFDS, the TensorFlow DCGAN at
28x28, the generator's repeated update, the MNIST classifier and the mode count, on TFDS mock
data and hand-made inputs."""

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import tensorflow_datasets as tfds

from ebgan_jax import configs, data, evaluators as evaluation, main, models
from ebgan_jax.evaluators import protocols


def stacked_cfg(tmp_path, train_points=40):
  cfg = configs.base_config().data
  cfg.name, cfg.data_dir, cfg.train_points = "stacked_mnist", str(tmp_path), train_points
  return cfg


def test_stacked_mnist_stacks_three_images_of_train_and_test(tmp_path):
  with tfds.testing.mock_data(num_examples=12):
    ds = data.make_dataset(stacked_cfg(tmp_path), batch_size=8, seed=0)
    train = data.make_dataset(configs.with_values(configs.base_config(), **{
        "data.name": "mnist", "data.data_dir": str(tmp_path)}).data, batch_size=1, seed=0)
    test = data.tfds_dataset("mnist", split="test", data_dir=str(tmp_path), image_size=0,
                             batch_size=1, seed=0)
    assert ds.shape == (28, 28, 3) and ds.num_images == 24
    # indices run through the train split, then the test split
    idx = np.array([0, 11, 12, 23])
    np.testing.assert_array_equal(ds.images(idx), np.concatenate(
        [train.examples(np.array([0, 11])), test.examples(np.array([0, 11]))]))
    triples = np.array([[3, 15, 7], [20, 1, 1]])
    stacked = ds.triples(triples)
    assert stacked.shape == (2, 28, 28, 3)
    for c in range(3):
      np.testing.assert_array_equal(stacked[..., c:c + 1], ds.images(triples[:, c]))
    batch = ds.batch(4)
    assert batch.shape == (8, 28, 28, 3) and batch.dtype == np.float32
    np.testing.assert_array_equal(batch, ds.batch(4))
    # the fixed set of triples is the same for every seed; the order in which it is walked is not
    other = data.make_dataset(stacked_cfg(tmp_path), batch_size=8, seed=1)
    epoch = lambda d: np.concatenate([d.batch(s) for s in range(5)])  # 40 triples, 5 steps
    np.testing.assert_array_equal(np.sort(epoch(ds).reshape(40, -1), axis=0),
                                  np.sort(epoch(other).reshape(40, -1), axis=0))
    assert not np.array_equal(ds.batch(0), other.batch(0))
    fresh = data.make_dataset(stacked_cfg(tmp_path, train_points=0), batch_size=8, seed=0)
    assert fresh.batch(0).shape == (8, 28, 28, 3)
    assert not np.array_equal(fresh.batch(0), fresh.batch(1))


def test_the_tf_dcgan_has_the_released_sizes():
  assert models.halved_sides(28) == [28, 14, 7, 4, 2]
  config = configs.load_config("stacked_mnist_gan")
  g, d = models.make_models(config.model, (28, 28, 3), "logit")
  z = jnp.zeros((2, 100))
  g_vars = g.init({"params": jax.random.PRNGKey(0)}, z, train=False)
  x = g.apply(g_vars, z, train=False)
  assert x.shape == (2, 28, 28, 3) and float(jnp.abs(x).max()) <= 1.0
  d_vars = d.init({"params": jax.random.PRNGKey(1)}, x, train=False)
  assert d.apply(d_vars, x, train=False).shape == (2,)
  count = lambda v: sum(a.size for a in jax.tree.leaves(v["params"]))
  # Generator: linear 100 -> 2*2*512 (+ bias), BatchNorm over the 512 channels; 5x5 transposed
  # convs 512 -> 256 -> 128 -> 64 without biases, each with BatchNorm; 64 -> 3 with a bias.
  bn = lambda n: 2 * n  # scale and offset
  g_expected = (100 * 2048 + 2048 + bn(512) + 25 * 512 * 256 + bn(256) + 25 * 256 * 128
                + bn(128) + 25 * 128 * 64 + bn(64) + 25 * 64 * 3 + 3)
  # Discriminator: 5x5 convs 3 -> 64 (+ bias), 64 -> 128 -> 256 -> 512 with BatchNorm, logit.
  d_expected = (25 * 3 * 64 + 64 + 25 * 64 * 128 + bn(128) + 25 * 128 * 256 + bn(256)
                + 25 * 256 * 512 + bn(512) + 2 * 2 * 512 + 1)
  assert (count(g_vars), count(d_vars)) == (g_expected, d_expected)
  # the auto-encoder of the energy-based models, packed: two images along the channels
  _, ae = models.make_models(config.model, (28, 28, 3), "autoencoder", pack=2)
  packed = jnp.zeros((2, 28, 28, 6))
  rec, code = ae.apply(ae.init({"params": jax.random.PRNGKey(2)}, packed, train=False), packed,
                       train=False)
  assert rec.shape == packed.shape and code.shape == (2, 2 * 2 * 512)
  with pytest.raises(ValueError, match="square images of side at least 16"):
    models.make_models(config.model, (8, 8, 3), "logit")


def _reference_forward(p, x):
  """The classifier in plain NumPy: valid 3x3 convolutions, ReLU, 2x2 max-pool, dense."""
  def conv(h, w, b):
    k = w.shape[0]
    out = np.zeros((h.shape[0], h.shape[1] - k + 1, h.shape[2] - k + 1, w.shape[3]))
    for i in range(out.shape[1]):
      for j in range(out.shape[2]):
        out[:, i, j] = np.einsum("bhwc,hwcf->bf", h[:, i:i + k, j:j + k], w)
    return out + b
  h = np.maximum(conv(x, p["c0_w"], p["c0_b"]), 0)
  h = np.maximum(conv(h, p["c1_w"], p["c1_b"]), 0)
  n, s = h.shape[0], h.shape[1] // 2
  h = h[:, :2 * s, :2 * s].reshape(n, s, 2, s, 2, -1).max(axis=(2, 4)).reshape(n, -1)
  feats = np.maximum(h @ p["d0_w"] + p["d0_b"], 0)
  return feats @ p["d1_w"] + p["d1_b"], feats


def test_the_mnist_classifier_is_the_keras_network():
  params = {k: np.asarray(v, np.float64) for k, v in
            evaluation.MnistClassifier.init(jax.random.PRNGKey(0)).items()}
  params = {k: v + 0.01 * np.random.default_rng(1).standard_normal(v.shape)
            for k, v in params.items()}  # nonzero biases
  x = np.random.default_rng(0).uniform(-1, 1, (2, 28, 28, 1))
  classifier = evaluation.MnistClassifier({k: v.astype(np.float32) for k, v in params.items()},
                                          1.0)
  logits, feats = classifier.logits_and_features(x.astype(np.float32))
  ref_logits, ref_feats = _reference_forward(params, x)
  np.testing.assert_allclose(feats, ref_feats, rtol=1e-4, atol=1e-4)
  np.testing.assert_allclose(logits, ref_logits, rtol=1e-4, atol=1e-4)


class _PixelClassifier:
  """Reads the digit a stacked channel encodes in its first pixel: ``(value + 1) * 4.5``."""

  def logits_and_features(self, images):
    digit = np.rint((images[:, 0, 0, 0] + 1) * 4.5).astype(int)
    return np.eye(10)[digit] * 10.0, np.eye(10)[digit]


def test_stacked_modes_and_kl_count_the_three_channels():
  # 6 samples of mode 012, 2 of mode 999: two modes, p = (3/4, 1/4)
  digits = np.array([[0, 1, 2]] * 6 + [[9, 9, 9]] * 2)
  samples = np.broadcast_to((digits / 4.5 - 1)[:, None, None, :], (8, 2, 2, 3)).astype(np.float32)
  stats = evaluation.stacked_mode_stats(samples, _PixelClassifier(), real=samples)
  assert stats["modes_covered"] == 2
  expected_kl = 0.75 * np.log(0.75 * 1000) + 0.25 * np.log(0.25 * 1000)
  np.testing.assert_allclose(stats["kl_to_uniform"], expected_kl, rtol=1e-12)


@pytest.mark.slow  # the stacked protocol's fast path: the stacked_digits runs of test_family
def test_stacked_mnist_gan_trains_and_is_scored_on_mock_data(tmp_path, monkeypatch):
  monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
  monkeypatch.setattr(protocols, "STACKED_SAMPLES", 64)
  args = ["--config", "stacked_mnist_gan", "--workdir", str(tmp_path / "run"), "--no_progress",
          "--config.num_steps=2", "--config.log_every=1", "--config.sample_every=1000",
          "--config.batch_size=4", "--config.pack=2", "--config.data.train_points=16",
          "--config.model.features_g=4", "--config.model.features_d=4",
          f"--config.data.data_dir={tmp_path}", "--config.num_samples=4"]
  with tfds.testing.mock_data(num_examples=8):
    assert main.main(args) == 0
  summary = json.loads((tmp_path / "run" / "summary.json").read_text())
  assert 1 <= summary["modes_covered"] <= 64 and np.isfinite(summary["kl_to_uniform"])
  # a classifier trained on mock data is never cached
  assert not (tmp_path / "cache").exists() or not list((tmp_path / "cache").rglob("mnist*"))


def test_the_embedded_stacked_digits_run_the_same_protocol():
  config = configs.stacked_digits_config("gan", pack=2)
  mnist = configs.stacked_mnist_config("gan", pack=2)
  differ = {k for k, v in configs.flatten(config.to_dict()).items()
            if configs.flatten(mnist.to_dict())[k] != v}
  assert differ == {"data.name", "data.image_size"} and config.data.image_size == 28
  assert data.example_shape(config.data) == (28, 28, 3)
  cfg = configs.with_values(config, **{"data.train_points": 40}).data
  ds = data.make_dataset(cfg, batch_size=8, seed=0)
  other = data.make_dataset(cfg, batch_size=8, seed=1)
  digits, _ = data.load_digits(28)
  # every image is three resized digits, and the 40 fixed triples are the same for every seed
  batch = ds.batch(3)
  assert batch.shape == (8, 28, 28, 3)
  flat = digits.reshape(len(digits), -1)
  for c in range(3):
    channel = batch[..., c].reshape(8, 1, -1)
    assert np.all(np.min(np.abs(flat[None] - channel).max(-1), axis=1) == 0)
  epoch = lambda d: np.sort(np.concatenate([d.batch(s) for s in range(5)]).reshape(40, -1), 0)
  np.testing.assert_array_equal(epoch(ds), epoch(other))
  assert not np.array_equal(ds.batch(0), other.batch(0))
  # the real reference of the scores is at the run's size, the same stacks as at 8x8
  small, large = evaluation.stacked_digits_reference(6), evaluation.stacked_digits_reference(6, 28)
  assert small.shape == (6, 8, 8, 3) and large.shape == (6, 28, 28, 3)
  digits8, _ = data.load_digits()
  for c in range(3):
    which = [int(np.flatnonzero((digits8[..., 0] == im).all((1, 2)))[0]) for im in small[..., c]]
    np.testing.assert_array_equal(large[..., c], digits[which, ..., 0])
