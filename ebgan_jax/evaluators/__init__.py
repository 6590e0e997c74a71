"""Evaluation: metrics that mean the same as the published ones, and the protocol of each
dataset, picked by name.

- :mod:`~ebgan_jax.evaluators.protocols`: one class per protocol (:data:`PROTOCOLS`); a
  dataset's spec names its protocol, and :func:`Evaluator` creates it for the runner and
  ``make eval``;
- :mod:`~ebgan_jax.evaluators.mixture`: the 2-D mixtures' mode counts (PacGAN, Lin et al. 2018);
- :mod:`~ebgan_jax.evaluators.classifiers`: the digits and MNIST classifiers, the EBGAN paper's
  I' (Zhao et al. 2017, §4.1), the Inception-style score (Salimans et al. 2016) and the
  Stacked-MNIST counts (Srivastava et al. 2017);
- :mod:`~ebgan_jax.evaluators.fid` and :mod:`~ebgan_jax.evaluators.inception`: FID (Heusel et
  al. 2017) and KID (Bińkowski et al. 2018) with the FID Inception-v3;
- :mod:`~ebgan_jax.evaluators.neighbours`: precision and recall (Kynkäänniemi et al. 2019), density
  and coverage (Naeem et al. 2020), on any features;
- :mod:`~ebgan_jax.evaluators.likelihood`: importance-sampled log-likelihoods (Burda et al.
  2016).
"""

from ebgan_jax.evaluators.classifiers import (STACKED_PRDC_SAMPLES, DigitsClassifier,
                                              MnistClassifier, digit_scores, digits_classifier,
                                              mnist_classifier, stacked_digits_reference,
                                              stacked_mnist_reference, stacked_mode_stats,
                                              train_mnist_classifier)
from ebgan_jax.evaluators.fid import (feature_statistics, fid_kid, frechet_distance,
                                      inception_notice, kernel_inception_distance,
                                      load_inception, real_inception_features)
from ebgan_jax.evaluators.likelihood import vae_log_likelihood
from ebgan_jax.evaluators.mixture import mixture_mode_stats, mixture_scores
from ebgan_jax.evaluators.neighbours import density_coverage, prdc, precision_recall
from ebgan_jax.evaluators.protocols import PROTOCOLS, STACKED_SAMPLES, Evaluator, Protocol

__all__ = [
    "DigitsClassifier", "Evaluator", "MnistClassifier", "PROTOCOLS", "Protocol",
    "STACKED_PRDC_SAMPLES", "STACKED_SAMPLES", "density_coverage", "digit_scores",
    "digits_classifier", "feature_statistics", "fid_kid", "frechet_distance", "inception_notice",
    "kernel_inception_distance", "load_inception", "mixture_mode_stats", "mixture_scores",
    "mnist_classifier", "prdc", "precision_recall", "real_inception_features",
    "stacked_digits_reference", "stacked_mnist_reference", "stacked_mode_stats",
    "train_mnist_classifier", "vae_log_likelihood",
]
