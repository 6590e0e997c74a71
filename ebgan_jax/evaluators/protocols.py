"""The evaluation protocols, one class per protocol, picked by the dataset's name.

- ``mixture`` (2-D mixtures): modes covered, % high quality, reverse KL and
  precision/recall/density/coverage on 2,500 samples from the fixed noise of the plots
  (PacGAN, Lin et al. 2018, §5.1);
- ``digits``: the digits classifier's scores on ``eval_samples`` samples;
- ``stacked_digits`` and ``stacked_mnist``: modes out of 1,000 and KL to uniform on 26,000
  samples, each channel read by the digits classifier or by the MNIST classifier;
- ``inception`` (TFDS images): FID and KID of Inception-v3 features against as many real
  images, when weights are given (otherwise a one-line notice, once, and no FID).
"""

from __future__ import annotations

from typing import Callable

import jax
import ml_collections
import numpy as np

from ebgan_jax.evaluators import classifiers, fid
from ebgan_jax.evaluators.mixture import mixture_scores
from ebgan_jax.state import MIXTURE_SAMPLES, SAMPLE_STREAM, sample_latent, sample_noise

# Samples of one generator call while evaluating: thousands of 64x64 samples at once would hold
# gigabytes of activations.
_CHUNK = 1000
STACKED_SAMPLES = 26000  # the Stacked-MNIST protocol (Srivastava et al. 2017)

Generate = Callable[[jax.Array], np.ndarray]


class Protocol:
  """Created once per run: holds what the protocol needs across evaluations.

  ``evaluate(generate)`` returns the metrics, one dict per member; ``generate(z)`` returns the
  members' samples ``[members, n, ...]`` for the noise ``z``. ``measures`` says whether it
  returns any.
  """
  protocol: str | None = None
  measures = True
  uses_classifier = False

  def __init__(self, config: ml_collections.ConfigDict, dataset, progress: bool = True):
    self.config, self.dataset, self.progress = config, dataset, progress

  def evaluate(self, generate: Generate) -> list[dict[str, float]]:
    return []

  def samples(self, generate: Generate, n: int) -> np.ndarray:
    """``n`` samples of every member from the evaluation's own noise, ``[members, n, ...]``."""
    config = self.config
    key = jax.random.fold_in(jax.random.PRNGKey(config.seed), SAMPLE_STREAM + 2)
    z = sample_latent(key, n, config.latent_dim, config.latent_dist)
    return np.concatenate([np.asarray(generate(z[i:i + _CHUNK])) for i in range(0, n, _CHUNK)],
                          axis=1)


class NoProtocol(Protocol):
  """A dataset without a protocol: nothing is measured."""
  measures = False


class MixtureProtocol(Protocol):
  protocol = "mixture"

  def evaluate(self, generate: Generate) -> list[dict[str, float]]:
    # The fixed noise of the plots: the samples they show.
    samples = np.asarray(generate(sample_noise(self.config, MIXTURE_SAMPLES)))
    return [mixture_scores(m, self.dataset.mixture) for m in samples]


class DigitsProtocol(Protocol):
  protocol = "digits"
  uses_classifier = True

  def __init__(self, config, dataset, progress: bool = True):
    super().__init__(config, dataset, progress)
    self._classifier = None

  def make_classifier(self):
    return classifiers.digits_classifier()

  @property
  def classifier(self):
    """The classifier that reads the samples, trained or read from its cache on first use."""
    if self._classifier is None:
      self._classifier = self.make_classifier()
    return self._classifier

  def evaluate(self, generate: Generate) -> list[dict[str, float]]:
    samples = self.samples(generate, self.config.eval_samples)
    return [classifiers.digit_scores(m, self.classifier) for m in samples]


class StackedDigitsProtocol(DigitsProtocol):
  protocol = "stacked_digits"

  def __init__(self, config, dataset, progress: bool = True):
    super().__init__(config, dataset, progress)
    self._real_images = None

  def reference(self, count: int) -> np.ndarray:
    return classifiers.stacked_digits_reference(count, self.config.data.image_size)

  def evaluate(self, generate: Generate) -> list[dict[str, float]]:
    samples = self.samples(generate, STACKED_SAMPLES)
    if self._real_images is None:
      self._real_images = self.reference(min(STACKED_SAMPLES, classifiers.STACKED_PRDC_SAMPLES))
    return [classifiers.stacked_mode_stats(m, self.classifier, self._real_images)
            for m in samples]


class StackedMnistProtocol(StackedDigitsProtocol):
  protocol = "stacked_mnist"

  def make_classifier(self):
    return classifiers.mnist_classifier(self.config.data.data_dir, progress=self.progress)

  def reference(self, count: int) -> np.ndarray:
    return classifiers.stacked_mnist_reference(self.dataset, count)


class InceptionProtocol(Protocol):
  """Creating it reads the Inception weights, so that a bad file stops a run before it
  trains."""
  protocol = "inception"

  def __init__(self, config, dataset, progress: bool = True):
    super().__init__(config, dataset, progress)
    self._real_features = None
    self.extractor = fid.load_inception(config.get("inception_weights"))
    if self.extractor is None:
      print(fid.inception_notice(), flush=True)

  @property
  def measures(self) -> bool:
    return self.extractor is not None

  def evaluate(self, generate: Generate) -> list[dict[str, float]]:
    if not self.measures:
      return []
    samples = self.samples(generate, self.config.eval_samples)
    if self._real_features is None:
      self._real_features = fid.real_inception_features(
          self.dataset, self.config.eval_samples, self.extractor, progress=self.progress)
    return [fid.fid_kid(self._real_features, self.extractor.features(
        m, progress=self.progress, desc="FID samples")) for m in samples]


PROTOCOLS: dict[str, type[Protocol]] = {
    "mixture": MixtureProtocol, "digits": DigitsProtocol,
    "stacked_digits": StackedDigitsProtocol, "stacked_mnist": StackedMnistProtocol,
    "inception": InceptionProtocol,
}


def Evaluator(config: ml_collections.ConfigDict, dataset, progress: bool = True) -> Protocol:  # noqa: N802 - the runner's name for it
  """The protocol of ``dataset`` (by its name in the data registry), created once per run."""
  from ebgan_jax import data  # imported here: data is imported by what imports this
  spec = data.DATASETS.get(dataset.name)
  name = spec.protocol if spec is not None else None
  return PROTOCOLS[name](config, dataset, progress) if name else NoProtocol(config, dataset,
                                                                           progress)
