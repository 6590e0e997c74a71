"""Convolutional networks: a small pair for 8x8 to 32x32 images, BEGAN's auto-encoder
(Berthelot, Schumm & Metz 2017), DCGAN (Radford et al. 2016) with the EBGAN paper's 64x64
auto-encoder, the TensorFlow DCGAN of the Stacked-MNIST experiments, PyTorch-GAN's EBGAN pair
and a convolutional logit discriminator."""

from __future__ import annotations

import math

import flax.linen as nn
import jax.numpy as jnp

from ebgan_jax.models.layers import (Array, Conv, ConvTranspose, Shape, UpsampleConv,
                                     batch_norm)


# ----------------------------------------------------------------------------------------------
# Small convolutional pair for 8x8 to 32x32 images
# ----------------------------------------------------------------------------------------------

class SmallConvGenerator(nn.Module):
  """Dense to ``H/4 x W/4 x 2f``, two upsample-conv blocks, a 3x3 output convolution."""
  out_shape: Shape
  features: int = 64
  upsample: str = "subpixel"

  @nn.compact
  def __call__(self, z: Array, train: bool = True) -> Array:
    h, w, c = self.out_shape
    x = nn.Dense(h // 4 * w // 4 * 2 * self.features, use_bias=False)(z)
    x = x.reshape(z.shape[0], h // 4, w // 4, 2 * self.features)
    x = nn.relu(batch_norm(train)(x))
    for feats in (2 * self.features, self.features):
      x = UpsampleConv(feats, method=self.upsample)(x)
      x = nn.relu(batch_norm(train)(x))
    return jnp.tanh(Conv(c)(x))


class SmallConvAutoEncoder(nn.Module):
  """Two stride-2 convolutions, a dense code, and the mirror image back to the input."""
  out_shape: Shape
  features: int = 32
  code_size: int = 64
  upsample: str = "subpixel"

  @nn.compact
  def __call__(self, x: Array, train: bool = True) -> tuple[Array, Array]:
    h, w, c = self.out_shape
    y = nn.leaky_relu(Conv(self.features, stride=2)(x), 0.2)
    y = nn.leaky_relu(Conv(2 * self.features, stride=2)(y), 0.2)
    code = nn.Dense(self.code_size)(y.reshape(x.shape[0], -1))
    y = nn.relu(nn.Dense(h // 4 * w // 4 * 2 * self.features)(code))
    y = y.reshape(x.shape[0], h // 4, w // 4, 2 * self.features)
    y = nn.relu(UpsampleConv(self.features, method=self.upsample)(y))
    y = UpsampleConv(c, method=self.upsample)(y)
    return y, code


# ----------------------------------------------------------------------------------------------
# BEGAN's networks (Berthelot, Schumm & Metz 2017, §3.5 and Fig. 1)
# ----------------------------------------------------------------------------------------------

def began_levels(side: int) -> int:
  """The number of x2 resolution steps between BEGAN's 8x8 base and an image side of
  ``8 * 2**levels``."""
  return int(math.log2(side // 8))


class BEGANDecoder(nn.Module):
  """BEGAN's decoder, which is also its generator (with its own weights): a dense layer from
  the code to 8x8xn, two 3x3 convolutions with ELU per resolution, nearest-neighbour x2
  upsampling between resolutions, and a 3x3 convolution to the image channels, linear."""
  out_shape: Shape
  features: int = 64
  upsample: str = "subpixel"

  @nn.compact
  def __call__(self, h: Array, train: bool = True) -> Array:
    n, c = self.features, self.out_shape[-1]
    x = nn.Dense(8 * 8 * n)(h).reshape(h.shape[0], 8, 8, n)
    x = nn.elu(Conv(n)(x))
    x = nn.elu(Conv(n)(x))
    for _ in range(began_levels(self.out_shape[0])):
      # nearest x2 upsampling, then the next resolution's first convolution (one exact op)
      x = nn.elu(UpsampleConv(n, method=self.upsample)(x))
      x = nn.elu(Conv(n)(x))
    return Conv(c)(x)


class BEGANAutoEncoder(nn.Module):
  """BEGAN's discriminator: an encoder of 3x3 convolutions with ELU (a first one, then two per
  resolution, filters growing linearly n, 2n, 3n, ..., stride-2 convolutions between
  resolutions) to a dense embedding of ``code_size`` units without non-linearity (the
  bottleneck), and :class:`BEGANDecoder` back to the image. Returns ``(reconstruction, code)``."""
  out_shape: Shape
  features: int = 64
  code_size: int = 64
  upsample: str = "subpixel"

  @nn.compact
  def __call__(self, x: Array, train: bool = True) -> tuple[Array, Array]:
    n, levels = self.features, began_levels(self.out_shape[0])
    y = nn.elu(Conv(n)(x))
    for level in range(levels + 1):
      y = nn.elu(Conv(n * (level + 1))(y))
      y = nn.elu(Conv(n * (level + 1))(y))
      if level < levels:
        y = nn.elu(Conv(n * (level + 2), stride=2)(y))
    code = nn.Dense(self.code_size)(y.reshape(x.shape[0], -1))
    return BEGANDecoder(self.out_shape, n, self.upsample)(code), code


# ----------------------------------------------------------------------------------------------
# DCGAN generator and the paper's 64x64 auto-encoder discriminator
# ----------------------------------------------------------------------------------------------

class DCGANGenerator(nn.Module):
  """DCGAN (Radford et al. 2016): project to 4x4x(8f), stride-2 4x4 transposed convs, tanh.
  ``upsample`` is :class:`ConvTranspose`'s method (the same function either way)."""
  out_shape: Shape
  features: int = 64
  upsample: str = "subpixel"

  @nn.compact
  def __call__(self, z: Array, train: bool = True) -> Array:
    h, w, c = self.out_shape
    n_up = int(math.log2(h // 4))
    feats = self.features * 2 ** (n_up - 1)
    x = nn.Dense(4 * 4 * feats, use_bias=False)(z).reshape(z.shape[0], 4, 4, feats)
    x = nn.relu(batch_norm(train)(x))
    for i in range(n_up - 1):
      feats //= 2
      x = ConvTranspose(feats, 4, use_bias=False, method=self.upsample)(x)
      x = nn.relu(batch_norm(train)(x))
    x = ConvTranspose(c, 4, method=self.upsample)(x)
    return jnp.tanh(x)


class PaperAutoEncoder(nn.Module):
  """EBGAN's 64x64 discriminator: encoder (64)4c2s-(128)4c2s-(256)4c2s,
  decoder (128)4c2s-(64)4c2s-(C)4c2s; the code is the encoder's output."""
  out_shape: Shape
  features: int = 64
  upsample: str = "subpixel"

  @nn.compact
  def __call__(self, x: Array, train: bool = True) -> tuple[Array, Array]:
    f = self.features
    y = nn.leaky_relu(nn.Conv(f, (4, 4), strides=2)(x), 0.2)
    y = nn.leaky_relu(batch_norm(train)(nn.Conv(2 * f, (4, 4), strides=2, use_bias=False)(y)), 0.2)
    code = nn.leaky_relu(
        batch_norm(train)(nn.Conv(4 * f, (4, 4), strides=2, use_bias=False)(y)), 0.2)
    y = code
    for feats in (2 * f, f):
      y = ConvTranspose(feats, 4, use_bias=False, method=self.upsample)(y)
      y = nn.relu(batch_norm(train)(y))
    y = ConvTranspose(self.out_shape[-1], 4, method=self.upsample)(y)
    return y, code


# ----------------------------------------------------------------------------------------------
# The DCGAN of the Stacked-MNIST experiments (VEEGAN, PacGAN)
# ----------------------------------------------------------------------------------------------

# DCGAN's initialisation (Radford et al. 2016, §4): zero-mean normal, standard deviation 0.02.
_DCGAN_INIT = nn.initializers.normal(0.02)


def halved_sides(side: int, times: int = 4) -> list[int]:
  """``[side, ceil(side / 2), ...]``, ``times + 1`` values: the feature-map sides of 'SAME'
  stride-2 convolutions (28, 14, 7, 4, 2 for MNIST)."""
  sides = [side]
  for _ in range(times):
    sides.append(-(-sides[-1] // 2))
  return sides


class ConvTransposeTo(nn.Module):
  """A 5x5 stride-2 transposed convolution to a feature map of side ``side``: 'SAME' doubles the
  side, and an odd ``side`` (7 from 4) keeps the last ``side`` rows and columns of the doubled
  map, as TensorFlow's ``conv2d_transpose`` with an explicit output shape does."""
  features: int
  side: int
  use_bias: bool = True
  upsample: str = "subpixel"

  @nn.compact
  def __call__(self, x: Array) -> Array:
    y = ConvTranspose(self.features, 5, use_bias=self.use_bias, kernel_init=_DCGAN_INIT,
                      method=self.upsample)(x)
    extra = y.shape[1] - self.side
    if extra not in (0, 1):
      raise ValueError(f"ConvTransposeTo cannot go from side {x.shape[1]} to {self.side}.")
    return y[:, extra:, extra:, :]


class TFDCGANGenerator(nn.Module):
  """The generator of VEEGAN's and PacGAN's Stacked-MNIST experiments (Srivastava et al. 2017,
  §5.2; Lin et al. 2018, §5.2): z to an ``s/16 x s/16 x 8f`` map, then 5x5 stride-2 transposed
  convolutions to 4f, 2f, f and the image channels, BatchNorm and ReLU between, tanh at the
  end; sides 2, 4, 7, 14, 28 for 28x28 images."""
  out_shape: Shape
  features: int = 64
  upsample: str = "subpixel"

  @nn.compact
  def __call__(self, z: Array, train: bool = True) -> Array:
    h, _, c = self.out_shape
    sides, f = halved_sides(h), self.features
    x = nn.Dense(sides[4] * sides[4] * 8 * f, kernel_init=_DCGAN_INIT)(z)
    x = nn.relu(batch_norm(train)(x.reshape(z.shape[0], sides[4], sides[4], 8 * f)))
    for side, feats in zip(sides[3:0:-1], (4 * f, 2 * f, f)):
      x = nn.relu(batch_norm(train)(
          ConvTransposeTo(feats, side, use_bias=False, upsample=self.upsample)(x)))
    return jnp.tanh(ConvTransposeTo(c, h, upsample=self.upsample)(x))


def _tf_dcgan_encoder(x: Array, features: int, train: bool) -> Array:
  """Four 5x5 stride-2 'SAME' convolutions (f, 2f, 4f, 8f), LeakyReLU 0.2, BatchNorm after
  all but the first: DCGAN's discriminator without its logit."""
  h = x
  for i, feats in enumerate((features, 2 * features, 4 * features, 8 * features)):
    h = Conv(feats, 5, stride=2, padding="SAME", use_bias=i == 0, kernel_init=_DCGAN_INIT)(h)
    h = nn.leaky_relu(h if i == 0 else batch_norm(train)(h), 0.2)
  return h


class TFDCGANDiscriminator(nn.Module):
  """The Stacked-MNIST discriminator of VEEGAN and PacGAN: :func:`_tf_dcgan_encoder` and a
  logit; returns ``[B]``. With packing it takes ``pack`` images stacked along the channels."""
  features: int = 64

  @nn.compact
  def __call__(self, x: Array, train: bool = True) -> Array:
    h = _tf_dcgan_encoder(x, self.features, train)
    return nn.Dense(1, kernel_init=_DCGAN_INIT)(h.reshape(x.shape[0], -1))[:, 0]


class TFDCGANAutoEncoder(nn.Module):
  """An auto-encoder of the same capacity for the energy-based models: the discriminator's four
  convolutions as the encoder (the code is its ``s/16 x s/16 x 8f`` map) and the generator's
  four transposed convolutions, without the tanh, as the decoder."""
  out_shape: Shape
  features: int = 64
  upsample: str = "subpixel"

  @nn.compact
  def __call__(self, x: Array, train: bool = True) -> tuple[Array, Array]:
    h, _, c = self.out_shape
    sides, f = halved_sides(h), self.features
    code = _tf_dcgan_encoder(x, f, train)
    y = code
    for side, feats in zip(sides[3:0:-1], (4 * f, 2 * f, f)):
      y = nn.relu(batch_norm(train)(
          ConvTransposeTo(feats, side, use_bias=False, upsample=self.upsample)(y)))
    return ConvTransposeTo(c, h, upsample=self.upsample)(y), code.reshape(x.shape[0], -1)


# ----------------------------------------------------------------------------------------------
# PyTorch-GAN's EBGAN networks (implementations/ebgan/ebgan.py), layer for layer
# ----------------------------------------------------------------------------------------------

class PyTorchGANGenerator(nn.Module):
  """Linear to 128 x H/4 x W/4, twice [upsample x2, 3x3 conv, BatchNorm, LeakyReLU 0.2],
  3x3 conv, tanh. BatchNorm epsilon is 0.8 as in the original (``BatchNorm2d(c, 0.8)``)."""
  out_shape: Shape
  upsample: str = "subpixel"

  @nn.compact
  def __call__(self, z: Array, train: bool = True) -> Array:
    h, w, c = self.out_shape
    x = nn.Dense(128 * (h // 4) * (w // 4))(z).reshape(z.shape[0], h // 4, w // 4, 128)
    for feats in (128, 64):
      x = UpsampleConv(feats, method=self.upsample)(x)
      x = nn.leaky_relu(batch_norm(train, epsilon=0.8)(x), 0.2)
    return jnp.tanh(Conv(c)(x))


class PyTorchGANAutoEncoder(nn.Module):
  """3x3 stride-2 conv 64, ReLU, Linear to 32 (the code), BatchNorm(eps 0.8), ReLU,
  Linear back, BatchNorm, ReLU, upsample x2, 3x3 conv."""
  out_shape: Shape
  upsample: str = "subpixel"

  @nn.compact
  def __call__(self, x: Array, train: bool = True) -> tuple[Array, Array]:
    h, w, c = self.out_shape
    y = nn.relu(Conv(64, stride=2)(x))
    code = nn.Dense(32)(y.reshape(x.shape[0], -1))
    y = nn.relu(batch_norm(train, epsilon=0.8)(code))
    y = nn.relu(batch_norm(train)(nn.Dense(64 * (h // 2) * (w // 2))(y)))
    y = y.reshape(x.shape[0], h // 2, w // 2, 64)
    return UpsampleConv(c, method=self.upsample)(y), code

class ConvDiscriminator(nn.Module):
  """Stride-2 convolutions down to 4x4 (DCGAN style: LeakyReLU 0.2, BatchNorm after the
  first), then a logit; returns ``[B]``."""
  features: int = 32
  kernel_size: int = 3

  @nn.compact
  def __call__(self, x: Array, train: bool = True) -> Array:
    h, feats, first = x, self.features, True
    while h.shape[1] > 4:
      k = self.kernel_size
      h = Conv(feats, kernel_size=k, stride=2, padding=(k - 1) // 2 if k % 2 else k // 2 - 1)(h)
      if not first:
        h = batch_norm(train)(h)
      h, feats, first = nn.leaky_relu(h, 0.2), feats * 2, False
    return nn.Dense(1)(h.reshape(x.shape[0], -1))[:, 0]


# ----------------------------------------------------------------------------------------------
# MAGAN's released MNIST pair (Wang, Cully, Chang & Demiris 2017; the authors' code)
# ----------------------------------------------------------------------------------------------

class MAGANGenerator(nn.Module):
  """The released MNIST generator: ``z`` to a ``side/4 x side/4 x f`` map (a transposed
  convolution of the 1x1 latent, that is a dense layer), then 4x4 stride-2 transposed
  convolutions to ``f/2`` and to the image channels; ReLU between, no BatchNorm, a sigmoid
  output on [0, 1], returned on the project's [-1, 1] as ``2 s - 1``."""
  out_shape: Shape
  features: int = 128
  upsample: str = "subpixel"

  @nn.compact
  def __call__(self, z: Array, train: bool = True) -> Array:
    h, w, c = self.out_shape
    x = nn.relu(nn.Dense(h // 4 * w // 4 * self.features)(z))
    x = x.reshape(z.shape[0], h // 4, w // 4, self.features)
    x = nn.relu(ConvTranspose(self.features // 2, 4, method=self.upsample)(x))
    x = ConvTranspose(c, 4, method=self.upsample)(x)
    return 2.0 * nn.sigmoid(x) - 1.0
