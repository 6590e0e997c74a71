"""What a run draws: sample grids from fixed noise, and for the 2-D mixtures the samples over
the discriminator's energy landscape; and the plotting functions every picture of the project
goes through (image grids, loss curves, labelled rows). Matplotlib uses the file-only Agg
backend."""

from __future__ import annotations

import os
from typing import Any, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
import matplotlib
import ml_collections
import numpy as np
from PIL import Image

from ebgan_jax import models
from ebgan_jax.evaluators.mixture import mixture_mode_stats
from ebgan_jax.state import MIXTURE_SAMPLES, jit_over_members, sample_noise

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

Array = jax.Array

# The grid on which the 2-D energy landscape is drawn.
_ENERGY_GRID = 120

def make_sampler(generator: nn.Module, algorithm: Any, members: int | None = None,
                 discriminator: nn.Module | None = None, layout: str = "vmap"):
  """``(state, z) -> samples`` in data space (jitted), from the networks of ``state`` in
  inference mode (:meth:`Algorithm.draw`: the generator's output, or chains on the energy of a
  model without one); over a leading member axis of the state when ``members`` is given (the
  noise is shared), the members laid out as ``layout`` says (:func:`state.jit_over_members`)."""
  def sample(g_params, g_batch_stats, d_params, d_batch_stats, z):
    return algorithm.draw(generator, discriminator,
                          {"params": g_params, "batch_stats": g_batch_stats},
                          {"params": d_params, "batch_stats": d_batch_stats}, z)
  jitted = jit_over_members(sample, members, (0, 0, 0, 0, None), layout)
  return lambda state, z: jitted(state.g.params, state.g.batch_stats, state.d.params,
                                 state.d.batch_stats, z)


def make_energy_fn(discriminator: nn.Module, algorithm: Any, members: int | None = None,
                   pack: int = 1, layout: str = "vmap"):
  """Jitted ``(d_params, d_batch_stats, x) -> [B]``, the discriminator's energy as the 2-D
  plots show it. A packed discriminator is shown the energy of ``pack`` copies of each point."""
  def energy(d_params, d_batch_stats, x):
    x = models.pack_examples(jnp.repeat(x, pack, axis=0), pack)
    out = discriminator.apply({"params": d_params, "batch_stats": d_batch_stats}, x, train=False)
    return algorithm.energy(x, out)
  return jit_over_members(energy, members, (0, 0, None), layout)


def write_samples(path: str, config: ml_collections.ConfigDict, tag: str, sampler, energy_fn,
                  state, dataset, labels: Sequence[str] | None = None, write: bool = True
                  ) -> None:
  """Writes the sample picture of a stacked ``state`` to ``path``: an image grid (one labelled
  row per member for a sweep, ``labels`` given) or, for a 2-D mixture, each member's samples
  over its energy landscape, titled with the modes covered and the % of high-quality samples.

  Every process computes (the programs are SPMD); only the one with ``write`` writes."""
  mixture = getattr(dataset, "mixture", None)  # a 2-D mixture's points
  z = sample_noise(config, MIXTURE_SAMPLES if mixture else config.num_samples)
  members = list(np.asarray(sampler(state, z)))
  if mixture is None:
    if not write:
      return
    if members[0].ndim == 2:  # vectors without a mixture to draw them over: a scatter plot
      save_scatter(path, np.concatenate(members), f"{config.name} {tag}")
    elif labels is None:
      save_image_grid(path, members[0])
    else:
      save_labelled_rows(path, [m[:16] for m in members], labels)
    return
  lim = float(np.abs(mixture.modes).max()) * 1.5 + 0.5
  axis = np.linspace(-lim, lim, _ENERGY_GRID, dtype=np.float32)
  grid = np.stack(np.meshgrid(axis, axis), -1).reshape(-1, 2)
  energies = np.asarray(energy_fn(state.d.params, state.d.batch_stats, grid))
  if not write:
    return
  names = labels or [config.name]
  titles = []
  for name, m in zip(names, members):
    st = mixture_mode_stats(m, mixture.modes, mixture.std)
    titles.append(f"{name} {tag}: {st['modes_covered']}/{len(mixture.modes)} modes, "
                  f"{100 * st['high_quality']:.0f}% HQ")
  save_mixture_plots(path, members, mixture.modes,
                             [e.reshape(_ENERGY_GRID, _ENERGY_GRID) for e in energies],
                             (-lim, lim, -lim, lim), titles)


# ----------------------------------------------------------------------------------------------
# Plots
# ----------------------------------------------------------------------------------------------

def image_grid(images: np.ndarray, columns: int | None = None, pad: int = 1) -> np.ndarray:
  """Tiles ``[N, H, W, C]`` images in [-1, 1] into one uint8 ``[H', W', C]`` picture."""
  images = np.asarray(images, np.float32)
  n, h, w, c = images.shape
  columns = columns or int(np.ceil(np.sqrt(n)))
  rows = int(np.ceil(n / columns))
  grid = np.ones((rows * (h + pad) + pad, columns * (w + pad) + pad, c), np.float32)
  for i, img in enumerate(images):
    r, col = divmod(i, columns)
    top, left = pad + r * (h + pad), pad + col * (w + pad)
    grid[top:top + h, left:left + w] = (np.clip(img, -1, 1) + 1) / 2
  return (grid * 255).round().astype(np.uint8)


def save_image_grid(path: str, images: np.ndarray, columns: int | None = None,
                    scale: int | None = None) -> None:
  grid = image_grid(images, columns)
  # Small images (8x8 digits) are enlarged so a person can see them; nearest keeps the pixels.
  scale = scale or max(1, 256 // max(1, images.shape[1] * int(np.ceil(np.sqrt(len(images))))))
  picture = Image.fromarray(grid[..., 0] if grid.shape[-1] == 1 else grid)
  if scale > 1:
    picture = picture.resize((picture.width * scale, picture.height * scale), Image.NEAREST)
  picture.save(path)


def save_loss_curves(path: str, rows: list[dict], title: str = "") -> None:
  """One panel per metric; one curve per sweep member when rows carry a ``member``."""
  keys = [k for k in ("loss_d", "loss_g", "energy_real", "energy_fake", "pt", "elbo", "kl", "k",
                      "m_global", "margin", "log_p_tilde", "ess") if any(k in r for r in rows)]
  width, height = 3.2 * len(keys), 2.8
  # Fixed margins (inches) rather than tight_layout, which draws the figure once more to
  # measure it: the picture is written at the end of every run, small test runs included.
  top = 0.65 if title else 0.35
  fig, axes = plt.subplots(1, len(keys), figsize=(width, height), squeeze=False,
                           gridspec_kw={"left": 0.55 / width, "right": 1 - 0.15 / width,
                                        "bottom": 0.5 / height, "top": 1 - top / height,
                                        "wspace": 0.35})
  members = list(dict.fromkeys(r.get("member") for r in rows))
  for ax, k in zip(axes[0], keys):
    for member in members:
      mine = [r for r in rows if r.get("member") == member and k in r]
      ax.plot([r["step"] for r in mine], [r[k] for r in mine], label=member)
    ax.set_title(k)
    ax.set_xlabel("step")
  if members != [None]:
    axes[0][-1].legend(fontsize=6, loc="best")
  if title:
    fig.suptitle(title)
  fig.savefig(path, dpi=100)
  plt.close(fig)


def save_mixture_plots(path: str, samples: list[np.ndarray], modes: np.ndarray,
                       energy_grids: list[np.ndarray], extent: tuple[float, float, float, float],
                       titles: list[str]) -> None:
  """Samples over the mixture's modes, on the discriminator's energy as a heat map; one panel
  per sweep member."""
  n = len(samples)
  cols = min(n, 4)
  rows = int(np.ceil(n / cols))
  fig, axes = plt.subplots(rows, cols, figsize=(5 * cols, 5 * rows), squeeze=False)
  for ax in axes.ravel()[n:]:
    ax.axis("off")
  for ax, pts, energy, title in zip(axes.ravel(), samples, energy_grids, titles):
    im = ax.imshow(np.log1p(np.maximum(energy, 0)), origin="lower", extent=extent,
                   cmap="viridis", aspect="equal")
    fig.colorbar(im, ax=ax, fraction=0.046, label="log(1 + energy)")
    ax.scatter(pts[:, 0], pts[:, 1], s=2, c="white", alpha=0.6, label="samples")
    ax.scatter(modes[:, 0], modes[:, 1], s=40, c="red", marker="x", label="modes")
    ax.set_xlim(extent[0], extent[1])
    ax.set_ylim(extent[2], extent[3])
    ax.legend(loc="upper right", fontsize=7)
    ax.set_title(title, fontsize=9)
  fig.tight_layout()
  fig.savefig(path, dpi=100)
  plt.close(fig)


def save_labelled_rows(path: str, rows: list[np.ndarray], labels: list[str]) -> None:
  """One row of images per sweep member, its label on the left (the paper's Figure 9)."""
  n, per_row = len(rows), len(rows[0])
  fig, axes = plt.subplots(n, 1, figsize=(per_row * 0.6 + 1.5, n * 0.75 + 0.3), squeeze=False)
  for ax, images, label in zip(axes[:, 0], rows, labels):
    strip = image_grid(images, columns=per_row)
    ax.imshow(strip[..., 0] if strip.shape[-1] == 1 else strip, cmap="gray", vmin=0, vmax=255)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_ylabel(label, rotation=0, ha="right", va="center", fontsize=8)
  fig.tight_layout()
  fig.savefig(path, dpi=100)
  plt.close(fig)


def save_scatter(path: str, points: np.ndarray, title: str = "") -> None:
  fig, ax = plt.subplots(figsize=(5, 5))
  ax.scatter(points[:, 0], points[:, 1], s=2)
  ax.set_aspect("equal")
  if title:
    ax.set_title(title)
  fig.tight_layout()
  fig.savefig(path, dpi=100)
  plt.close(fig)


def read_rgb(path: str, what: str = "--input"):
  """An RGB image file as ``[H, W, 3]`` uint8, or a one-line ``ValueError`` naming ``what``
  and saying why not (missing, not an image, grey-scale, an alpha channel)."""
  from PIL import UnidentifiedImageError
  if not os.path.isfile(path):
    raise ValueError(f"{what} {path} does not exist.")
  try:
    with Image.open(path) as image:
      mode = image.mode
      if mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
        mode = image.mode
      pixels = np.asarray(image)
  except (UnidentifiedImageError, OSError) as error:
    raise ValueError(f"{what} {path} is not an image file PIL can read ({error}).") from None
  if mode in ("L", "LA", "I", "I;16", "F", "1"):
    raise ValueError(f"{what} {path} is grey-scale ({mode}); super-resolution takes RGB "
                     "images: convert it to RGB first.")
  if pixels.ndim != 3 or pixels.shape[-1] != 3:
    raise ValueError(f"{what} {path} has {pixels.shape[-1] if pixels.ndim == 3 else 1} "
                     "channels (mode " + mode + "); super-resolution takes 3 (RGB): drop the "
                     "alpha channel first.")
  return np.ascontiguousarray(pixels.astype(np.uint8))
