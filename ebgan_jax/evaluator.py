"""The evaluation protocol of a dataset, chosen in one place for the runner and ``make eval``.

- 2-D mixtures: modes covered, % high quality, reverse KL and precision/recall/density/coverage
  on 2,500 samples from the fixed noise of the plots (PacGAN, Lin et al. 2018, §5.1);
- digits: the digits classifier's scores on ``eval_samples`` samples;
- stacked digits and Stacked MNIST: modes out of 1,000 and KL to uniform on 26,000 samples,
  each channel read by the digits classifier or by the MNIST classifier;
- TFDS images: FID and KID of Inception-v3 features against as many real images, when weights
  are given (otherwise a one-line notice, once, and no FID).
"""

from __future__ import annotations

from typing import Callable

import jax
import ml_collections
import numpy as np

from ebgan_jax import data, eval as evaluation
from ebgan_jax.pictures import MIXTURE_SAMPLES, sample_noise
from ebgan_jax.state import SAMPLE_STREAM, sample_latent

# Samples of one generator call while evaluating: thousands of 64x64 samples at once would hold
# gigabytes of activations.
_CHUNK = 1000
STACKED_SAMPLES = 26000  # the Stacked-MNIST protocol (Srivastava et al. 2017)


def protocol(dataset) -> str | None:
  """``"mixture"``, ``"digits"``, ``"stacked_digits"``, ``"stacked_mnist"``, ``"inception"``
  or None (no protocol)."""
  if isinstance(dataset, data.MixtureDataset):
    return "mixture"
  if dataset.name in ("digits", "stacked_digits", "stacked_mnist"):
    return dataset.name
  if dataset.name in evaluation.INCEPTION_DATASETS:
    return "inception"
  return None


class Evaluator:
  """Created once per run: holds what the protocol needs across evaluations (the Inception
  extractor and the real images' features, the digits classifier).

  Creating it reads the Inception weights, so that a bad file stops a run before it trains.
  """

  def __init__(self, config: ml_collections.ConfigDict, dataset, progress: bool = True):
    self.config, self.dataset, self.progress = config, dataset, progress
    self.protocol = protocol(dataset)
    self.extractor = None
    self._real_features = None
    self._real_images = None  # Stacked MNIST's reference triples
    self._classifier = None
    if self.protocol == "inception":
      self.extractor = evaluation.load_inception(config.get("inception_weights"))
      if self.extractor is None:
        print(evaluation.inception_notice(), flush=True)

  @property
  def classifier(self) -> evaluation.DigitsClassifier | evaluation.MnistClassifier:
    """The classifier that reads the samples: MNIST's for Stacked MNIST, else the digits'."""
    if self._classifier is None:
      self._classifier = (
          evaluation.mnist_classifier(self.config.data.data_dir, progress=self.progress)
          if self.protocol == "stacked_mnist" else evaluation.digits_classifier())
    return self._classifier

  @property
  def measures(self) -> bool:
    """Whether :meth:`evaluate` returns metrics (False: no protocol, or no FID weights)."""
    return self.protocol is not None and not (self.protocol == "inception"
                                              and self.extractor is None)

  def evaluate(self, generate: Callable[[jax.Array], np.ndarray]) -> list[dict[str, float]]:
    """The protocol's metrics, one dict per member; ``generate(z)`` returns the members'
    samples ``[members, n, ...]`` for the noise ``z``. Empty when nothing is measured."""
    config = self.config
    if self.protocol == "mixture":  # the fixed noise of the plots: the samples they show
      samples = np.asarray(generate(sample_noise(config, MIXTURE_SAMPLES)))
      return [evaluation.mixture_scores(m, self.dataset.mixture) for m in samples]
    if not self.measures:
      return []
    stacked = self.protocol in ("stacked_digits", "stacked_mnist")
    n = STACKED_SAMPLES if stacked else config.eval_samples
    key = jax.random.fold_in(jax.random.PRNGKey(config.seed), SAMPLE_STREAM + 2)
    z = sample_latent(key, n, config.latent_dim, config.latent_dist)
    samples = np.concatenate([np.asarray(generate(z[i:i + _CHUNK])) for i in range(0, n, _CHUNK)],
                             axis=1)
    if self.protocol == "inception":
      if self._real_features is None:
        self._real_features = evaluation.real_inception_features(
            self.dataset, n, self.extractor, progress=self.progress)
      return [evaluation.fid_kid(self._real_features, self.extractor.features(
          m, progress=self.progress, desc="FID samples")) for m in samples]
    if stacked:
      if self._real_images is None:
        count = min(n, evaluation.STACKED_PRDC_SAMPLES)
        self._real_images = (
            evaluation.stacked_mnist_reference(self.dataset, count)
            if self.protocol == "stacked_mnist"
            else evaluation.stacked_digits_reference(count, config.data.image_size))
      return [evaluation.stacked_mode_stats(m, self.classifier, self._real_images)
              for m in samples]
    return [evaluation.digit_scores(m, self.classifier) for m in samples]
