"""Evaluation metrics that mean the same as the published ones (SPEC §9)."""

from __future__ import annotations

from typing import Any

import numpy as np


def mixture_mode_stats(samples: np.ndarray, modes: np.ndarray, std: float) -> dict[str, float]:
  """The PacGAN protocol on a 2-D Gaussian mixture.

  A sample is of high quality when it lies within 3 std of its nearest mode; a mode is covered
  when at least one high-quality sample is nearest to it. The reverse KL compares the histogram
  of high-quality samples over modes with the uniform distribution (``KL(hist || uniform)``);
  with no high-quality sample it is infinite.

  Returns:
    ``modes_covered`` (count), ``high_quality`` (fraction in [0, 1]), ``reverse_kl`` (nats).
  """
  samples, modes = np.asarray(samples, np.float64), np.asarray(modes, np.float64)
  dist = np.linalg.norm(samples[:, None, :] - modes[None, :, :], axis=-1)
  nearest = dist.argmin(axis=1)
  good = dist[np.arange(len(samples)), nearest] <= 3.0 * std
  counts = np.bincount(nearest[good], minlength=len(modes)).astype(np.float64)
  if counts.sum() == 0:
    reverse_kl = float("inf")
  else:
    p = counts / counts.sum()
    nz = p > 0
    reverse_kl = float(np.sum(p[nz] * np.log(p[nz] * len(modes))))
  return {"modes_covered": int((counts > 0).sum()), "high_quality": float(good.mean()),
          "reverse_kl": reverse_kl}


def vae_log_likelihood(encode, decode, log_likelihood, x, *, num_samples: int, key,
                       example_chunk: int = 50, sample_chunk: int = 500) -> dict[str, float]:
  """Importance-sampled ``log p(x)`` of a VAE (Burda et al. 2016) and its ELBO, in nats.

  ``log p(x) ~= logmeanexp_k [log p(x, z_k) - log q(z_k | x)]``, ``z_k ~ q(z | x)``, with
  ``num_samples`` = K samples per example, computed in chunks so that memory stays bounded.
  The ELBO is the mean of the same log weights (K = 1 in expectation); the IW estimate is at
  least that.

  Args:
    encode: ``x -> (mean, log_var)``.
    decode: ``z [N, D] -> decoded [N, ...]`` (logits for a Bernoulli decoder).
    log_likelihood: ``(x [N, ...], decoded [N, ...]) -> [N]`` log p(x | z).
    x: ``[B, ...]`` decoder targets.
  """
  import jax
  import jax.numpy as jnp
  from ebgan_jax import losses

  @jax.jit
  def log_weights(xb, key):
    mean, log_var = encode(xb)
    eps = jax.random.normal(key, (sample_chunk,) + mean.shape)
    z = mean[None] + jnp.exp(0.5 * log_var)[None] * eps  # [S, b, D]
    decoded = decode(z.reshape((-1,) + mean.shape[1:])).reshape((sample_chunk,) + xb.shape)
    log_px_z = jax.vmap(log_likelihood, in_axes=(None, 0))(xb, decoded)
    log_pz = losses.gaussian_log_density(z, jnp.zeros_like(z), jnp.zeros_like(z))
    log_qz = losses.gaussian_log_density(z, mean, log_var)
    return log_px_z + log_pz - log_qz  # [S, b]

  n_chunks = max(1, -(-num_samples // sample_chunk))
  iw, elbo = [], []
  for start in range(0, len(x), example_chunk):
    xb = jnp.asarray(x[start:start + example_chunk])
    w = jnp.concatenate([log_weights(xb, jax.random.fold_in(jax.random.fold_in(key, start), c))
                         for c in range(n_chunks)])[:num_samples]
    iw.append(np.asarray(jax.nn.logsumexp(w, axis=0) - jnp.log(w.shape[0])))
    elbo.append(np.asarray(jnp.mean(w, axis=0)))
  return {"iw_log_likelihood": float(np.concatenate(iw).mean()),
          "elbo_estimate": float(np.concatenate(elbo).mean()), "importance_samples": num_samples,
          "examples": int(len(x))}


# ----------------------------------------------------------------------------------------------
# Fréchet distance and KID on feature vectors
# ----------------------------------------------------------------------------------------------

def feature_statistics(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
  features = np.asarray(features, np.float64)
  return features.mean(axis=0), np.cov(features, rowvar=False)


def frechet_distance(mu1, sigma1, mu2, sigma2) -> float:
  """``||mu1 - mu2||^2 + Tr(S1 + S2 - 2 (S1 S2)^(1/2))`` (Heusel et al. 2017).

  ``Tr((S1 S2)^(1/2))`` is computed as the sum of the square roots of the eigenvalues of the
  symmetric ``S1^(1/2) S2 S1^(1/2)``: exact, and free of the complex round-off of ``sqrtm``.
  """
  mu1, mu2 = np.asarray(mu1, np.float64), np.asarray(mu2, np.float64)
  s1, s2 = np.atleast_2d(sigma1).astype(np.float64), np.atleast_2d(sigma2).astype(np.float64)
  w, v = np.linalg.eigh(s1)
  root1 = (v * np.sqrt(np.clip(w, 0, None))) @ v.T
  eig = np.linalg.eigvalsh(root1 @ s2 @ root1)
  trace_sqrt = np.sum(np.sqrt(np.clip(eig, 0, None)))
  return float(np.sum((mu1 - mu2) ** 2) + np.trace(s1) + np.trace(s2) - 2 * trace_sqrt)


def kernel_inception_distance(f1: np.ndarray, f2: np.ndarray, *, subsets: int = 10,
                              subset_size: int = 1000, seed: int = 0) -> tuple[float, float]:
  """KID (Bińkowski et al. 2018): the unbiased MMD² with the kernel ``(x.y / d + 1)^3``,
  mean and std over random subsets."""
  f1, f2 = np.asarray(f1, np.float64), np.asarray(f2, np.float64)
  d = f1.shape[1]
  m = min(subset_size, len(f1), len(f2))
  rng = np.random.default_rng(seed)
  values = []
  for _ in range(subsets):
    x = f1[rng.choice(len(f1), m, replace=False)]
    y = f2[rng.choice(len(f2), m, replace=False)]
    kxx, kyy, kxy = ((x @ x.T / d + 1) ** 3, (y @ y.T / d + 1) ** 3, (x @ y.T / d + 1) ** 3)
    values.append((kxx.sum() - np.trace(kxx)) / (m * (m - 1))
                  + (kyy.sum() - np.trace(kyy)) / (m * (m - 1)) - 2 * kxy.mean())
  return float(np.mean(values)), float(np.std(values))


def fid_kid(real_features: np.ndarray, fake_features: np.ndarray) -> dict[str, float]:
  """FID and KID between two sets of Inception pool features (``ebgan_jax.inception``).

  Both depend on the number of samples (FID is biased upwards for small sets): compare only
  numbers measured with the same ``fid_samples``. KID is reported x1000, as is customary.
  """
  fid = frechet_distance(*feature_statistics(real_features), *feature_statistics(fake_features))
  kid, kid_std = kernel_inception_distance(real_features, fake_features)
  return {"fid": fid, "kid_x1000": 1000 * kid, "kid_x1000_std": 1000 * kid_std,
          "fid_samples": int(min(len(real_features), len(fake_features)))}


# Image datasets measured by FID/KID with the Inception-v3 (the embedded digits have their own
# classifier; the 2-D mixtures and stacked digits their mode counts).
INCEPTION_DATASETS = ("mnist", "celeb_a")
_EXTRACTORS: dict[str, Any] = {}
_REAL_FEATURES: dict[tuple, np.ndarray] = {}
_NOTICE_SHOWN = False


def inception_extractor(weights: str | None):
  """The Inception feature extractor for a weights path (loaded once per process), or None
  with a one-line notice (once) when no weights are given: FID is then skipped, never faked."""
  global _NOTICE_SHOWN
  from ebgan_jax import inception
  path = inception.resolve_weights(weights)
  if not path:
    if not _NOTICE_SHOWN:
      print(f"FID/KID skipped: no Inception-v3 weights; pass --config.inception_weights=PATH "
            f"(or set {inception.WEIGHTS_ENV}) to pytorch-fid's {inception.WEIGHTS_FILE}, "
            f"see docs/eval.md.", flush=True)
      _NOTICE_SHOWN = True
    return None
  if path not in _EXTRACTORS:
    _EXTRACTORS[path] = inception.InceptionFeatures.from_file(path)
  return _EXTRACTORS[path]


def real_inception_features(dataset, n: int, extractor, progress: bool = True) -> np.ndarray:
  """Features of ``n`` real images: the first ``n`` of one fixed permutation of the dataset,
  the same for every run and seed, computed once per process."""
  n = min(n, dataset.num_examples)
  key = (dataset.name, dataset.num_examples, n, extractor.source)
  if key not in _REAL_FEATURES:
    indices = np.random.default_rng(0).permutation(dataset.num_examples)[:n]
    images = np.concatenate([dataset.examples(np.sort(indices[i:i + 500]))
                             for i in range(0, n, 500)])
    _REAL_FEATURES[key] = extractor.features(images, progress=progress, desc="FID real")
  return _REAL_FEATURES[key]


# ----------------------------------------------------------------------------------------------
# A digits classifier and the scores built on it (SPEC §9)
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

  def _prepare(self, images: np.ndarray) -> np.ndarray:
    from ebgan_jax import data
    images = np.asarray(images, np.float32)
    if images.shape[1:3] != (8, 8):
      images = data.resize_images(images, 8)
    return np.clip(images, -1, 1)

  def logits_and_features(self, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    import jax
    fn = jax.jit(self._forward)
    x = self._prepare(images)
    outs = [fn(self.params, x[i:i + 4096]) for i in range(0, len(x), 4096)]
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
  from ebgan_jax import data
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
    updates, opt_state = tx.update(grads, opt_state, params)
    return optax.apply_updates(params, updates), opt_state

  for i in range(1500):
    params, opt_state = step(params, opt_state, jax.random.PRNGKey(i))
  params = {k: np.asarray(v) for k, v in params.items()}
  logits, _ = DigitsClassifier._forward(params, jnp.asarray(images[test]))
  accuracy = float(np.mean(np.asarray(logits).argmax(1) == labels[test]))
  return DigitsClassifier(params, accuracy)


_CLASSIFIER: DigitsClassifier | None = None


def digits_classifier(cache_dir: str | None = None) -> DigitsClassifier:
  """The cached classifier (trained on first use, about ten seconds on a CPU)."""
  import os
  global _CLASSIFIER
  if _CLASSIFIER is not None:
    return _CLASSIFIER
  cache_dir = cache_dir or os.path.join(
      os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "ebgan_jax")
  path = os.path.join(cache_dir, f"digits_classifier_v{_CLASSIFIER_VERSION}.npz")
  if os.path.exists(path):
    stored = np.load(path)
    _CLASSIFIER = DigitsClassifier({k: stored[k] for k in stored.files if k != "accuracy"},
                                   float(stored["accuracy"]))
    return _CLASSIFIER
  _CLASSIFIER = _train_digits_classifier()
  try:
    os.makedirs(cache_dir, exist_ok=True)
    tmp = path + f".{os.getpid()}.npz"
    np.savez(tmp, accuracy=_CLASSIFIER.accuracy, **_CLASSIFIER.params)
    os.replace(tmp, path)
  except OSError:  # a read-only home only costs retraining next time
    pass
  return _CLASSIFIER


def digit_scores(samples: np.ndarray, classifier: DigitsClassifier | None = None
                 ) -> dict[str, float]:
  """Scores of generated digits ``[N, H, W, 1]`` in [-1, 1] (SPEC §9).

  - ``ebgan_score``: the EBGAN paper's ``I' = E_x KL(p(y) || p(y|x))``: large for confident
    predictions spread over the classes, 0 for a single class (it grows with the classifier's
    confidence, so compare it only under one classifier);
  - ``inception_score``: ``exp(E_x KL(p(y|x) || p(y)))`` (at most 10, higher is better);
  - ``classes_covered``: classes that are the top prediction of at least 1% of the samples;
  - ``frechet_distance``: between the classifier features of the samples and of all real digits.
  """
  from ebgan_jax import data
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
          "classes_covered": int((counts >= 0.01 * len(samples)).sum()), "frechet_distance": fd}


def stacked_mode_stats(samples: np.ndarray, classifier: DigitsClassifier | None = None
                       ) -> dict[str, float]:
  """Stacked-digits protocol: each of the three channels classified, 1,000 modes; modes
  covered and ``KL(generated mode histogram || uniform)``."""
  classifier = classifier or digits_classifier()
  samples = np.asarray(samples, np.float32)
  digits = [classifier.probabilities(samples[..., c:c + 1]).argmax(1) for c in range(3)]
  modes = digits[0] * 100 + digits[1] * 10 + digits[2]
  counts = np.bincount(modes, minlength=1000).astype(np.float64)
  p = counts / counts.sum()
  nz = p > 0
  return {"modes_covered": int(nz.sum()), "kl_to_uniform": float(np.sum(p[nz] * np.log(p[nz] * 1000)))}
