"""Evaluation metrics that mean the same as the published ones.

2-D mixtures: the PacGAN protocol (Lin et al. 2018, §5); stacked digits: the Stacked-MNIST
protocol (Metz et al. 2017; Srivastava et al. 2017, VEEGAN); digits: the EBGAN paper's score
(Zhao et al. 2017, §4.1) and the Inception-style score (Salimans et al. 2016) from a digits
classifier; natural images: FID (Heusel et al. 2017) and KID (Bińkowski et al. 2018); on
every protocol, precision and recall (Kynkäänniemi et al. 2019) and density and coverage
(Naeem et al. 2020).
"""

from __future__ import annotations

import pickle
import zipfile
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


# The real points that the generated points of a 2-D mixture are compared with: drawn once
# from a fixed stream, the same for every run, seed and step.
_MIXTURE_REFERENCE_SEED = 20190701


def mixture_scores(samples: np.ndarray, mixture) -> dict[str, float]:
  """A 2-D mixture's evaluation: :func:`mixture_mode_stats`, then :func:`prdc` on the raw
  coordinates against as many points drawn from the mixture itself."""
  real = mixture.sample(np.random.default_rng(_MIXTURE_REFERENCE_SEED), len(samples))
  return {**mixture_mode_stats(samples, mixture.modes, mixture.std), **prdc(real, samples)}


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
  """FID and KID between two sets of Inception pool features (``ebgan_jax.inception``),
  with precision, recall, density and coverage (:func:`prdc`) on the same features.

  All depend on the number of samples (FID is biased upwards for small sets): compare only
  numbers measured with the same ``fid_samples``. KID is reported x1000, as is customary.
  The nearest-neighbour metrics need more than 5 rows in each set and are left out below that.
  """
  fid = frechet_distance(*feature_statistics(real_features), *feature_statistics(fake_features))
  kid, kid_std = kernel_inception_distance(real_features, fake_features)
  n = int(min(len(real_features), len(fake_features)))
  scores = {"fid": fid, "kid_x1000": 1000 * kid, "kid_x1000_std": 1000 * kid_std, "fid_samples": n}
  if n > 5:
    scores.update(prdc(real_features, fake_features))
  return scores


# ----------------------------------------------------------------------------------------------
# Precision, recall, density and coverage on feature vectors
# ----------------------------------------------------------------------------------------------

# Rows of queries per distance block: a block is [rows, N] float32, about 200 MB for N = 50,000.
_PRDC_ROWS = 1024


def _squared_distances(a, b):
  import jax
  import jax.numpy as jnp
  # ||a||^2 + ||b||^2 - 2 a.b at full float32 precision (accelerators default to bfloat16
  # passes for matmuls); clipped at 0 against round-off.
  cross = jnp.matmul(a, b.T, precision=jax.lax.Precision.HIGHEST)
  d2 = jnp.sum(a * a, axis=1)[:, None] + jnp.sum(b * b, axis=1)[None, :] - 2.0 * cross
  return jnp.maximum(d2, 0.0)


def _nearest_block(queries, reference, k: int):
  """``[rows, k + 1]``: each query's distances to its ``k + 1`` nearest reference rows in
  ascending order; a query that is in ``reference`` is its own 0-th neighbour, as both papers
  count it for the k-NN radius."""
  import jax
  import jax.numpy as jnp
  return jnp.sqrt(-jax.lax.top_k(-_squared_distances(queries, reference), k + 1)[0])


def _ball_block(queries, centres, radii):
  """For each query row: in how many balls ``B(centres_i, radii[r, i])`` it lies, for each
  row ``r`` of ``radii`` (``[rows, R]``), and its distance to the nearest centre."""
  import jax.numpy as jnp
  d = jnp.sqrt(_squared_distances(queries, centres))
  inside = d[:, None, :] <= radii[None, :, :]
  return jnp.sum(inside, axis=2), jnp.min(d, axis=1)


_BLOCK_FNS: dict[str, Any] = {}


def _blocked(name: str, queries: np.ndarray, *args, rows: int = _PRDC_ROWS, **static):
  """``fn(query_block, *args)`` over blocks of ``rows`` query rows, concatenated, so that no
  ``[N, M]`` matrix is ever whole. The last block is padded to full size so that every block
  runs the same compiled program."""
  import jax
  if name not in _BLOCK_FNS:
    fn = {"nearest": _nearest_block, "ball": _ball_block}[name]
    _BLOCK_FNS[name] = jax.jit(fn, static_argnames=tuple(static))
  jitted = _BLOCK_FNS[name]
  n = len(queries)
  rows = min(rows, n)
  outs = []
  for start in range(0, n, rows):
    block = queries[start:start + rows]
    if len(block) < rows:
      block = np.concatenate([block, np.zeros((rows - len(block), block.shape[1]), block.dtype)])
    out = jax.device_get(jitted(block, *args, **static))
    outs.append(jax.tree.map(lambda x: x[:min(rows, n - start)], out))
  return jax.tree.map(lambda *xs: np.concatenate(xs), *outs)


def _prdc(real_features, fake_features, pr_k: int | None, dc_k: int | None) -> dict[str, float]:
  """Whichever of precision/recall (``pr_k``) and density/coverage (``dc_k``) is asked for,
  sharing the distance passes: one k-NN pass per set and one cross pass each way."""
  real = np.asarray(real_features, np.float64)
  fake = np.asarray(fake_features, np.float64)
  if real.ndim != 2 or fake.ndim != 2 or real.shape[1] != fake.shape[1]:
    raise ValueError(f"real and fake features must be [N, d] and [M, d] with the same d, got "
                     f"{real.shape} and {fake.shape}.")
  for k in (pr_k, dc_k):
    if k is not None and not 1 <= k < min(len(real), len(fake)):
      raise ValueError(f"k={k} needs 1 <= k < the size of each set ({len(real)} real, "
                       f"{len(fake)} fake); generate more samples or lower k.")
  # Centred on the real mean before going to float32: the expansion of the squared distances
  # then loses less to cancellation.
  centre = real.mean(axis=0)
  real, fake = (real - centre).astype(np.float32), (fake - centre).astype(np.float32)
  ks = [k for k in (pr_k, dc_k) if k is not None]
  real_nn = _blocked("nearest", real, real, k=max(ks))
  real_radii = np.stack([real_nn[:, k] for k in ks], axis=1)  # [N, len(ks)]
  fakes_in_real, _ = _blocked("ball", fake, real, real_radii.T)  # [M, len(ks)]
  out = {}
  if pr_k is not None:
    fake_radii = _blocked("nearest", fake, fake, k=pr_k)[:, pr_k]
    reals_in_fake, nearest_fake = _blocked("ball", real, fake, fake_radii[None])
    out.update(precision=float(np.mean(fakes_in_real[:, 0] > 0)),
               recall=float(np.mean(reals_in_fake[:, 0] > 0)), precision_recall_k=int(pr_k))
  else:
    _, nearest_fake = _blocked("ball", real, fake, np.zeros((0, len(fake)), np.float32))
  if dc_k is not None:
    col = len(ks) - 1
    out.update(density=float(fakes_in_real[:, col].sum() / (dc_k * len(fake))),
               coverage=float(np.mean(nearest_fake <= real_radii[:, col])),
               density_coverage_k=int(dc_k))
  out.update(prdc_real_samples=len(real), prdc_fake_samples=len(fake))
  return out


def precision_recall(real_features, fake_features, k: int = 3) -> dict[str, float]:
  """Improved precision and recall (Kynkäänniemi et al. 2019, §2), on any features.

  Each set's manifold is the union of balls around its points, of radius the distance to the
  point's ``k``-th nearest neighbour in its own set. Precision is the fraction of fake points
  inside the real manifold (quality); recall the fraction of real points inside the fake
  manifold (diversity). Distances are computed in blocks of rows, so two sets of 50,000 never
  hold a 50,000 x 50,000 matrix. Both depend on ``k`` and on the set sizes, which are returned
  with them.

  Args:
    real_features: ``[N, d]``, N > k.
    fake_features: ``[M, d]``, M > k.
    k: the neighbour that sets each ball's radius (3 in the paper and StyleGAN2-ADA's pr50k3).

  Returns:
    ``precision`` and ``recall`` in [0, 1], ``precision_recall_k``, ``prdc_real_samples``,
    ``prdc_fake_samples``.
  """
  return _prdc(real_features, fake_features, k, None)


def density_coverage(real_features, fake_features, k: int = 5) -> dict[str, float]:
  """Density and coverage (Naeem et al. 2020, §3), on any features.

  With ``B_i`` the ball around real point ``i`` whose radius is its ``k``-th nearest-neighbour
  distance among the real points: density ``= 1 / (k M) sum_j #{i : fake_j in B_i}`` (about 1
  when the fakes are distributed like the reals, above 1 where they crowd dense regions) and
  coverage the fraction of real balls that hold at least one fake. Unlike precision and
  recall, both use only the real manifold, so a few outlying points cannot inflate them.

  Args:
    real_features: ``[N, d]``, N > k.
    fake_features: ``[M, d]``, M > k.
    k: the neighbour that sets each ball's radius (5 in the paper).

  Returns:
    ``density`` (>= 0) and ``coverage`` in [0, 1], ``density_coverage_k``,
    ``prdc_real_samples``, ``prdc_fake_samples``.
  """
  return _prdc(real_features, fake_features, None, k)


def prdc(real_features, fake_features, *, pr_k: int = 3, dc_k: int = 5) -> dict[str, float]:
  """:func:`precision_recall` and :func:`density_coverage` in one dict, sharing their
  distance computations."""
  return _prdc(real_features, fake_features, pr_k, dc_k)


# Image datasets measured by FID/KID with the Inception-v3 (the embedded digits have their own
# classifier; the 2-D mixtures and stacked digits their mode counts).
INCEPTION_DATASETS = ("mnist", "celeb_a", "lsun/bedroom")


def inception_notice() -> str:
  """What a run on a TFDS dataset says, once, when it has no Inception weights."""
  from ebgan_jax import inception
  return (f"FID/KID skipped: no Inception-v3 weights; pass --config.inception_weights=PATH "
          f"(or set {inception.WEIGHTS_ENV}) to pytorch-fid's {inception.WEIGHTS_FILE}, "
          f"see docs/eval.md.")


def load_inception(weights: str | None):
  """The Inception feature extractor for a weights path (or ``$EBGAN_JAX_INCEPTION_WEIGHTS``);
  None when there are none: FID is then skipped, never faked. A file that cannot be used is a
  one-line ``ValueError``."""
  from ebgan_jax import inception
  path = inception.resolve_weights(weights)
  if not path:
    return None
  try:
    return inception.InceptionFeatures.from_file(path)
  except (ValueError, OSError, EOFError, KeyError, zipfile.BadZipFile,
          pickle.UnpicklingError) as e:
    reason = str(e).splitlines()[0] if str(e) else type(e).__name__
    raise ValueError(f"Inception weights {path} cannot be used ({reason}); pass pytorch-fid's "
                     f"{inception.WEIGHTS_FILE} or its .npz conversion (docs/eval.md), or leave "
                     "config.inception_weights empty to skip FID/KID.") from None


def real_inception_features(dataset, n: int, extractor, progress: bool = True) -> np.ndarray:
  """Features of ``n`` real images: the first ``n`` of one fixed permutation of the dataset,
  the same for every run and seed."""
  n = min(n, dataset.num_examples)
  indices = np.random.default_rng(0).permutation(dataset.num_examples)[:n]
  images = np.concatenate([dataset.examples(np.sort(indices[i:i + 500]))
                           for i in range(0, n, 500)])
  return extractor.features(images, progress=progress, desc="FID real")


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
    from ebgan_jax import data
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
  - ``precision``, ``recall``, ``density``, ``coverage`` (:func:`prdc`) on the same features.
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
          "classes_covered": int((counts >= 0.01 * len(samples)).sum()), "frechet_distance": fd,
          **prdc(real_features, fake_features)}


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
  from ebgan_jax import data
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
  from ebgan_jax import data
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

  from ebgan_jax import data
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
  try:
    os.makedirs(cache_dir, exist_ok=True)
    tmp = path + f".{os.getpid()}.npz"
    np.savez(tmp, accuracy=classifier.accuracy, **classifier.params)
    os.replace(tmp, path)
  except OSError:  # a read-only home only costs retraining next time
    pass
  return classifier
