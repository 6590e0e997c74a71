"""Generators and auto-encoder discriminators (Flax linen, NHWC).

Every discriminator here is an auto-encoder: ``__call__`` returns ``(reconstruction, code)``,
the code being what the pulling-away term acts on. Image shapes come from the data; each
model checks the shape it is given with :func:`check_image_shape` before anything is traced.

- ``mlp``: the paper's MNIST grid-search networks (nLayerG, sizeG, nLayerD, sizeD, dropoutD).
- ``small_conv``: small convolutional pairs for 8x8 to 32x32 images.
- ``dcgan``: the DCGAN generator and the paper's 64x64 auto-encoder discriminator.
- ``dcgan_tf``: the DCGAN of the TensorFlow code that VEEGAN and PacGAN run on Stacked MNIST
  (5x5 kernels, sides halved with rounding up, so 28x28 works).
- ``pytorch_gan``: the networks of PyTorch-GAN's ``implementations/ebgan/ebgan.py``, for
  throughput comparisons on identical networks.
- ``sbn``: sigmoid belief networks over binary units, top-down and bottom-up (the Bidirectional
  Helmholtz Machine's ``p`` and ``q``).
- the Ladder Network, the energy function of EBGAN-LN (with ``mlp`` generators).
"""

from __future__ import annotations

import math
from typing import Any, Callable, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

Array = jax.Array
Shape = tuple[int, ...]

# PyTorch's BatchNorm keeps 0.9 of the running average per step (its momentum 0.1).
_BN_MOMENTUM = 0.9


def _batch_norm(train: bool, epsilon: float = 1e-5) -> nn.BatchNorm:
  return nn.BatchNorm(use_running_average=not train, momentum=_BN_MOMENTUM, epsilon=epsilon)


# ----------------------------------------------------------------------------------------------
# Nearest-neighbour x2 upsampling followed by a 3x3 convolution
# ----------------------------------------------------------------------------------------------

# Output row 2i+a of "upsample x2, then 3x3 conv (padding 1)" reads input rows {i-1, i} (a = 0)
# or {i, i+1} (a = 1); the 3x3 kernel's rows fold onto those two taps by these matrices.
_PHASE_FOLD = np.array([[[1, 0, 0], [0, 1, 1]], [[1, 1, 0], [0, 0, 1]]], np.float32)


def subpixel_kernel(kernel: Array) -> Array:
  """Folds a ``[3, 3, C, F]`` kernel into the ``[2, 2, C, 4F]`` kernel of its four phases.

  Output channel block ``(2a + b) * F`` holds the 2x2 kernel of output phase ``(a, b)``.
  """
  c, f = kernel.shape[2], kernel.shape[3]
  fold = jnp.asarray(_PHASE_FOLD, kernel.dtype)
  phases = jnp.einsum("aup,bvq,pqcf->uvcabf", fold, fold, kernel)
  return phases.reshape(2, 2, c, 4 * f)


def conv2d(x: Array, kernel: Array, *, stride: int = 1,
           padding: tuple[tuple[int, int], tuple[int, int]] = ((0, 0), (0, 0)),
           im2col: bool | None = None) -> Array:
  """A 2-D convolution (NHWC, HWIO kernel) in the formulation XLA:CPU runs fastest.

  Convolutions with one to four input or output channels run at a small fraction of the
  machine's matmul speed as library convolutions (measured with `make bench`). They are rewritten exactly:

  - few input channels: im2col, a matmul over the ``kh * kw * C`` patch values;
  - few output channels: a per-pixel matmul to ``kh * kw * F`` values, then shifted adds.

  ``im2col=True`` takes the first form whatever the channels: for maps of a few pixels with
  many channels (the 4x4 and 2x2 maps of a DCGAN), where the library convolution and its
  gradients ran 10-100 times slower than the matmul. Everything else is
  ``lax.conv_general_dilated`` on an explicitly padded input.
  """
  kh, kw, c, f = kernel.shape
  b, h, w, _ = x.shape
  (pt, pb), (pl, pr) = padding
  ho, wo = (h + pt + pb - kh) // stride + 1, (w + pl + pr - kw) // stride + 1
  if im2col or (im2col is None and c <= 4):
    xp = jnp.pad(x, ((0, 0), (pt, pb), (pl, pr), (0, 0)))
    cols = [xp[:, i:i + stride * (ho - 1) + 1:stride, j:j + stride * (wo - 1) + 1:stride, :]
            for i in range(kh) for j in range(kw)]
    return jnp.einsum("bhwk,kf->bhwf", jnp.concatenate(cols, axis=-1),
                      kernel.reshape(kh * kw * c, f))
  if f <= 4 and stride == 1:
    # Linear: pad the per-pixel products instead of the (wider) input.
    taps = jnp.einsum("bhwc,cijf->bhwijf", x, kernel.transpose(2, 0, 1, 3))
    taps = jnp.pad(taps, ((0, 0), (pt, pb), (pl, pr), (0, 0), (0, 0), (0, 0)))
    return sum(taps[:, i:i + ho, j:j + wo, i, j, :] for i in range(kh) for j in range(kw))
  # Explicit padding and a VALID convolution: padding inside small windows falls back to
  # slow generated loops on XLA:CPU.
  xp = jnp.pad(x, ((0, 0), (pt, pb), (pl, pr), (0, 0)))
  return jax.lax.conv_general_dilated(xp, kernel, (stride, stride), "VALID",
                                      dimension_numbers=("NHWC", "HWIO", "NHWC"))


def upsample_conv_subpixel(x: Array, kernel: Array, bias: Array) -> Array:
  """``conv3x3(upsample_nearest_x2(x))`` computed on the low-resolution input.

  The same function as :func:`upsample_conv_resize`, with 4/9 of its multiply-adds: one 2x2
  convolution produces all four output phases, and a depth-to-space shuffle interleaves them.
  XLA:CPU runs this several times faster than the upsample-then-conv form and far faster than
  a transposed convolution (measured with `make bench`).
  """
  b, h, w, _ = x.shape
  f = kernel.shape[-1]
  y = conv2d(x, subpixel_kernel(kernel), padding=((1, 1), (1, 1)))  # [B, H+1, W+1, 4F]
  y = y.reshape(b, h + 1, w + 1, 2, 2, f)
  rows = [jnp.stack([y[:, a:a + h, bb:bb + w, a, bb] for bb in (0, 1)], axis=3) for a in (0, 1)]
  out = jnp.stack(rows, axis=2)  # [B, H, 2 (a), W, 2 (b), F]
  return out.reshape(b, 2 * h, 2 * w, f) + bias.reshape(1, 1, 1, f)


def upsample_conv_resize(x: Array, kernel: Array, bias: Array) -> Array:
  """The plain form: nearest-neighbour x2 upsampling, then a 3x3 'SAME' convolution."""
  b, h, w, c = x.shape
  up = jax.image.resize(x, (b, 2 * h, 2 * w, c), "nearest")
  y = jax.lax.conv_general_dilated(
      up, kernel, (1, 1), ((1, 1), (1, 1)), dimension_numbers=("NHWC", "HWIO", "NHWC"))
  return y + bias.reshape(1, 1, 1, -1)


def _conv_transpose_phases(k: int) -> tuple[int, list[int], list[list[int]]]:
  """For Flax's ``ConvTranspose`` with a ``k``-tap kernel, stride 2 and 'SAME' padding (no
  kernel flip): output ``2p + a`` is ``sum_t kernel[t] x[p + (a + t - pad) / 2]`` over the taps
  ``t`` with ``a + t - pad`` even, ``pad = ceil(k / 2)``. Returns the common window ``W`` of
  input offsets, each phase's first offset, and for each phase ``a`` the tap at each window
  position (-1: none)."""
  pad = -(-k // 2)
  offsets = [{(a + t - pad) // 2: t for t in range(k) if (a + t - pad) % 2 == 0} for a in (0, 1)]
  first = [min(o) for o in offsets]
  window = max(max(o) - min(o) + 1 for o in offsets)
  taps = [[offsets[a].get(first[a] + i, -1) for i in range(window)] for a in (0, 1)]
  return window, first, taps


# Feature maps of at most this many pixels (4x4) are convolved by im2col and a matmul: there
# XLA:CPU's library convolutions and their gradients ran 10-100 times slower (conv2d).
_TINY_MAP = 16


def conv_transpose_subpixel(x: Array, kernel: Array) -> Array:
  """Flax's ``nn.ConvTranspose(strides=(2, 2), padding="SAME")`` without its bias, computed on
  the low-resolution input.

  One stride-1 convolution produces the four output phases (each phase's taps of the kernel,
  zeros elsewhere in the common window: for 4x4 kernels none, for 5x5 a 3x3 window) and a
  depth-to-space shuffle interleaves them. The same function as the transposed convolution,
  which XLA:CPU runs several times slower, and 10-20 times slower with its gradient."""
  k, _, c, f = kernel.shape
  b, h, w, _ = x.shape
  window, first, taps = _conv_transpose_phases(k)
  padded = jnp.pad(kernel, ((0, 1), (0, 1), (0, 0), (0, 0)))  # index -1: a zero tap
  phase = jnp.stack([jnp.stack([padded[jnp.asarray(taps[a])][:, jnp.asarray(taps[bb])]
                                for bb in (0, 1)], axis=-2) for a in (0, 1)], axis=-3)
  # phase: [W, W, C, 2 (a), 2 (b), F]; pad so that every phase's window fits
  lo = -min(first)
  span = max(first) - min(first)
  hi = span + window - 1 - lo
  y = conv2d(x, phase.reshape(window, window, c, 4 * f), padding=((lo, hi), (lo, hi)),
             im2col=True if h * w <= _TINY_MAP else None)
  y = y.reshape(b, h + span, w + span, 2, 2, f)
  rows = [jnp.stack([y[:, first[a] + lo:first[a] + lo + h, first[bb] + lo:first[bb] + lo + w,
                       a, bb] for bb in (0, 1)], axis=3) for a in (0, 1)]
  return jnp.stack(rows, axis=2).reshape(b, 2 * h, 2 * w, f)


class ConvTranspose(nn.Module):
  """A stride-2 'SAME' transposed convolution parameterised exactly like Flax's
  ``nn.ConvTranspose`` (its parameter names, shapes and initialisers, so checkpoints carry
  over): ``method="subpixel"`` (default) computes it by :func:`conv_transpose_subpixel`,
  ``"resize"`` as the transposed convolution that ``nn.ConvTranspose`` runs
  (``lax.conv_transpose``); the test suite checks that they agree."""
  features: int
  kernel_size: int = 4
  use_bias: bool = True
  kernel_init: Callable = nn.initializers.lecun_normal()
  method: str = "subpixel"

  @nn.compact
  def __call__(self, x: Array) -> Array:
    k = self.kernel_size
    kernel = self.param("kernel", self.kernel_init, (k, k, x.shape[-1], self.features),
                        jnp.float32)
    if self.method == "subpixel":
      y = conv_transpose_subpixel(x, kernel)
    elif self.method == "resize":
      y = jax.lax.conv_transpose(x, kernel, (2, 2), "SAME",
                                 dimension_numbers=("NHWC", "HWIO", "NHWC"))
    else:
      raise ValueError(f"ConvTranspose.method must be 'subpixel' or 'resize', got {self.method!r}.")
    if self.use_bias:
      y = y + self.param("bias", nn.initializers.zeros_init(), (self.features,),
                         jnp.float32).reshape(1, 1, 1, -1)
    return y


def same_padding(side: int, k: int, stride: int) -> tuple[int, int]:
  """'SAME' padding of one spatial axis, as TensorFlow and ``nn.Conv`` place it: output side
  ``ceil(side / stride)``, the odd pixel of padding after."""
  total = max((-(-side // stride) - 1) * stride + k - side, 0)
  return total // 2, total - total // 2


class Conv(nn.Module):
  """A square convolution, parameterised like ``nn.Conv`` (``kernel``, ``bias``), computed by
  :func:`conv2d`: ``padding`` pixels on every side, or ``"SAME"``."""
  features: int
  kernel_size: int = 3
  stride: int = 1
  padding: int | str = 1
  use_bias: bool = True
  kernel_init: Callable = nn.initializers.lecun_normal()

  @nn.compact
  def __call__(self, x: Array) -> Array:
    k = self.kernel_size
    kernel = self.param("kernel", self.kernel_init, (k, k, x.shape[-1], self.features),
                        jnp.float32)
    if self.padding == "SAME":
      pads = tuple(same_padding(side, k, self.stride) for side in x.shape[1:3])
    else:
      pads = ((self.padding, self.padding),) * 2
    out = [-(-(side + sum(p) - k + 1) // self.stride) for side, p in zip(x.shape[1:3], pads)]
    y = conv2d(x, kernel, stride=self.stride, padding=pads,
               im2col=True if out[0] * out[1] <= _TINY_MAP else None)
    if self.use_bias:
      y = y + self.param("bias", nn.initializers.zeros_init(), (self.features,),
                         jnp.float32).reshape(1, 1, 1, self.features)
    return y


class UpsampleConv(nn.Module):
  """Nearest x2 upsampling and a 3x3 convolution, parameterised like ``nn.Conv``.

  ``method="subpixel"`` (default) and ``"resize"`` compute the same function from the same
  parameters; the test suite checks that they agree.
  """
  features: int
  method: str = "subpixel"

  @nn.compact
  def __call__(self, x: Array) -> Array:
    kernel = self.param("kernel", nn.initializers.lecun_normal(),
                        (3, 3, x.shape[-1], self.features), jnp.float32)
    bias = self.param("bias", nn.initializers.zeros_init(), (self.features,), jnp.float32)
    if self.method == "subpixel":
      return upsample_conv_subpixel(x, kernel, bias)
    if self.method == "resize":
      return upsample_conv_resize(x, kernel, bias)
    raise ValueError(f"UpsampleConv.method must be 'subpixel' or 'resize', got {self.method!r}.")


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
        h = _batch_norm(train)(h)
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


# ----------------------------------------------------------------------------------------------
# PacGAN's 2-D networks (Lin et al. 2018, §5.1 and their released code)
# ----------------------------------------------------------------------------------------------

_PACGAN_INIT = nn.initializers.normal(0.02)  # weights N(0, 0.02), biases 0


class PacGANGenerator(nn.Module):
  """``n_layers`` hidden layers of ``size`` units, each linear -> BatchNorm -> ReLU, and a
  linear output. PacGAN's code builds the whole MLP without biases (BatchNorm's shift takes
  their place in the hidden layers; the output layer has none either)."""
  out_shape: Shape
  n_layers: int = 4
  size: int = 400

  @nn.compact
  def __call__(self, z: Array, train: bool = True) -> Array:
    h = z
    for _ in range(self.n_layers):
      h = nn.Dense(self.size, use_bias=False, kernel_init=_PACGAN_INIT)(h)
      h = nn.relu(_batch_norm(train, epsilon=1e-4)(h))  # Blocks' BatchNormalization epsilon
    h = nn.Dense(math.prod(self.out_shape), use_bias=False, kernel_init=_PACGAN_INIT)(h)
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
# Packing (PacGAN, Lin et al. 2018, §3)
# ----------------------------------------------------------------------------------------------

def packed_shape(shape: Sequence[int], pack: int) -> tuple[int, ...]:
  """The shape of one packed example: ``pack`` vectors side by side, or ``pack`` images
  stacked along the channels."""
  shape = tuple(int(s) for s in shape)
  if pack == 1:
    return shape
  if len(shape) == 1:
    return (shape[0] * pack,)
  return shape[:-1] + (shape[-1] * pack,)


def pack_examples(x: Array, pack: int) -> Array:
  """``[n * pack, ...]`` -> ``[n, packed ...]``: consecutive rows form one packed example, so
  a discriminator judges ``pack`` samples together (real with real, fake with fake)."""
  if pack == 1:
    return x
  n = x.shape[0] // pack
  grouped = x.reshape((n, pack) + x.shape[1:])
  if x.ndim == 2:
    return grouped.reshape(n, -1)
  # [n, pack, H, W, C] -> [n, H, W, pack * C], slot-major channels.
  return jnp.moveaxis(grouped, 1, -2).reshape((n,) + x.shape[1:-1] + (pack * x.shape[-1],))


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
    x = nn.relu(_batch_norm(train)(x))
    for feats in (2 * self.features, self.features):
      x = UpsampleConv(feats, method=self.upsample)(x)
      x = nn.relu(_batch_norm(train)(x))
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
    x = nn.relu(_batch_norm(train)(x))
    for i in range(n_up - 1):
      feats //= 2
      x = ConvTranspose(feats, 4, use_bias=False, method=self.upsample)(x)
      x = nn.relu(_batch_norm(train)(x))
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
    y = nn.leaky_relu(_batch_norm(train)(nn.Conv(2 * f, (4, 4), strides=2, use_bias=False)(y)), 0.2)
    code = nn.leaky_relu(
        _batch_norm(train)(nn.Conv(4 * f, (4, 4), strides=2, use_bias=False)(y)), 0.2)
    y = code
    for feats in (2 * f, f):
      y = ConvTranspose(feats, 4, use_bias=False, method=self.upsample)(y)
      y = nn.relu(_batch_norm(train)(y))
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
    x = nn.relu(_batch_norm(train)(x.reshape(z.shape[0], sides[4], sides[4], 8 * f)))
    for side, feats in zip(sides[3:0:-1], (4 * f, 2 * f, f)):
      x = nn.relu(_batch_norm(train)(
          ConvTransposeTo(feats, side, use_bias=False, upsample=self.upsample)(x)))
    return jnp.tanh(ConvTransposeTo(c, h, upsample=self.upsample)(x))


def _tf_dcgan_encoder(x: Array, features: int, train: bool) -> Array:
  """Four 5x5 stride-2 'SAME' convolutions (f, 2f, 4f, 8f), LeakyReLU 0.2, BatchNorm after
  all but the first: DCGAN's discriminator without its logit."""
  h = x
  for i, feats in enumerate((features, 2 * features, 4 * features, 8 * features)):
    h = Conv(feats, 5, stride=2, padding="SAME", use_bias=i == 0, kernel_init=_DCGAN_INIT)(h)
    h = nn.leaky_relu(h if i == 0 else _batch_norm(train)(h), 0.2)
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
      y = nn.relu(_batch_norm(train)(
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
      x = nn.leaky_relu(_batch_norm(train, epsilon=0.8)(x), 0.2)
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
    y = nn.relu(_batch_norm(train, epsilon=0.8)(code))
    y = nn.relu(_batch_norm(train)(nn.Dense(64 * (h // 2) * (w // 2))(y)))
    y = y.reshape(x.shape[0], h // 2, w // 2, 64)
    return UpsampleConv(c, method=self.upsample)(y), code


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
        h = _batch_norm(train)(h)
      h, feats, first = nn.leaky_relu(h, 0.2), feats * 2, False
    return nn.Dense(1)(h.reshape(x.shape[0], -1))[:, 0]


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


# ----------------------------------------------------------------------------------------------
# The Ladder Network (Rasmus, Valpola, Honkala, Berglund & Raiko 2015), fully connected
# ----------------------------------------------------------------------------------------------

_LADDER_EPS = 1e-5


def _normalise(z: Array, mean: Array, var: Array) -> Array:
  return (z - mean[None]) / jnp.sqrt(var[None] + _LADDER_EPS)


class VanillaCombinator(nn.Module):
  """The denoising function ``z^ = (z~ - mu(u)) v(u) + mu(u)`` of the Ladder Network, with
  ``mu(u) = a1 sigmoid(a2 u + a3) + a4 u + a5`` and ``v(u)`` likewise from ``a6..a10``, ten
  parameters per unit (Rasmus et al. 2015, §3 and Appendix A; Pezeshki et al. 2016, §3)."""
  width: int

  @nn.compact
  def __call__(self, z_noisy: Array, u: Array) -> Array:
    a = self.param("a", lambda _, shape: jnp.zeros(shape).at[jnp.array([1, 6])].set(1.0),
                   (10, self.width))[:, None, :]  # [10, 1, width] against u [B, width]
    mu = a[0] * jax.nn.sigmoid(a[1] * u + a[2]) + a[3] * u + a[4]
    v = a[5] * jax.nn.sigmoid(a[6] * u + a[7]) + a[8] * u + a[9]
    return (z_noisy - mu) * v + mu


class LadderNetwork(nn.Module):
  """A fully connected Ladder Network: a corrupted and a clean encoder sharing their weights,
  batch normalisation of every pre-activation, Gaussian noise added to the corrupted path's
  inputs and normalised pre-activations, ReLU hidden units, and a denoising decoder that
  rebuilds every layer top-down with the vanilla combinator (Rasmus et al. 2015, Algorithm 1).

  Images in [-1, 1] are read as [0, 1]. Returns ``(logits_noisy, logits_clean, costs)``, the
  classifier's logits of the corrupted and of the clean path, ``[B, classes]``, and the
  denoising cost of each layer, ``[B, L + 1]`` (layer 0 is the input): the mean over its units
  of ``(z_l - BN_clean(z^_l))^2``. With ``train=False`` the encoders normalise with the running
  averages and add no noise. ``update_stats=False`` leaves the running averages alone (the
  passes of labelled and generated examples)."""
  sizes: tuple[int, ...]  # widths of the hidden layers and the classes
  noise_std: float = 0.3
  momentum: float = 0.99

  @nn.compact
  def __call__(self, x: Array, train: bool = True, update_stats: bool = True
               ) -> tuple[Array, Array, Array]:
    h0 = (x.reshape(x.shape[0], -1) + 1.0) / 2.0
    n_layers = len(self.sizes)
    enc = [nn.Dense(w, use_bias=False, name=f"encoder_{l + 1}") for l, w in enumerate(self.sizes)]
    beta = [self.param(f"beta_{l + 1}", nn.initializers.zeros, (w,))
            for l, w in enumerate(self.sizes)]
    gamma = self.param("gamma", nn.initializers.ones, (self.sizes[-1],))
    running = [(self.variable("batch_stats", f"mean_{l + 1}", jnp.zeros, (w,)),
                self.variable("batch_stats", f"var_{l + 1}", jnp.ones, (w,)))
               for l, w in enumerate(self.sizes)]
    noise_key = self.make_rng("dropout") if train else None

    def noise(z, l):
      if not train or self.noise_std == 0:
        return z
      return z + self.noise_std * jax.random.normal(jax.random.fold_in(noise_key, l), z.shape)

    def encode(corrupt: bool):
      h = noise(h0, 0) if corrupt else h0
      zs, stats = [h], []
      for l in range(n_layers):
        pre = enc[l](h)
        if train:
          mean, var = jnp.mean(pre, axis=0), jnp.var(pre, axis=0)
        else:
          mean, var = running[l][0].value, running[l][1].value
        z = _normalise(pre, mean, var)
        z = noise(z, l + 1) if corrupt else z
        zs.append(z)
        stats.append((mean, var))
        h = jax.nn.relu(z + beta[l][None]) if l < n_layers - 1 else gamma[None] * (z + beta[l][None])
      return zs, stats, h

    z_clean, clean_stats, logits_clean = encode(False)
    z_noisy, _, logits_noisy = encode(True)
    if train and update_stats and not self.is_initializing():
      for (mean_var, var_var), (mean, var) in zip(running, clean_stats):
        mean_var.value = self.momentum * mean_var.value + (1 - self.momentum) * mean
        var_var.value = self.momentum * var_var.value + (1 - self.momentum) * var

    widths = (h0.shape[1],) + tuple(self.sizes)
    costs = [None] * (n_layers + 1)
    z_hat = None
    for l in reversed(range(n_layers + 1)):
      u = (jax.nn.softmax(logits_noisy) if l == n_layers
           else nn.Dense(widths[l], use_bias=False, name=f"decoder_{l}")(z_hat))
      u = _normalise(u, jnp.mean(u, axis=0), jnp.var(u, axis=0))
      z_hat = VanillaCombinator(widths[l], name=f"combinator_{l}")(z_noisy[l], u)
      target = z_hat if l == 0 else _normalise(z_hat, *clean_stats[l - 1])
      costs[l] = jnp.mean(jnp.square(z_clean[l] - target), axis=-1)
    return logits_noisy, logits_clean, jnp.stack(costs, axis=-1)


# ----------------------------------------------------------------------------------------------
# Construction from a config
# ----------------------------------------------------------------------------------------------

def _output_activation(name: str) -> Callable[[Array], Array]:
  if name == "tanh":
    return jnp.tanh
  if name == "none":
    return lambda h: h
  raise ValueError(f"model.output_activation must be 'tanh' or 'none', got {name!r}.")


def _require(ok: bool, arch: str, shape: Shape, need: str) -> None:
  if not ok:
    raise ValueError(f"model.arch={arch!r} cannot take data of shape {tuple(shape)}: it needs "
                     f"{need}; set data.image_size to such a size or choose another model.arch.")


def check_image_shape(arch: str, shape: Shape) -> None:
  """Raises ``ValueError`` (one line, with the fix) when ``arch`` cannot take ``shape``."""
  if arch in ("mlp", "pacgan", "sbn"):  # fully connected: any shape, flattened
    return
  _require(len(shape) == 3, arch, shape, "images of shape [H, W, C]")
  h, w, _ = shape
  if arch in ("small_conv", "pytorch_gan"):
    _require(h == w and h % 4 == 0 and 8 <= h <= 64, arch, shape,
             "square images whose side is a multiple of 4 between 8 and 64")
  elif arch == "dcgan":
    _require(h == w and h >= 16 and h & (h - 1) == 0, arch, shape,
             "square images whose side is a power of two, at least 16")
  elif arch == "dcgan_tf":
    _require(h == w and h >= 16, arch, shape, "square images of side at least 16")
  elif arch == "began":
    _require(h == w and h >= 8 and h & (h - 1) == 0, arch, shape,
             "square images whose side is 8 times a power of two (8, 16, 32, 64, ...)")
  else:
    raise ValueError(f"unknown model.arch {arch!r}; choose one of "
                     "'mlp', 'pacgan', 'small_conv', 'dcgan', 'dcgan_tf', 'began', 'pytorch_gan', "
                     "'sbn'.")


def make_models(model_cfg: Any, data_shape: Sequence[int], discriminator: str = "autoencoder",
                latent_dim: int = 0, pack: int = 1) -> tuple[nn.Module, nn.Module]:
  """The ``(generator, discriminator)`` pair that ``model_cfg.arch`` names, for ``data_shape``.

  ``discriminator`` is what the algorithm needs: ``"autoencoder"`` (EBGAN, BEGAN, MAGAN,
  LS-GAN), ``"logit"`` (GAN), ``"gaussian_encoder"`` (VAE, with ``latent_dim``) or ``"sbn"``
  (the BiHM's bottom-up network, with ``model.arch="sbn"``). With
  ``pack > 1`` the discriminator takes packed examples (:func:`pack_examples`).
  """
  shape = tuple(int(s) for s in data_shape)
  arch = model_cfg.arch
  check_image_shape(arch, shape)
  if (arch == "sbn") != (discriminator == "sbn"):
    raise ValueError("model.arch='sbn' (sigmoid belief networks) goes with algorithm='bihm', "
                     f"and the BiHM with it; got model.arch={arch!r}.")
  if arch == "sbn":
    sizes = tuple(int(n) for n in model_cfg.sbn_sizes)
    return TopDownSBN(shape, sizes), BottomUpSBN(sizes)
  if discriminator == "ladder":
    if arch != "mlp":
      raise ValueError(f"the Ladder Network is built with model.arch='mlp', got {arch!r}.")
    generator, _ = make_models(model_cfg, shape)
    return generator, LadderNetwork(tuple(int(n) for n in model_cfg.ladder_sizes),
                                    float(model_cfg.ladder_noise))
  if arch == "pacgan":
    generator = PacGANGenerator(shape, model_cfg.n_layers_g, model_cfg.size_g)
    pieces = model_cfg.maxout_pieces
    if discriminator == "logit":
      return generator, MaxoutDiscriminator(model_cfg.n_layers_d, model_cfg.size_d, pieces)
    if discriminator == "autoencoder":
      return generator, MaxoutAutoEncoder(packed_shape(shape, pack), model_cfg.n_layers_d,
                                          model_cfg.size_d, pieces, model_cfg.bottleneck_d)
    raise ValueError(f"model.arch='pacgan' has no {discriminator} network; use model.arch='mlp'.")
  if pack > 1:
    generator, _ = make_models(model_cfg, shape, discriminator, latent_dim)
    _, packed_d = make_models(model_cfg, packed_shape(shape, pack), discriminator, latent_dim)
    return generator, packed_d
  if discriminator == "gaussian_encoder":
    if arch != "mlp":
      raise ValueError(f"the VAE is built with model.arch='mlp', got {arch!r}.")
    return (MLPGenerator(shape, model_cfg.n_layers_g, model_cfg.size_g, False, "none"),
            GaussianEncoder(latent_dim, model_cfg.n_layers_d, model_cfg.size_d))
  if discriminator == "logit":
    generator, _ = make_models(model_cfg, shape)
    if arch == "mlp":
      return generator, MLPDiscriminator(model_cfg.n_layers_d, model_cfg.size_d,
                                         model_cfg.dropout_d)
    if arch == "small_conv":
      return generator, ConvDiscriminator(model_cfg.features_d)
    if arch == "dcgan":
      return generator, ConvDiscriminator(model_cfg.features_d, kernel_size=4)
    if arch == "dcgan_tf":
      return generator, TFDCGANDiscriminator(model_cfg.features_d)
    raise ValueError(f"model.arch={arch!r} has no logit discriminator; use mlp, small_conv, "
                     "dcgan or dcgan_tf.")
  if arch == "mlp":
    return (MLPGenerator(shape, model_cfg.n_layers_g, model_cfg.size_g, model_cfg.batch_norm_g,
                         model_cfg.output_activation),
            MLPAutoEncoder(shape, model_cfg.n_layers_d, model_cfg.size_d, model_cfg.dropout_d,
                           model_cfg.bottleneck_d, model_cfg.activation_d))
  if arch == "small_conv":
    return (SmallConvGenerator(shape, model_cfg.features_g, model_cfg.upsample),
            SmallConvAutoEncoder(shape, model_cfg.features_d, model_cfg.code_size,
                                 model_cfg.upsample))
  if arch == "dcgan":
    return (DCGANGenerator(shape, model_cfg.features_g, model_cfg.upsample),
            PaperAutoEncoder(shape, model_cfg.features_d, model_cfg.upsample))
  if arch == "dcgan_tf":
    return (TFDCGANGenerator(shape, model_cfg.features_g, model_cfg.upsample),
            TFDCGANAutoEncoder(shape, model_cfg.features_d, model_cfg.upsample))
  if arch == "began":
    return (BEGANDecoder(shape, model_cfg.features_g, model_cfg.upsample),
            BEGANAutoEncoder(shape, model_cfg.features_d, model_cfg.code_size, model_cfg.upsample))
  return (PyTorchGANGenerator(shape, model_cfg.upsample),
          PyTorchGANAutoEncoder(shape, model_cfg.upsample))
