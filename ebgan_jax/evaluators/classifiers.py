"""Classifiers that read samples, and the scores built on them: the EBGAN paper's I' (Zhao et al.
2017, §4.1) and the Inception-style score (Salimans et al. 2016) on digits; modes covered and KL
to uniform on stacked digits and Stacked MNIST (Metz et al. 2017; Srivastava et al. 2017), with
the Keras CNN that VEEGAN and PacGAN score MNIST with."""

from __future__ import annotations

import numpy as np

from ebgan_jax import data
from ebgan_jax.evaluators.fid import feature_statistics, frechet_distance
from ebgan_jax.evaluators.neighbours import prdc


# ----------------------------------------------------------------------------------------------
# A digits classifier and the scores built on it
# ----------------------------------------------------------------------------------------------

_CLASSIFIER_VERSION = 1
_HOLDOUT = 500


class DigitsClassifier:
  """An MLP (64-256-128-10) trained on scikit-learn's digits with 500 held out, deterministically
  (fixed split, full-batch Adam, fixed steps), cached in ``~/.cache/ebgan_jax``.

  ``features`` are the 128-d penultimate activations (for Fréchet distances); inputs are
  ``[N, H, W, 1]`` in [-1, 1], resized to 8x8 when larger.
  """

  def __init__(self, params: dict, accuracy: float):
    self.params, self.accuracy = params, accuracy

  @staticmethod
  def _forward(params, x):
    import jax.numpy as jnp
    h = x.reshape(x.shape[0], -1)
    h = jnp.tanh(h @ params["w0"] + params["b0"][None])
    feats = jnp.tanh(h @ params["w1"] + params["b1"][None])
    return feats @ params["w2"] + params["b2"][None], feats

  side = 8  # images of another size are resized to side x side
  chunk = 4096  # images per call

  def _prepare(self, images: np.ndarray) -> np.ndarray:
    images = np.asarray(images, np.float32)
    if images.shape[1:3] != (self.side, self.side):
      images = data.resize_images(images, self.side)
    return np.clip(images, -1, 1)

  def logits_and_features(self, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    import jax
    fn = jax.jit(self._forward)
    x = self._prepare(images)
    outs = [fn(self.params, x[i:i + self.chunk]) for i in range(0, len(x), self.chunk)]
    return (np.concatenate([np.asarray(o[0]) for o in outs]),
            np.concatenate([np.asarray(o[1]) for o in outs]))

  def log_probabilities(self, images: np.ndarray) -> np.ndarray:
    logits, _ = self.logits_and_features(images)
    logits = logits.astype(np.float64) - logits.max(axis=1, keepdims=True)
    return logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))

  def probabilities(self, images: np.ndarray) -> np.ndarray:
    return np.exp(self.log_probabilities(images))


def _train_digits_classifier() -> DigitsClassifier:
  import jax
  import jax.numpy as jnp
  import optax
  images, labels = data.load_digits()
  perm = np.random.default_rng(0).permutation(len(images))
  test, train = perm[:_HOLDOUT], perm[_HOLDOUT:]
  key = jax.random.PRNGKey(0)
  sizes = [(64, 256), (256, 128), (128, 10)]
  params = {}
  for i, (a, b) in enumerate(sizes):
    params[f"w{i}"] = jax.random.normal(jax.random.fold_in(key, i), (a, b)) / np.sqrt(a)
    params[f"b{i}"] = jnp.zeros((b,))
  tx = optax.adamw(3e-3, weight_decay=1e-3)
  opt_state = tx.init(params)
  x, y = jnp.asarray(images[train]), jnp.asarray(labels[train])

  @jax.jit
  def step(params, opt_state, key):
    noisy = x + 0.1 * jax.random.normal(key, x.shape)  # light augmentation against overfitting
    def loss(p):
      logits, _ = DigitsClassifier._forward(p, noisy)
      return optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()
    grads = jax.grad(loss)(params)
    with jax.numpy_dtype_promotion("standard"):  # optax's step count is int32 (bias correction)
      updates, opt_state = tx.update(grads, opt_state, params)
    return optax.apply_updates(params, updates), opt_state

  for i in range(1500):
    params, opt_state = step(params, opt_state, jax.random.PRNGKey(i))
  params = {k: np.asarray(v) for k, v in params.items()}
  logits, _ = DigitsClassifier._forward(params, jnp.asarray(images[test]))
  accuracy = float(np.mean(np.asarray(logits).argmax(1) == labels[test]))
  return DigitsClassifier(params, accuracy)


def _cached_classifier(cls, name: str, cache_dir: str | None, train):
  """``cls`` read from ``<cache_dir>/<name>.npz`` (default ``$XDG_CACHE_HOME/ebgan_jax``), or
  ``train()`` -> ``(classifier, cache)`` and, when ``cache``, saved there atomically (a
  concurrent reader never sees a partial file)."""
  import os
  cache_dir = cache_dir or os.path.join(
      os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "ebgan_jax")
  path = os.path.join(cache_dir, f"{name}.npz")
  if os.path.exists(path):
    with np.load(path) as stored:
      return cls({k: stored[k] for k in stored.files if k != "accuracy"},
                 float(stored["accuracy"]))
  classifier, cache = train()
  if not cache:
    return classifier
  try:
    os.makedirs(cache_dir, exist_ok=True)
    tmp = path + f".{os.getpid()}.npz"
    np.savez(tmp, accuracy=classifier.accuracy, **classifier.params)
    os.replace(tmp, path)
  except OSError:  # a read-only home only costs retraining next time
    pass
  return classifier


def digits_classifier(cache_dir: str | None = None) -> DigitsClassifier:
  """The digits classifier: trained on first use (about ten seconds on a CPU), then read from
  ``cache_dir`` (default ``$XDG_CACHE_HOME/ebgan_jax``)."""
  return _cached_classifier(DigitsClassifier, f"digits_classifier_v{_CLASSIFIER_VERSION}",
                            cache_dir, lambda: (_train_digits_classifier(), True))


def digit_scores(samples: np.ndarray, classifier: DigitsClassifier | None = None
                 ) -> dict[str, float]:
  """Scores of generated digits ``[N, H, W, 1]`` in [-1, 1].

  - ``ebgan_score``: the EBGAN paper's ``I' = E_x KL(p(y) || p(y|x))``: large for confident
    predictions spread over the classes, 0 for a single class (it grows with the classifier's
    confidence, so compare it only under one classifier);
  - ``inception_score``: ``exp(E_x KL(p(y|x) || p(y)))`` (at most 10, higher is better);
  - ``classes_covered``: classes that are the top prediction of at least 1% of the samples;
  - ``frechet_distance``: between the classifier features of the samples and of all real digits;
  - ``precision``, ``recall``, ``density``, ``coverage`` (:func:`prdc`) on the same features;
  - ``diversity``: the mean Euclidean distance between two samples, in pixels (of the first
    500; 0 for a generator that draws one image whatever its noise).
  """

  classifier = classifier or digits_classifier()
  log_p_yx = classifier.log_probabilities(samples)
  p_yx = np.exp(log_p_yx)
  p_y = p_yx.mean(axis=0, keepdims=True)
  log_p_y = np.log(p_y)
  kl_reverse = np.sum(p_y * (log_p_y - log_p_yx), axis=1)
  kl_forward = np.sum(p_yx * (log_p_yx - log_p_y), axis=1)
  counts = np.bincount(p_yx.argmax(1), minlength=10)
  _, fake_features = classifier.logits_and_features(samples)
  real_images, _ = data.load_digits()
  _, real_features = classifier.logits_and_features(real_images)
  fd = frechet_distance(*feature_statistics(real_features), *feature_statistics(fake_features))
  return {"ebgan_score": float(kl_reverse.mean()), "inception_score": float(np.exp(kl_forward.mean())),
          "classes_covered": int((counts >= 0.01 * len(samples)).sum()), "frechet_distance": fd,
          **prdc(real_features, fake_features), "diversity": pixel_diversity(samples)}


def pixel_diversity(samples: np.ndarray, limit: int = 500) -> float:
  """The mean Euclidean distance between two different samples of the first ``limit``."""
  x = np.asarray(samples[:limit], np.float64).reshape(min(len(samples), limit), -1)
  if len(x) < 2:
    return 0.0
  sq = np.sum(x * x, axis=1)
  d = np.sqrt(np.maximum(sq[:, None] + sq[None, :] - 2.0 * x @ x.T, 0.0))
  return float(d.sum() / (len(x) * (len(x) - 1)))


# Stacked digits: precision, recall, density and coverage on this many samples (of the 26,000
# the mode count uses) against as many real triples: the distance passes grow with the square
# of the count (26,000 would take about 30 s on 2 cores), and 10,000 is what Naeem et al. use.
STACKED_PRDC_SAMPLES = 10000
_STACKED_REFERENCE_SEED = 20200301


def _stacked_features(classifier, samples: np.ndarray) -> tuple[np.ndarray, list]:
  """Per-channel classifier outputs: the three channels' features side by side, and each
  channel's predicted digit."""
  feats, digits = [], []
  for c in range(3):
    logits, f = classifier.logits_and_features(samples[..., c:c + 1])
    feats.append(f)
    digits.append(logits.argmax(1))
  return np.concatenate(feats, axis=1), digits


def stacked_mode_stats(samples: np.ndarray, classifier=None, real: np.ndarray | None = None
                       ) -> dict[str, float]:
  """The Stacked-MNIST protocol (Srivastava et al. 2017, §5.2): each of the three channels
  classified, 1,000 modes; modes covered and ``KL(generated mode histogram || uniform)``; then
  :func:`prdc` on the three channels' classifier features side by side, for the first
  ``STACKED_PRDC_SAMPLES`` samples against the stacked images ``real`` (default: as many real
  stacked digits, drawn once from a fixed stream).

  ``classifier`` (default: the digits classifier) has ``logits_and_features`` on single-channel
  images: :class:`DigitsClassifier` for stacked digits, :class:`MnistClassifier` for Stacked
  MNIST.
  """
  classifier = classifier or digits_classifier()
  samples = np.asarray(samples, np.float32)
  features, digits = _stacked_features(classifier, samples)
  modes = digits[0] * 100 + digits[1] * 10 + digits[2]
  counts = np.bincount(modes, minlength=1000).astype(np.float64)
  p = counts / counts.sum()
  nz = p > 0
  n = min(STACKED_PRDC_SAMPLES, len(samples))
  if real is None:
    real = stacked_digits_reference(n)
  real_features, _ = _stacked_features(classifier, np.asarray(real[:n], np.float32))
  return {"modes_covered": int(nz.sum()), "kl_to_uniform": float(np.sum(p[nz] * np.log(p[nz] * 1000))),
          **prdc(real_features, features[:n])}


def stacked_digits_reference(n: int, image_size: int = 0) -> np.ndarray:
  """``n`` real stacked digits for :func:`stacked_mode_stats`, the same for every run, at the
  run's ``image_size`` (0: 8x8)."""

  return data.StackedDigitsDataset(batch_size=n, seed=_STACKED_REFERENCE_SEED,
                                   image_size=image_size).batch(0)


def stacked_mnist_reference(dataset, n: int) -> np.ndarray:
  """``n`` real Stacked-MNIST images for :func:`stacked_mode_stats`, the same for every run:
  triples drawn from all 70,000 digits by a fixed stream."""
  idx = np.random.default_rng(_STACKED_REFERENCE_SEED).integers(0, dataset.num_images, (n, 3))
  return dataset.triples(idx)


# ----------------------------------------------------------------------------------------------
# The MNIST classifier of the Stacked-MNIST protocol
# ----------------------------------------------------------------------------------------------

_MNIST_CLASSIFIER_VERSION = 1


class MnistClassifier(DigitsClassifier):
  """The CNN that VEEGAN and PacGAN score Stacked MNIST with (Keras' MNIST example): 3x3
  convolutions of 32 and 64 filters (ReLU, valid), 2x2 max-pooling, dropout 0.25, a 128-unit
  ReLU layer (the ``features``), dropout 0.5, 10 logits. Trained here with Adam (the example
  uses Adadelta for 12 epochs; the optimizer only changes how soon it reaches about 99 %).

  Inputs are ``[N, H, W, 1]`` in [-1, 1], resized to 28x28 when they are not; the reading
  (resizing, batching, probabilities) is the digits classifier's.
  """

  side, chunk = 28, 1000

  @staticmethod
  def init(key) -> dict:
    import jax
    import jax.numpy as jnp
    shapes = {"c0": (3, 3, 1, 32), "c1": (3, 3, 32, 64), "d0": (12 * 12 * 64, 128), "d1": (128, 10)}
    params = {}
    for i, (name, shape) in enumerate(shapes.items()):
      fan_in = int(np.prod(shape[:-1]))
      params[name + "_w"] = jax.random.normal(jax.random.fold_in(key, i), shape) / np.sqrt(fan_in)
      params[name + "_b"] = jnp.zeros((shape[-1],))
    return params

  @staticmethod
  def _forward(params, x, key=None):
    """``(logits, features)``; with ``key``, dropout as in training."""
    import jax
    import jax.numpy as jnp

    def conv(h, w, b):
      return jax.lax.conv_general_dilated(h, w, (1, 1), "VALID",
                                          dimension_numbers=("NHWC", "HWIO", "NHWC")) + b[None, None, None]

    def dropout(h, rate, i):
      if key is None:
        return h
      keep = jax.random.bernoulli(jax.random.fold_in(key, i), 1 - rate, h.shape)
      return jnp.where(keep, h / (1 - rate), 0.0)

    h = jax.nn.relu(conv(x, params["c0_w"], params["c0_b"]))
    h = jax.nn.relu(conv(h, params["c1_w"], params["c1_b"]))
    h = jax.lax.reduce_window(h, -jnp.inf, jax.lax.max, (1, 2, 2, 1), (1, 2, 2, 1), "VALID")
    h = dropout(h, 0.25, 0).reshape(x.shape[0], -1)
    feats = jax.nn.relu(h @ params["d0_w"] + params["d0_b"][None])
    return dropout(feats, 0.5, 1) @ params["d1_w"] + params["d1_b"][None], feats



def _mnist_split(data_dir: str, split: str) -> tuple[np.ndarray, np.ndarray, bool]:
  """All images ``[N, 28, 28, 1]`` in [-1, 1] and labels of an MNIST split, and whether the
  source is a ``tfds.testing.mock_data`` mock."""
  import tensorflow_datasets as tfds


  ds = data.tfds_dataset("mnist", split=split, data_dir=data_dir, image_size=0, batch_size=1,
                         seed=0)
  source = tfds.data_source("mnist", split=split, data_dir=data_dir or None, download=False)
  labels = np.array([int(source[i]["label"]) for i in range(len(source))], np.int32)
  return ds.examples(np.arange(ds.num_examples)), labels, ds.mocked


def train_mnist_classifier(data_dir: str = "", *, epochs: int = 3, batch_size: int = 128,
                           progress: bool = True) -> tuple[MnistClassifier, bool]:
  """Trains :class:`MnistClassifier` on MNIST's train split (deterministic: fixed key and
  order), its accuracy measured on the test split; returns it and whether the data was mocked."""
  import jax
  import optax
  from tqdm.auto import tqdm
  x, y, mocked = _mnist_split(data_dir, "train")
  tx = optax.adam(1e-3)
  params = MnistClassifier.init(jax.random.PRNGKey(0))
  opt_state = tx.init(params)

  @jax.jit
  def step(params, opt_state, xb, yb, key):
    def loss(p):
      logits, _ = MnistClassifier._forward(p, xb, key)
      return optax.softmax_cross_entropy_with_integer_labels(logits, yb).mean()
    grads = jax.grad(loss)(params)
    with jax.numpy_dtype_promotion("standard"):  # optax's step count is int32 (bias correction)
      updates, opt_state = tx.update(grads, opt_state, params)
    return optax.apply_updates(params, updates), opt_state

  batch_size = min(batch_size, len(x))
  per_epoch = len(x) // batch_size
  for i in tqdm(range(epochs * per_epoch), desc="MNIST classifier", unit="step",
                disable=not progress, dynamic_ncols=True):
    epoch, pos = divmod(i, per_epoch)
    idx = np.random.default_rng([0, epoch]).permutation(len(x))[pos * batch_size:
                                                                 (pos + 1) * batch_size]
    params, opt_state = step(params, opt_state, x[idx], y[idx], jax.random.PRNGKey(i))
  classifier = MnistClassifier({k: np.asarray(v) for k, v in params.items()}, 0.0)
  tx_, ty, _ = _mnist_split(data_dir, "test")
  logits, _ = classifier.logits_and_features(tx_)
  classifier.accuracy = float(np.mean(logits.argmax(1) == ty))
  return classifier, mocked


def mnist_classifier(data_dir: str = "", cache_dir: str | None = None,
                     progress: bool = True) -> MnistClassifier:
  """The Stacked-MNIST classifier: trained on first use from MNIST through TFDS (a few minutes
  on a CPU), then read from ``cache_dir`` (default ``$XDG_CACHE_HOME/ebgan_jax``). A classifier
  trained on ``tfds.testing.mock_data`` is never cached."""
  def train():
    classifier, mocked = train_mnist_classifier(data_dir, progress=progress)
    return classifier, not mocked
  return _cached_classifier(MnistClassifier, f"mnist_classifier_v{_MNIST_CLASSIFIER_VERSION}",
                            cache_dir, train)
