"""FID (Heusel et al. 2017) and KID (Bińkowski et al. 2018) on feature vectors, and the
Inception-v3 features they are computed on for natural images."""

from __future__ import annotations

import pickle
import zipfile

import numpy as np

from ebgan_jax.evaluators.neighbours import prdc


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
  """FID and KID between two sets of Inception pool features (``ebgan_jax.evaluators.inception``),
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


def inception_notice() -> str:
  """What a run on a TFDS dataset says, once, when it has no Inception weights."""
  from ebgan_jax.evaluators import inception
  return (f"FID/KID skipped: no Inception-v3 weights; pass --config.inception_weights=PATH "
          f"(or set {inception.WEIGHTS_ENV}) to pytorch-fid's {inception.WEIGHTS_FILE}, "
          f"see docs/eval.md.")


def load_inception(weights: str | None):
  """The Inception feature extractor for a weights path (or ``$EBGAN_JAX_INCEPTION_WEIGHTS``);
  None when there are none: FID is then skipped, never faked. A file that cannot be used is a
  one-line ``ValueError``."""
  from ebgan_jax.evaluators import inception
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
