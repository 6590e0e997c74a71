"""Layers every architecture shares: convolutions in the forms XLA:CPU runs fast, BatchNorm
with PyTorch's momentum, and PacGAN's packing of several examples into one."""

from __future__ import annotations

import functools
from typing import Callable, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np


Array = jax.Array
Shape = tuple[int, ...]

# PyTorch's BatchNorm keeps 0.9 of the running average per step (its momentum 0.1).
_BN_MOMENTUM = 0.9


# ----------------------------------------------------------------------------------------------
# Per-channel sums as matmuls
# ----------------------------------------------------------------------------------------------

def channel_sum(x: Array) -> Array:
  """``x.sum(axis=all but the last)`` in float32, computed as ``ones @ x.reshape(-1, C)``.

  XLA:CPU lowers a reduction of a ``[64, 32, 32, 64]`` map to its 64 channels as a tree of
  reduce-windows that runs about ten times slower than this matvec (docs/performance.md); such
  sums (BatchNorm statistics, bias gradients) were 41 % of the default step on one core. The
  matmul runs at full float32 precision on every backend. Its gradient is a broadcast.
  """
  flat = x.reshape(-1, x.shape[-1])
  ones = jnp.ones((flat.shape[0],), flat.dtype)
  return jnp.dot(ones, flat, precision=jax.lax.Precision.HIGHEST,
                 preferred_element_type=jnp.float32)


@functools.partial(jax.custom_vjp, nondiff_argnums=(1,))
def broadcast_channels(v: Array, shape: Shape) -> Array:
  """``jnp.broadcast_to(v, shape)`` for a per-channel vector ``v`` (the last axis), whose
  gradient is :func:`channel_sum` rather than the reduction autodiff would emit."""
  return jnp.broadcast_to(v, shape)


def _broadcast_channels_fwd(v: Array, shape: Shape) -> tuple[Array, Array]:
  # The residual only carries v's dtype to the backward pass.
  return jnp.broadcast_to(v, shape), jnp.zeros((0,), v.dtype)


def _broadcast_channels_bwd(shape: Shape, like: Array, g: Array) -> tuple[Array]:
  return (channel_sum(g).astype(like.dtype),)


broadcast_channels.defvjp(_broadcast_channels_fwd, _broadcast_channels_bwd)


def add_channels(y: Array, bias: Array) -> Array:
  """``y + bias`` over the last axis, with the bias gradient as a :func:`channel_sum`."""
  return y + broadcast_channels(bias.astype(y.dtype), y.shape)


class BatchNorm(nn.Module):
  """Batch normalisation (Ioffe & Szegedy, 2015) over every axis but the last: Flax's
  ``nn.BatchNorm`` with the same variables (``scale``, ``bias``; ``batch_stats`` ``mean``,
  ``var``), the same running-average update and the same variance, ``E[x^2] - E[x]^2``
  clipped at zero, in float32. Only the sums differ: every per-channel sum, forward and
  backward, is a :func:`channel_sum`, so the result agrees with ``nn.BatchNorm`` up to the
  order of summation (the test suite checks outputs, gradients and statistics)."""
  use_running_average: bool = False
  momentum: float = 0.99
  epsilon: float = 1e-5

  @nn.compact
  def __call__(self, x: Array) -> Array:
    c = x.shape[-1]
    ra_mean = self.variable("batch_stats", "mean", lambda: jnp.zeros((c,), jnp.float32))
    ra_var = self.variable("batch_stats", "var", lambda: jnp.ones((c,), jnp.float32))
    scale = self.param("scale", nn.initializers.ones_init(), (c,), jnp.float32)
    bias = self.param("bias", nn.initializers.zeros_init(), (c,), jnp.float32)
    # Statistics and normalisation in float32 whatever the compute dtype (bfloat16 sums lose
    # the small variances); the output returns to the input's dtype.
    x32 = x.astype(jnp.float32)
    if self.use_running_average:
      mean, var = ra_mean.value.astype(jnp.float32), ra_var.value.astype(jnp.float32)
    else:
      n = x.size // c
      mean = channel_sum(x32) / n
      var = jnp.maximum(0.0, channel_sum(x32 * x32) / n - mean * mean)
      if not self.is_initializing():
        ra_mean.value = (self.momentum * ra_mean.value.astype(jnp.float32)
                         + (1 - self.momentum) * mean).astype(ra_mean.value.dtype)
        ra_var.value = (self.momentum * ra_var.value.astype(jnp.float32)
                        + (1 - self.momentum) * var).astype(ra_var.value.dtype)
    mul = jax.lax.rsqrt(var + self.epsilon) * scale.astype(jnp.float32)
    y = (x32 - broadcast_channels(mean, x.shape)) * broadcast_channels(mul, x.shape)
    return add_channels(y, bias.astype(jnp.float32)).astype(x.dtype)


def batch_norm(train: bool, epsilon: float = 1e-5, momentum: float = _BN_MOMENTUM) -> BatchNorm:
  return BatchNorm(use_running_average=not train, momentum=momentum, epsilon=epsilon)


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
  return add_channels(out.reshape(b, 2 * h, 2 * w, f), bias)


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
      y = add_channels(y, self.param("bias", nn.initializers.zeros_init(), (self.features,),
                                     jnp.float32))
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
      y = add_channels(y, self.param("bias", nn.initializers.zeros_init(), (self.features,),
                                     jnp.float32))
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
