"""What a run leaves in its workdir: metrics (JSON lines, TensorBoard), PNG grids and plots.

Only the writing lives here; the runner decides when. Matplotlib uses the file-only Agg backend.
"""

from __future__ import annotations

import json
import os
import warnings
from typing import Mapping

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402


class MetricWriter:
  """Appends ``{"step": s, ...}`` lines to ``metrics.jsonl`` and scalars to TensorBoard."""

  def __init__(self, workdir: str):
    self.path = os.path.join(workdir, "metrics.jsonl")
    try:
      from tensorboardX import SummaryWriter
      self._tb = SummaryWriter(os.path.join(workdir, "tensorboard"))
    except ImportError:  # TensorBoard events are optional; the JSON lines are the record
      self._tb = None

  def write(self, step: int, metrics: Mapping[str, float], member: str | None = None) -> None:
    """One row; in a sweep each member's rows carry its label (``"member"``)."""
    row = {"step": int(step), **({"member": member} if member is not None else {}),
           **{k: float(v) for k, v in metrics.items()}}
    with open(self.path, "a") as f:
      f.write(json.dumps(row) + "\n")
    if self._tb is not None:
      prefix = f"{member}/" if member is not None else ""
      for k, v in metrics.items():
        # A metric can be infinite by definition (the reverse KL of a sample that covers no
        # mode); the JSON line keeps it, TensorBoard's writer would warn at every step.
        if np.isfinite(float(v)):
          self._tb.add_scalar(prefix + k, float(v), int(step))

  def close(self) -> None:
    if self._tb is not None:
      self._tb.close()


def _read_rows(path: str) -> tuple[list[dict], bool]:
  """The rows of a metrics file, and whether a cut-off last line was dropped.

  A run killed in the middle of a write leaves a last line without its end; that line is
  dropped with a warning. A damaged line anywhere else is an error naming the file and line.
  """
  if not os.path.exists(path):
    return [], False
  with open(path, "rb") as f:
    lines = f.read().decode("utf-8", errors="replace").split("\n")
  rows, dropped = [], False
  for number, line in enumerate(lines, 1):
    if not line.strip():
      continue
    try:
      rows.append(json.loads(line))
    except json.JSONDecodeError:
      if number == len(lines):  # the last line, with no newline after it: cut off mid-write
        warnings.warn(f"{path}: dropped a cut-off last line (the run stopped while writing "
                      "it).", stacklevel=3)
        dropped = True
        continue
      raise ValueError(f"{path} line {number} is not valid JSON; delete that line (or move the "
                       "file aside to start the log afresh) and rerun.") from None
  return rows, dropped


def read_metrics(workdir: str) -> list[dict]:
  return _read_rows(os.path.join(workdir, "metrics.jsonl"))[0]


def truncate_metrics(workdir: str, after_step: int) -> None:
  """Drops logged rows past ``after_step`` (a resumed run logs those steps again) and a
  cut-off last line."""
  path = os.path.join(workdir, "metrics.jsonl")
  rows, dropped = _read_rows(path)
  keep = [r for r in rows if r["step"] <= after_step]
  if len(keep) != len(rows) or dropped:
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
      f.writelines(json.dumps(r) + "\n" for r in keep)
    os.replace(tmp, path)


def last_training_rows(workdir: str, members: list[str] | None, upto: int) -> list[dict]:
  """Per member (one row for a single run), the last logged training metrics at or before
  step ``upto``, without ``step`` and ``member``; ``{}`` where none were logged."""
  rows = [r for r in read_metrics(workdir) if r["step"] <= upto and "images_per_sec" in r]
  out = []
  for member in (members or [None]):
    mine = [r for r in rows if r.get("member") == member]
    out.append({k: v for k, v in mine[-1].items() if k not in ("step", "member")} if mine else {})
  return out


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
  fig, axes = plt.subplots(1, len(keys), figsize=(3.2 * len(keys), 2.8), squeeze=False)
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
  fig.tight_layout()
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
