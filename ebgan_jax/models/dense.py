"""Fully connected networks: the EBGAN paper's MNIST grid-search pair (Zhao, Mathieu & LeCun
2017, Table 1), PacGAN's 2-D networks (Lin et al. 2018, §5.1), the GAN's logit discriminator
and the VAE's Gaussian encoder (Kingma & Welling 2014)."""

from __future__ import annotations

import math
from typing import Callable

import flax.linen as nn
import jax.numpy as jnp

from ebgan_jax.models.layers import Array, Shape, batch_norm


def _output_activation(name: str) -> Callable[[Array], Array]:
  if name == "tanh":
    return jnp.tanh
  if name == "none":
    return lambda h: h
  raise ValueError(f"model.output_activation must be 'tanh' or 'none', got {name!r}.")


# ----------------------------------------------------------------------------------------------
# MLP pair: the paper's MNIST grid search (Table 1)
# ----------------------------------------------------------------------------------------------

class MLPGenerator(nn.Module):
  """``n_layers`` fully connected layers (``n_layers - 1`` hidden of ``size`` units)."""
  out_shape: Shape
  n_layers: int = 3
  size: int = 800
  batch_norm: bool = True
  output_activation: str = "tanh"

  @nn.compact
  def __call__(self, z: Array, train: bool = True) -> Array:
    h = z
    for _ in range(self.n_layers - 1):
      # No bias before a BatchNorm: the normalisation removes it (its gradient is zero).
      h = nn.Dense(self.size, use_bias=not self.batch_norm)(h)
      if self.batch_norm:
        h = batch_norm(train)(h)
      h = nn.relu(h)
    h = nn.Dense(math.prod(self.out_shape))(h)
    h = _output_activation(self.output_activation)(h)
    return h.reshape((z.shape[0],) + tuple(self.out_shape))


class MLPAutoEncoder(nn.Module):
  """``n_layers`` fully connected layers: ``n_layers - 1`` encoder layers, one decoder layer.
  With ``bottleneck > 0`` the last encoder layer (the code) has that many units; ``activation``
  is "relu" or "elu" (BEGAN's)."""
  out_shape: Shape
  n_layers: int = 2
  size: int = 256
  dropout: float = 0.0
  bottleneck: int = 0
  activation: str = "relu"

  @nn.compact
  def __call__(self, x: Array, train: bool = True) -> tuple[Array, Array]:
    h = x.reshape(x.shape[0], -1)
    for i in range(self.n_layers - 1):
      if self.dropout > 0:
        h = nn.Dropout(self.dropout, deterministic=not train)(h)
      last = i == self.n_layers - 2
      act = {"relu": nn.relu, "elu": nn.elu}[self.activation]
      h = act(nn.Dense(self.bottleneck if last and self.bottleneck else self.size)(h))
    code = h
    rec = nn.Dense(math.prod(self.out_shape))(code)
    return rec.reshape(x.shape), code


class SigmoidAutoEncoder(nn.Module):
  """MAGAN's released MNIST discriminator (Wang et al. 2017, the authors' code): the image
  flattened, ``n_layers - 1`` ReLU layers of ``size`` units and a sigmoid layer back to the
  pixels, on [0, 1]. Takes and returns the project's [-1, 1] (``x`` is read as ``(x + 1) / 2``
  and the reconstruction returned as ``2 r - 1``), so the mean squared error on [-1, 1] is
  4 / (pixels) times the released sum of squares on [0, 1]."""
  out_shape: Shape
  n_layers: int = 3
  size: int = 256

  @nn.compact
  def __call__(self, x: Array, train: bool = True) -> tuple[Array, Array]:
    h = (x.reshape(x.shape[0], -1) + 1.0) / 2.0
    for _ in range(self.n_layers - 1):
      h = nn.relu(nn.Dense(self.size)(h))
    code = h
    rec = 2.0 * nn.sigmoid(nn.Dense(math.prod(self.out_shape))(code)) - 1.0
    return rec.reshape(x.shape), code


class DenseBottleneckAutoEncoder(nn.Module):
  """A fully connected auto-encoder with a linear bottleneck, as the public BEGAN code for
  MNIST builds its discriminator: ``size`` ELU units, a linear code of ``code_size``, ``size``
  ELU units, a linear output. Returns ``(reconstruction, code)``."""
  out_shape: Shape
  size: int = 256
  code_size: int = 16

  @nn.compact
  def __call__(self, x: Array, train: bool = True) -> tuple[Array, Array]:
    h = nn.elu(nn.Dense(self.size)(x.reshape(x.shape[0], -1)))
    code = nn.Dense(self.code_size)(h)
    h = nn.elu(nn.Dense(self.size)(code))
    return nn.Dense(math.prod(self.out_shape))(h).reshape(x.shape), code


# ----------------------------------------------------------------------------------------------
# PacGAN's 2-D networks (Lin et al. 2018, §5.1 and their released code)
# ----------------------------------------------------------------------------------------------

_PACGAN_INIT = nn.initializers.normal(0.02)  # weights N(0, 0.02), biases 0


class PacGANGenerator(nn.Module):
  """``n_layers`` hidden layers of ``size`` units, each linear (no bias: BatchNorm's shift takes
  its place) -> BatchNorm -> ReLU, and a linear output.

  The released code of Lin et al. (2018) gives the output layer a bias and updates BatchNorm's
  population statistics as ``0.95 * population + 0.05 * batch`` (``momentum=0.95``), with
  epsilon 1e-4: the defaults. ``output_bias=False, momentum=0.9`` is the generator this project
  used before (``model.pacgan_generator="bias_free"``), kept so that its table rows can be
  reproduced."""
  out_shape: Shape
  n_layers: int = 4
  size: int = 400
  output_bias: bool = True
  momentum: float = 0.95

  @nn.compact
  def __call__(self, z: Array, train: bool = True) -> Array:
    h = z
    for _ in range(self.n_layers):
      h = nn.Dense(self.size, use_bias=False, kernel_init=_PACGAN_INIT)(h)
      # Blocks' BatchNormalization epsilon
      h = nn.relu(batch_norm(train, epsilon=1e-4, momentum=self.momentum)(h))
    h = nn.Dense(math.prod(self.out_shape), use_bias=self.output_bias,
                 kernel_init=_PACGAN_INIT)(h)
    return h.reshape((z.shape[0],) + tuple(self.out_shape))


class Maxout(nn.Module):
  """A linear layer to ``features x pieces`` units and the maximum over each unit's pieces
  (Goodfellow et al. 2013)."""
  features: int
  pieces: int = 5

  @nn.compact
  def __call__(self, x: Array) -> Array:
    h = nn.Dense(self.features * self.pieces, kernel_init=_PACGAN_INIT)(x)
    return jnp.max(h.reshape(h.shape[:-1] + (self.features, self.pieces)), axis=-1)


class MaxoutDiscriminator(nn.Module):
  """PacGAN's discriminator: ``n_layers`` maxout layers of ``size`` units with ``pieces``
  pieces, then a linear logit; returns ``[B]``. Packed inputs are flattened."""
  n_layers: int = 3
  size: int = 200
  pieces: int = 5

  @nn.compact
  def __call__(self, x: Array, train: bool = True) -> Array:
    h = x.reshape(x.shape[0], -1)
    for _ in range(self.n_layers):
      h = Maxout(self.size, self.pieces)(h)
    return nn.Dense(1, kernel_init=_PACGAN_INIT)(h)[:, 0]


class MaxoutAutoEncoder(nn.Module):
  """The energy-based counterpart of :class:`MaxoutDiscriminator`, from the same layers: the
  first ``n_layers - 1`` maxout layers encode (the last one's output is the code that the
  pulling-away term sees), one maxout layer and a linear layer decode. Same depth and width as
  the logit discriminator, so the two families compare at equal capacity; its only change is
  the output, the reconstructed input instead of a logit.

  With ``bottleneck > 0`` a linear layer of that many units follows the encoder and is the
  code: the embedding without non-linearity of BEGAN's auto-encoder (Berthelot et al. 2017,
  §3.5), narrower than the data, so that the auto-encoder cannot learn the identity and give
  every point, real or fake, a zero energy (what BEGAN's and MAGAN's controllers need)."""
  out_shape: Shape
  n_layers: int = 3
  size: int = 200
  pieces: int = 5
  bottleneck: int = 0

  @nn.compact
  def __call__(self, x: Array, train: bool = True) -> tuple[Array, Array]:
    h = x.reshape(x.shape[0], -1)
    for _ in range(self.n_layers - 1):
      h = Maxout(self.size, self.pieces)(h)
    if self.bottleneck:
      h = nn.Dense(self.bottleneck, kernel_init=_PACGAN_INIT)(h)
    code = h
    h = Maxout(self.size, self.pieces)(code)
    rec = nn.Dense(math.prod(self.out_shape), kernel_init=_PACGAN_INIT)(h)
    return rec.reshape(x.shape), code

# ----------------------------------------------------------------------------------------------
# Logit discriminators (GAN) and the Gaussian encoder (VAE)
# ----------------------------------------------------------------------------------------------

class MLPDiscriminator(nn.Module):
  """``n_layers - 1`` hidden LeakyReLU layers of ``size`` units and a logit; returns ``[B]``."""
  n_layers: int = 2
  size: int = 256
  dropout: float = 0.0

  @nn.compact
  def __call__(self, x: Array, train: bool = True) -> Array:
    h = x.reshape(x.shape[0], -1)
    for _ in range(self.n_layers - 1):
      if self.dropout > 0:
        h = nn.Dropout(self.dropout, deterministic=not train)(h)
      h = nn.leaky_relu(nn.Dense(self.size)(h), 0.2)
    return nn.Dense(1)(h)[:, 0]

class GaussianEncoder(nn.Module):
  """``q(z | x) = N(mean, exp(log_var))`` from ``n_layers - 1`` hidden tanh layers (AEVB's
  MLP encoder); returns ``(mean, log_var)``, each ``[B, latent_dim]``."""
  latent_dim: int
  n_layers: int = 2
  size: int = 256

  @nn.compact
  def __call__(self, x: Array, train: bool = True) -> tuple[Array, Array]:
    h = x.reshape(x.shape[0], -1)
    for _ in range(self.n_layers - 1):
      h = nn.tanh(nn.Dense(self.size)(h))
    return nn.Dense(self.latent_dim)(h), nn.Dense(self.latent_dim)(h)
