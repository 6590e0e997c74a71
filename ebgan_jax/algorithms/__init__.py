"""The algorithms, one module each, and the registry by name that the runner, the configs,
the results tables and the docs read.

Adding an algorithm is one module here (a subclass of :class:`Algorithm`, or of
:class:`Adversarial` for a D/G alternation) and its line in the tuple below, or
:func:`register` from any code; see ``docs/algorithms.md``.
"""

from __future__ import annotations

from typing import Any

from ebgan_jax.algorithms.base import (Adversarial, Algorithm, Controller, ControllerInputs,
                                       Metrics, StepSettings, Update)
from ebgan_jax.algorithms.began import BEGAN
from ebgan_jax.algorithms.bihm import BiHM
from ebgan_jax.algorithms.ebgan import EBGAN
from ebgan_jax.algorithms.gan import GAN
from ebgan_jax.algorithms.ladder import EBGANLN, LadderNet
from ebgan_jax.algorithms.langevin import LangevinEBM
from ebgan_jax.algorithms.lsgan import LossSensitiveGAN
from ebgan_jax.algorithms.magan import MAGAN
from ebgan_jax.algorithms.superres import SuperResolution
from ebgan_jax.algorithms.vae import VAE

REGISTRY: dict[str, type[Algorithm]] = {}


def register(cls: type[Algorithm]) -> type[Algorithm]:
  """Adds an algorithm to the registry under ``cls.name`` (usable as a class decorator): the
  configs, the runner, the sweeps and the results tables then know it."""
  if not cls.name or not cls.title:
    raise ValueError(f"{cls.__name__} needs a name (config.algorithm) and a title.")
  known = REGISTRY.get(cls.name, cls)
  # The same class defined again (a notebook cell run twice) replaces itself.
  if (known.__module__, known.__qualname__) != (cls.__module__, cls.__qualname__):
    raise ValueError(f"an algorithm named {cls.name!r} is registered already "
                     f"({REGISTRY[cls.name].__name__}).")
  REGISTRY[cls.name] = cls
  return cls


for _cls in (GAN, EBGAN, BEGAN, MAGAN, LossSensitiveGAN, VAE, BiHM, LadderNet, EBGANLN,
             LangevinEBM, SuperResolution):  # the order of the tables
  register(_cls)
del _cls


def make_algorithm(config: Any) -> Algorithm:
  """The algorithm ``config.algorithm`` names, built from its settings."""
  if config.algorithm not in REGISTRY:
    raise ValueError(f"config.algorithm must be one of {', '.join(REGISTRY)}; "
                     f"got {config.algorithm!r}.")
  return REGISTRY[config.algorithm].from_config(config)


__all__ = ["Adversarial", "Algorithm", "BEGAN", "BiHM", "Controller", "ControllerInputs",
           "EBGAN", "EBGANLN", "GAN", "LadderNet", "LangevinEBM", "LossSensitiveGAN", "MAGAN", "Metrics",
           "REGISTRY", "StepSettings", "SuperResolution", "Update", "VAE", "make_algorithm", "register"]
