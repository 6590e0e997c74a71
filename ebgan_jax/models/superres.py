"""Networks for super-resolution: a residual CNN from the LR image to the HR image, optionally
fed noise (the conditional generator ``G(x, z)``), and an auto-encoder energy on (LR, HR) pairs.

All take and give float images in [0, 1]: the generator predicts the HR image as the bicubic
upsampling of its input plus a learned residual (the global skip of VDSR, Kim, Lee & Lee 2016,
and of Bruna et al. 2016, §4), upsampled by sub-pixel convolutions (Shi et al. 2016): a
convolution to ``4F`` channels and a depth-to-space shuffle per factor 2. They are fully
convolutional, so one network takes images of any size.
"""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp

from ebgan_jax.models.layers import Array, Conv


def depth_to_space(x: Array, r: int) -> Array:
  """``[B, H, W, r*r*C] -> [B, rH, rW, C]``; channel ``(a * r + b) * C + c`` goes to pixel
  offset ``(a, b)``."""
  b, h, w, c = x.shape
  f = c // (r * r)
  x = x.reshape(b, h, w, r, r, f).transpose(0, 1, 3, 2, 4, 5)
  return x.reshape(b, h * r, w * r, f)


def factors_of_two(scale: int) -> int:
  """How many x2 stages make ``scale`` (2, 4 or 8)."""
  if scale not in (2, 4, 8):
    raise ValueError(f"model.scale must be 2, 4 or 8, got {scale}.")
  return scale.bit_length() - 1


class ResidualBlock(nn.Module):
  features: int

  @nn.compact
  def __call__(self, x: Array) -> Array:
    h = nn.relu(Conv(self.features)(x))
    return x + Conv(self.features)(h)


class SuperResolutionNet(nn.Module):
  """``y = bicubic(x) + f(x, z)`` (or the statistics of ``y``, ``outputs="statistics"``): a 3x3 convolution to ``features`` channels, ``blocks``
  residual blocks, a skip around them, then per factor 2 a convolution to ``4 * features`` and
  a depth-to-space shuffle, and a 3x3 convolution to RGB. With ``noise > 0`` the input carries
  ``noise`` channels of ``z ~ N(0, 1)`` at the LR resolution, drawn from the ``"noise"`` rng
  unless given; without the rng (inference without a key) ``z`` is zero."""
  scale: int
  features: int = 32
  blocks: int = 4
  noise: int = 0
  # "image": the HR image. "statistics": the scattering statistics Phi(y) of the HR image
  # (ebgan_jax.statistics), as Phi(bicubic(x)) plus a learned residual (Bruna et al. 2016).
  # "features": that residual alone, ``feature_channels`` wide, for statistics whose
  # Phi(bicubic(x)) the caller adds (a trained network's features).
  outputs: str = "image"
  feature_channels: int = 0

  @nn.compact
  def __call__(self, x: Array, train: bool = False, z: Array | None = None) -> Array:
    if x.ndim != 4 or x.shape[-1] != 3:
      raise ValueError(f"the super-resolution network takes LR images [B, h, w, 3], got "
                       f"{x.shape}.")
    stages = factors_of_two(self.scale)
    b, h, w, _ = x.shape
    up = jax.image.resize(x, (b, h * self.scale, w * self.scale, 3), method="bicubic")
    inputs = x * 2.0 - 1.0
    if self.noise:
      if z is None:
        z = (jax.random.normal(self.make_rng("noise"), (b, h, w, self.noise))
             if self.has_rng("noise") else jnp.zeros((b, h, w, self.noise), x.dtype))
      inputs = jnp.concatenate([inputs, z.astype(x.dtype)], axis=-1)
    head = Conv(self.features)(inputs)
    body = head
    for _ in range(self.blocks):
      body = ResidualBlock(self.features)(body)
    body = Conv(self.features)(body) + head
    for _ in range(stages):
      body = nn.relu(depth_to_space(Conv(4 * self.features)(body), 2))
    if self.outputs in ("statistics", "features"):
      from ebgan_jax import statistics
      skip = statistics.scattering(up) if self.outputs == "statistics" else None
      channels = skip.shape[-1] if skip is not None else self.feature_channels
      # At the HR resolution, then pooled to the statistics' grid (2x2 blocks).
      residual = Conv(channels)(body)
      hh, ww = residual.shape[1] // 2, residual.shape[2] // 2
      residual = residual.reshape(b, hh, 2, ww, 2, -1).mean((2, 4))
      return residual if skip is None else skip + residual
    return up + Conv(3)(body)


class PairAutoEncoder(nn.Module):
  """An auto-encoder energy on a pair: the HR image ``y`` and the bicubic upsampling of its LR
  input ``x`` stacked as six channels ``[B, H, W, 6]``, reconstructed through two stride-2
  convolutions and back (EBGAN's auto-encoder discriminator, Zhao, Mathieu & LeCun 2017, §2.3,
  conditioned on x by its input). Returns ``(reconstruction, code)`` like every auto-encoder
  discriminator of the project; with ``first_layer`` only the first layer's activations
  ``[B, H/2, W/2, features]``, the features the sufficient-statistics model can match (fed
  three channels, it is an auto-encoder of HR images alone)."""
  features: int = 32

  @nn.compact
  def __call__(self, pair: Array, train: bool = False, first_layer: bool = False
               ) -> tuple[Array, Array] | Array:
    f = self.features
    h = nn.leaky_relu(Conv(f, 4, stride=2, padding="SAME")(pair * 2.0 - 1.0), 0.2)
    if first_layer:
      return h
    code = nn.leaky_relu(Conv(2 * f, 4, stride=2, padding="SAME")(h), 0.2)
    b, hh, ww, _ = code.shape
    u = nn.leaky_relu(depth_to_space(Conv(4 * f)(code), 2), 0.2)
    u = depth_to_space(Conv(4 * pair.shape[-1])(u), 2)
    return (u + 1.0) / 2.0, code.reshape(b, -1)
