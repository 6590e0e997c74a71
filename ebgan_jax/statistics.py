"""Sufficient statistics of images, and synthesis by matching them (Bruna, Sprechmann & LeCun,
"Super-resolution with deep convolutional sufficient statistics", ICLR 2016, §3-4).

The paper models p(y | x) through statistics ``Phi(y)`` that are stable to the small
deformations a blurry conditional mean averages over: a network predicts ``Psi(x) ~ E[Phi(y) |
x]`` from the LR input, and an HR image is drawn by gradient descent on

    ||Phi(y) - Psi(x)||^2 + mu ||U(y) - x||^2

from an initial image. Because ``Phi`` keeps the *modulus* of band-pass responses, the
prediction keeps the energy of textures whose phase (position) the input does not determine,
where ``E[y | x]`` averages them to a flat grey.

``Phi`` here is a first-order scattering transform (Bruna & Mallat 2013) computed in JAX: the
modulus of each channel's response to Morlet-like complex filters at ``J`` scales and ``L``
orientations, averaged over blocks of ``2^(J-1)`` pixels. kymatio's JAX front end
targets another JAX release than the project pins, so the filter bank is written here: fixed,
with no learned weight.
"""

from __future__ import annotations

import functools
from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np

Array = jax.Array


@functools.lru_cache(maxsize=None)
def morlet_bank(scales: int = 2, orientations: int = 4, size: int = 9) -> np.ndarray:
  """Complex Morlet filters ``[size, size, scales * orientations]`` (real and imaginary parts
  stacked on a last axis of 2): scale ``j`` has envelope width ``0.8 * 2^j`` pixels and
  centre frequency ``3 pi / 4 / 2^j``, each with zero mean (band-pass) and unit l1 norm."""
  r = np.arange(size) - size // 2
  yy, xx = np.meshgrid(r, r, indexing="ij")
  filters = []
  for j in range(scales):
    sigma, xi = 0.8 * 2 ** j, 3 * np.pi / 4 / 2 ** j
    envelope = np.exp(-(xx ** 2 + yy ** 2) / (2 * sigma ** 2))
    for t in range(orientations):
      theta = np.pi * t / orientations
      wave = np.exp(1j * xi * (xx * np.cos(theta) + yy * np.sin(theta)))
      psi = envelope * (wave - (envelope * wave).sum() / envelope.sum())  # zero mean
      filters.append(psi / np.abs(psi).sum())
  bank = np.stack(filters, axis=-1)
  return np.stack([bank.real, bank.imag], axis=-1).astype(np.float32)


def count(channels: int = 3, scales: int = 2, orientations: int = 4) -> int:
  """How many statistics maps :func:`scattering` gives."""
  return channels * (1 + scales * orientations)


@functools.lru_cache(maxsize=32)
def _bank_spectra(height: int, width: int, scales: int, orientations: int) -> np.ndarray:
  """The Fourier transforms ``[F, height, width]`` of :func:`morlet_bank`'s filters placed
  with their centre at the origin (a circular convolution by them is a correlation)."""
  bank = morlet_bank(scales, orientations)
  psi = bank[..., 0] + 1j * bank[..., 1]  # [k, k, F]
  k = psi.shape[0]
  embedded = np.zeros((psi.shape[2], height, width), np.complex64)
  embedded[:, :k, :k] = psi.transpose(2, 0, 1)
  embedded = np.roll(embedded, (-(k // 2), -(k // 2)), axis=(1, 2))
  return np.fft.fft2(embedded).astype(np.complex64)


def scattering(y: Array, scales: int = 2, orientations: int = 4) -> Array:
  """First-order scattering statistics of ``[B, H, W, C]`` images in [0, 1]: per channel, the
  average of the image and of the modulus of each Morlet response over blocks of
  ``2^(scales-1)`` pixels (the coarsest filter's envelope), ``[B, H / 2^(scales-1),
  W / 2^(scales-1), C * (1 + scales * orientations)]`` (H and W multiples of the block).

  The responses are computed by FFT on the image with its edges reflected (the filter's
  half-width), so the cost does not grow with the filters' size; convolutions of one channel
  by many filters run slowly as XLA:CPU convolutions."""
  b, h, w, c = y.shape
  k = morlet_bank(scales, orientations).shape[0]
  planes = y.transpose(0, 3, 1, 2).reshape(b * c, h, w)
  p = k // 2
  padded = jnp.pad(planes, ((0, 0), (p, p), (p, p)), mode="reflect")
  spectra = jnp.asarray(_bank_spectra(h + 2 * p, w + 2 * p, scales, orientations))
  responses = jnp.fft.ifft2(jnp.fft.fft2(padded)[:, None] * spectra[None])
  responses = responses[:, :, p:p + h, p:p + w]  # [B*C, F, H, W]
  modulus = jnp.sqrt(jnp.square(responses.real) + jnp.square(responses.imag) + 1e-8)
  maps = jnp.concatenate([planes[:, None], modulus], axis=1)  # [B*C, F+1, H, W]
  f1 = maps.shape[1]
  window = 2 ** (scales - 1)
  hh, ww = h // window, w // window
  pooled = maps.reshape(b * c, f1, hh, window, ww, window).mean((3, 5))
  return pooled.reshape(b, c, f1, hh, ww).transpose(0, 3, 4, 1, 2).reshape(b, hh, ww, c * f1)


def cnn_statistics(y: Array, features: Callable[[Array], Array]) -> Array:
  """The statistics of a convolutional network's features (Bruna et al. 2016, §3.2, with
  VGG's there): the 2x2 block means of the image beside ``features(y)``, a stride-2 layer's
  activations ``[B, H/2, W/2, F]`` of a network trained on the training images;
  ``[B, H/2, W/2, 3 + F]``."""
  b, h, w, c = y.shape
  means = y.reshape(b, h // 2, 2, w // 2, 2, c).mean((2, 4))
  return jnp.concatenate([means, features(y)], axis=-1)


def synthesize(target: Array, x: Array, scale: int, init: Array, *, steps: int = 200,
               consistency: float = 10.0, learning_rate: float = 0.01,
               statistics: Callable[[Array], Array] = scattering) -> Array:
  """``argmin_y ||Phi(y) - target||^2 / n + consistency ||U(y) - x||^2 / m`` by Adam from
  ``init`` (both means over their elements), clipped to [0, 1]; ``[B, H, W, 3]``."""
  import optax
  from ebgan_jax.evaluators.superres import downsample
  from ebgan_jax.state import standard_promotion
  opt = standard_promotion(optax.adam(learning_rate))

  def objective(y):
    return (jnp.mean(jnp.square(statistics(y) - target))
            + consistency * jnp.mean(jnp.square(downsample(y, scale) - x)))

  def step(carry, _):
    y, state = carry
    updates, state = opt.update(jax.grad(objective)(y), state)
    return (jnp.clip(optax.apply_updates(y, updates), 0.0, 1.0), state), None

  (y, _), _ = jax.lax.scan(step, (init, opt.init(init)), None, length=steps)
  return y
