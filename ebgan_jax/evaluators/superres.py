"""Super-resolution's degradation operator, its baselines and its measures.

Bruna, Sprechmann & LeCun, "Super-resolution with deep convolutional sufficient statistics",
ICLR 2016, §2: a low-resolution (LR) image is ``x = U(y)`` for a high-resolution (HR) ``y``; a
network trained for mean-squared error predicts E[y | x], blurry where many sharp ``y`` fit;
the classic inverse problem ``argmin_y 1/2 ||U(y) - x||^2 + lambda R(y)`` with total variation
``R`` is consistent with ``x`` but flat.

Everything here takes float RGB in [0, 1], ``[..., H, W, 3]``:

- :func:`downsample` is the one operator ``U`` of the project: antialiased bicubic resizing by
  ``1 / scale`` (``jax.image.resize``), of an HR image cropped to a multiple of ``scale``.
- :func:`upsample_bicubic` is the bicubic baseline.
- :func:`total_variation_solve` solves the inverse problem with optax.
- :func:`scores` measures an output as the field reports it: PSNR and SSIM on the luminance
  ``Y`` (ITU-R BT.601, as SRCNN's and SRGAN's tables; ``skimage.color.rgb2ycbcr``) with
  ``scale`` pixels of border cropped, on outputs quantised to 8 bits; the consistency, the
  PSNR of ``U(output)`` against ``x``; and the detail ratio (below).

The detail ratio is a texture statistic that mean-squared error does not reward: the energy of
the part of an image that ``U`` discards, ``d(y) = y - B(U(y))`` with ``B`` bicubic upsampling,
of the output over that of the true HR image, on ``Y``. 1 is the HR image's amount of detail;
a blurry output is below 1, and noise above it.
"""

from __future__ import annotations

import functools

from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np

Array = jax.Array


def _check_scale(scale: int) -> None:
  if scale not in (2, 3, 4, 8):
    raise ValueError(f"scale must be 2, 3, 4 or 8, got {scale}.")


def downsample(y: Array, scale: int) -> Array:
  """``U(y)``: antialiased bicubic downsampling of ``[..., H, W, C]`` by ``scale`` (H and W
  multiples of ``scale``)."""
  _check_scale(scale)
  h, w = y.shape[-3], y.shape[-2]
  if h % scale or w % scale:
    raise ValueError(f"an HR image of {h}x{w} does not divide by scale {scale}: crop it to a "
                     "multiple (degrade).")
  shape = y.shape[:-3] + (h // scale, w // scale, y.shape[-1])
  return jax.image.resize(y, shape, method="bicubic", antialias=True)


def crop_to_multiple(image: np.ndarray, scale: int) -> np.ndarray:
  """The top-left crop of ``image`` ``[H, W, C]`` whose sides are multiples of ``scale``."""
  h, w = image.shape[0] - image.shape[0] % scale, image.shape[1] - image.shape[1] % scale
  return image[:h, :w]


def degrade(image: np.ndarray, scale: int) -> tuple[np.ndarray, np.ndarray]:
  """An HR image ``[H, W, 3]`` in [0, 1] cropped to a multiple of ``scale``, and its LR
  input ``U(hr)``: the pair every method is scored on."""
  hr = crop_to_multiple(np.asarray(image, np.float32), scale)
  return hr, np.asarray(downsample(jnp.asarray(hr), scale))


def upsample_bicubic(x: Array, scale: int) -> Array:
  """Bicubic upsampling of ``[..., h, w, C]`` by ``scale``, clipped to [0, 1]."""
  shape = x.shape[:-3] + (x.shape[-3] * scale, x.shape[-2] * scale, x.shape[-1])
  return jnp.clip(jax.image.resize(x, shape, method="bicubic"), 0.0, 1.0)


def total_variation(y: Array, eps: float = 1e-3) -> Array:
  """Isotropic total variation ``sum sqrt(dx^2 + dy^2 + eps^2)`` of ``[H, W, C]`` (Rudin,
  Osher & Fatemi 1992), smoothed by ``eps`` so that gradient descent can take it."""
  dx = y[:-1, 1:] - y[:-1, :-1]
  dy = y[1:, :-1] - y[:-1, :-1]
  return jnp.sum(jnp.sqrt(dx * dx + dy * dy + eps * eps))


def total_variation_solve(x: Array, scale: int, lam: float, steps: int = 300,
                          learning_rate: float = 0.01) -> Array:
  """``argmin_y 1/2 ||U(y) - x||^2 + lam TV(y)`` for one LR image ``[h, w, 3]`` by Adam from
  the bicubic upsampling, clipped to [0, 1]. One compilation per image shape: ``lam`` is an
  argument of the compiled program, so a search over it compiles once."""
  return _tv_solve(jnp.asarray(x), jnp.asarray(lam, jnp.float32), scale, steps, learning_rate)


@functools.partial(jax.jit, static_argnums=(2, 3, 4))
def _tv_solve(x: Array, lam: Array, scale: int, steps: int, learning_rate: float) -> Array:
  import optax
  from ebgan_jax.state import standard_promotion
  opt = standard_promotion(optax.adam(learning_rate))

  def objective(y):
    return 0.5 * jnp.sum(jnp.square(downsample(y, scale) - x)) + lam * total_variation(y)

  def step(carry, _):
    y, state = carry
    grads = jax.grad(objective)(y)
    updates, state = opt.update(grads, state)
    return (optax.apply_updates(y, updates), state), None

  y0 = upsample_bicubic(x, scale)
  (y, _), _ = jax.lax.scan(step, (y0, opt.init(y0)), None, length=steps)
  return jnp.clip(y, 0.0, 1.0)


def to_uint8(image) -> np.ndarray:
  """[0, 1] floats to 8 bits, rounded."""
  return np.asarray(np.clip(np.round(np.asarray(image, np.float64) * 255.0), 0, 255), np.uint8)


def luminance(image_uint8: np.ndarray) -> np.ndarray:
  """``Y`` of ITU-R BT.601 in [16, 235], float64, as the SRCNN/SRGAN tables measure."""
  from skimage.color import rgb2ycbcr
  return rgb2ycbcr(np.asarray(image_uint8))[..., 0]


def _crop(a: np.ndarray, border: int) -> np.ndarray:
  return a[border:a.shape[0] - border, border:a.shape[1] - border] if border else a


def psnr_y(output_uint8: np.ndarray, target_uint8: np.ndarray, border: int) -> float:
  """PSNR (dB) of the luminance with ``border`` pixels cropped, peak 255; inf when equal."""
  from skimage.metrics import peak_signal_noise_ratio
  a = _crop(luminance(target_uint8), border)
  b = _crop(luminance(output_uint8), border)
  if np.array_equal(a, b):
    return float("inf")
  return float(peak_signal_noise_ratio(a, b, data_range=255.0))


def ssim_y(output_uint8: np.ndarray, target_uint8: np.ndarray, border: int) -> float:
  """SSIM (Wang et al. 2004: Gaussian window of sigma 1.5, K1 0.01, K2 0.03) of the luminance
  with ``border`` pixels cropped."""
  from skimage.metrics import structural_similarity
  return float(structural_similarity(
      _crop(luminance(target_uint8), border), _crop(luminance(output_uint8), border),
      data_range=255.0, gaussian_weights=True, sigma=1.5, use_sample_covariance=False))


def consistency_psnr(output: np.ndarray, x: np.ndarray, scale: int) -> float:
  """PSNR (dB, peak 1) of ``U(output)`` against the LR input ``x``, both in [0, 1]."""
  down = np.asarray(downsample(jnp.asarray(output, jnp.float32), scale), np.float64)
  mse = float(np.mean(np.square(down - np.asarray(x, np.float64))))
  return float("inf") if mse == 0 else float(10 * np.log10(1.0 / mse))


def detail_energy(image: np.ndarray, scale: int) -> float:
  """Mean square of ``Y - B(U(Y))`` on [0, 1] luminance: the detail ``U`` discards."""
  y = (luminance(to_uint8(image)) - 16.0) / 219.0
  y = jnp.asarray(y[..., None], jnp.float32)
  lost = y - jax.image.resize(downsample(y, scale), y.shape, method="bicubic")
  return float(jnp.mean(jnp.square(lost)))


def scores(output: np.ndarray, target: np.ndarray, x: np.ndarray, scale: int
           ) -> dict[str, float]:
  """PSNR-Y, SSIM-Y, consistency and detail ratio of one output (floats in [0, 1])."""
  out8, hr8 = to_uint8(output), to_uint8(target)
  return {"psnr_y": psnr_y(out8, hr8, scale), "ssim_y": ssim_y(out8, hr8, scale),
          "consistency_psnr": consistency_psnr(out8 / 255.0, x, scale),
          "detail_ratio": detail_energy(out8 / 255.0, scale) / detail_energy(hr8 / 255.0, scale)}


def diversity(samples: np.ndarray) -> float:
  """Mean over pixels of the standard deviation over samples ``[S, H, W, C]`` (in [0, 1])."""
  return float(np.mean(np.std(np.asarray(samples, np.float64), axis=0)))


def tiled(fn: Callable[[Array], Array], x: np.ndarray, scale: int, tile: int = 64,
          margin: int = 8) -> np.ndarray:
  """``fn`` (LR ``[1, h, w, 3]`` -> HR) on an LR image ``[h, w, 3]`` of any size, in tiles of
  ``tile`` LR pixels read with ``margin`` pixels of context on every side, the image's border
  extended by reflection. Every tile has one shape (one compilation) and memory stays bounded;
  where the network's receptive field fits in the margin, the tile size changes nothing."""
  h, w, _ = x.shape
  pads = ((margin, margin + (-h) % tile), (margin, margin + (-w) % tile), (0, 0))
  xp = np.pad(np.asarray(x, np.float32), pads, mode="symmetric")
  out = np.zeros((xp.shape[0] * scale, xp.shape[1] * scale, 3), np.float32)
  span, m = tile + 2 * margin, margin * scale
  for top in range(0, xp.shape[0] - 2 * margin, tile):
    for left in range(0, xp.shape[1] - 2 * margin, tile):
      y = np.asarray(fn(jnp.asarray(xp[None, top:top + span, left:left + span])))[0]
      out[top * scale:(top + tile) * scale, left * scale:(left + tile) * scale] = \
          y[m:m + tile * scale, m:m + tile * scale]
  return out[:h * scale, :w * scale]
