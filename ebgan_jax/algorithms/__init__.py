"""The algorithms, one module each, and the registry by name that the runner, the configs,
the results tables and the docs read.

Adding an algorithm is one module here (a subclass of :class:`Algorithm`, or of
:class:`Adversarial` for a D/G alternation) and one entry in :data:`REGISTRY`; see
``docs/algorithms.md``.
"""

from __future__ import annotations

from typing import Any

from ebgan_jax.algorithms.base import (Adversarial, Algorithm, Controller, ControllerInputs,
                                       Metrics, StepSettings, Update)
from ebgan_jax.algorithms.began import BEGAN
from ebgan_jax.algorithms.ebgan import EBGAN
from ebgan_jax.algorithms.gan import GAN
from ebgan_jax.algorithms.lsgan import LossSensitiveGAN
from ebgan_jax.algorithms.magan import MAGAN
from ebgan_jax.algorithms.vae import VAE

REGISTRY: dict[str, type[Algorithm]] = {cls.name: cls for cls in (
    GAN, EBGAN, BEGAN, MAGAN, LossSensitiveGAN, VAE)}
ALGORITHMS = tuple(REGISTRY)


def make_algorithm(config: Any) -> Algorithm:
  """The algorithm ``config.algorithm`` names, built from its settings."""
  if config.algorithm not in REGISTRY:
    raise ValueError(f"config.algorithm must be one of {', '.join(ALGORITHMS)}; "
                     f"got {config.algorithm!r}.")
  return REGISTRY[config.algorithm].from_config(config)


__all__ = ["ALGORITHMS", "Adversarial", "Algorithm", "BEGAN", "Controller", "ControllerInputs",
           "EBGAN", "GAN", "LossSensitiveGAN", "MAGAN", "Metrics", "REGISTRY", "StepSettings",
           "Update", "VAE", "make_algorithm"]
