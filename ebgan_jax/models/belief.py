"""Sigmoid belief networks (Neal 1992): the top-down ``p`` and bottom-up ``q`` of a
Bidirectional Helmholtz Machine (Bornschein, Shabanian, Fischer & Bengio 2016)."""

from __future__ import annotations

import math
from typing import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from ebgan_jax.models.layers import Array, Shape


# ----------------------------------------------------------------------------------------------
# Sigmoid belief networks (Neal 1992), the two halves of a Bidirectional Helmholtz Machine
# ----------------------------------------------------------------------------------------------
# A network's state is a list of binary layers ``[x, h_1, ..., h_L]`` in {0, 1}, ``x`` flattened,
# each ``[..., n_l]`` with any leading axes (samples, examples).

def bernoulli_log_prob(values: Array, logits: Array, weights: Array | None = None) -> Array:
  """``sum_i w_i log Bernoulli(values_i; sigmoid(logits_i))`` over the last axis; ``weights``
  (broadcast against the last axes, 1 where absent) leave units out with 0."""
  ll = values * jax.nn.log_sigmoid(logits) + (1.0 - values) * jax.nn.log_sigmoid(-logits)
  if weights is not None:
    ll = ll * jnp.broadcast_to(weights, ll.shape)
  return jnp.sum(ll, axis=-1)


def bernoulli_from_uniform(u: Array, logits: Array) -> Array:
  """Bernoulli samples by the inverse CDF: 1 where ``u < sigmoid(logits)``, as float32."""
  return (u < jax.nn.sigmoid(logits)).astype(jnp.float32)


def to_binary(x: Array) -> Array:
  """Images in [-1, 1] (binarised to {-1, 1}) as flattened {0, 1} units."""
  return (x.reshape(x.shape[0], -1) > 0).astype(jnp.float32)


class TopDownSBN(nn.Module):
  """``p(x, h) = p(h_L) prod_{l=1..L} p(h_{l-1} | h_l)`` with ``h_0 = x``: factorial Bernoulli
  layers, ``p(h_{l-1} | h_l) = Bernoulli(sigmoid(W_l h_l + b_l))`` and a factorial top prior.

  ``__call__(z)`` draws one ancestral sample per row of ``z`` in [-1, 1]^(sum sizes), the
  uniform noise of every hidden layer (top layer first), and returns the logits of ``x``
  given the sampled ``h_1``: the generator of a BiHM run, a deterministic function of its noise.
  """
  shape: Shape  # one example of the data
  sizes: tuple[int, ...]  # h_1, ..., h_L

  def setup(self):
    self.top = self.param("top", nn.initializers.zeros, (self.sizes[-1],))
    # down[l] maps h_{l+1} to the logits of layer l (layer 0 is x).
    self.down = [nn.Dense(n) for n in (math.prod(self.shape),) + tuple(self.sizes[:-1])]

  def conditional_logits(self, layers: Sequence[Array]) -> list[Array]:
    """The logits of every layer given the layer above it (the top: its prior)."""
    return [self.down[l](layers[l + 1]) for l in range(len(self.sizes))] + [
        jnp.broadcast_to(self.top, layers[-1].shape)]

  def log_prob(self, layers: Sequence[Array]) -> Array:
    """``log p(x, h_1..h_L)``, shape of the leading axes."""
    return sum(bernoulli_log_prob(v, l) for v, l in zip(layers, self.conditional_logits(layers)))

  def sample(self, key: Array, n: int) -> list[Array]:
    """``n`` ancestral samples ``[x, h_1, ..., h_L]``."""
    keys = jax.random.split(key, len(self.sizes) + 1)
    top = jnp.broadcast_to(self.top, (n, self.sizes[-1]))
    h = jax.random.bernoulli(keys[-1], jax.nn.sigmoid(top))
    layers = [h.astype(jnp.float32)]
    for l in reversed(range(len(self.sizes))):
      logits = self.down[l](layers[0])
      layers.insert(0, jax.random.bernoulli(keys[l], jax.nn.sigmoid(logits)).astype(jnp.float32))
    return layers

  def __call__(self, z: Array, train: bool = False) -> Array:
    u = (z + 1.0) / 2.0
    offsets = np.cumsum((0,) + tuple(reversed(self.sizes)))
    h = bernoulli_from_uniform(u[:, :offsets[1]], jnp.broadcast_to(self.top, (z.shape[0], self.sizes[-1])))
    for i, l in enumerate(reversed(range(1, len(self.sizes)))):
      h = bernoulli_from_uniform(u[:, offsets[i + 1]:offsets[i + 2]], self.down[l](h))
    return self.down[0](h).reshape((z.shape[0],) + tuple(self.shape))


class BottomUpSBN(nn.Module):
  """``q(h | x) = prod_{l=1..L} q(h_l | h_{l-1})`` with ``h_0 = x``, each a factorial Bernoulli
  ``sigmoid(W_l h_{l-1} + b_l)``: the inference network of a BiHM. ``__call__`` (used to
  initialise) is the mean-field pass of images in [-1, 1] to the top layer's probabilities."""
  sizes: tuple[int, ...]  # h_1, ..., h_L

  def setup(self):
    self.up = [nn.Dense(n) for n in self.sizes]  # up[l] maps layer l to the logits of h_{l+1}

  def conditional_logits(self, layers: Sequence[Array]) -> list[Array]:
    """The logits of ``h_1..h_L``, each given the layer below it."""
    return [self.up[l](layers[l]) for l in range(len(self.sizes))]

  def log_prob(self, layers: Sequence[Array]) -> Array:
    """``log q(h_1..h_L | x)``, shape of the leading axes."""
    return sum(bernoulli_log_prob(v, l)
               for v, l in zip(layers[1:], self.conditional_logits(layers)))

  def sample(self, key: Array, x: Array) -> list[Array]:
    """``[x, h_1, ..., h_L]`` with ``h ~ q(h | x)`` for binary ``x`` of any leading shape."""
    layers = [x]
    for l, k in enumerate(jax.random.split(key, len(self.sizes))):
      layers.append(jax.random.bernoulli(k, jax.nn.sigmoid(self.up[l](layers[-1]))
                                         ).astype(jnp.float32))
    return layers

  def __call__(self, x: Array, train: bool = False) -> Array:
    h = (x.reshape(x.shape[0], -1) + 1.0) / 2.0
    for layer in self.up:
      h = jax.nn.sigmoid(layer(h))
    return h
