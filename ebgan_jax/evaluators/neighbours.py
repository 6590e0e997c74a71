"""Precision and recall (Kynkäänniemi et al. 2019) and density and coverage (Naeem et al. 2020)
on feature vectors, in blocks that fit in memory."""

from __future__ import annotations

from typing import Any

import numpy as np


# ----------------------------------------------------------------------------------------------
# Precision, recall, density and coverage on feature vectors
# ----------------------------------------------------------------------------------------------

# Rows of queries per distance block: a block is [rows, N] float32, about 200 MB for N = 50,000.
_PRDC_ROWS = 1024


def _squared_distances(a, b):
  import jax
  import jax.numpy as jnp
  # ||a||^2 + ||b||^2 - 2 a.b at full float32 precision (accelerators default to bfloat16
  # passes for matmuls); clipped at 0 against round-off.
  cross = jnp.matmul(a, b.T, precision=jax.lax.Precision.HIGHEST)
  d2 = jnp.sum(a * a, axis=1)[:, None] + jnp.sum(b * b, axis=1)[None, :] - 2.0 * cross
  return jnp.maximum(d2, 0.0)


def _nearest_block(queries, reference, k: int):
  """``[rows, k + 1]``: each query's distances to its ``k + 1`` nearest reference rows in
  ascending order; a query that is in ``reference`` is its own 0-th neighbour, as both papers
  count it for the k-NN radius."""
  import jax
  import jax.numpy as jnp
  return jnp.sqrt(-jax.lax.top_k(-_squared_distances(queries, reference), k + 1)[0])


def _ball_block(queries, centres, radii):
  """For each query row: in how many balls ``B(centres_i, radii[r, i])`` it lies, for each
  row ``r`` of ``radii`` (``[rows, R]``), and its distance to the nearest centre."""
  import jax.numpy as jnp
  d = jnp.sqrt(_squared_distances(queries, centres))
  inside = d[:, None, :] <= radii[None, :, :]
  return jnp.sum(inside, axis=2), jnp.min(d, axis=1)


_BLOCK_FNS: dict[str, Any] = {}


def _blocked(name: str, queries: np.ndarray, *args, rows: int = _PRDC_ROWS, **static):
  """``fn(query_block, *args)`` over blocks of ``rows`` query rows, concatenated, so that no
  ``[N, M]`` matrix is ever whole. The last block is padded to full size so that every block
  runs the same compiled program."""
  import jax
  if name not in _BLOCK_FNS:
    fn = {"nearest": _nearest_block, "ball": _ball_block}[name]
    _BLOCK_FNS[name] = jax.jit(fn, static_argnames=tuple(static))
  jitted = _BLOCK_FNS[name]
  n = len(queries)
  rows = min(rows, n)
  outs = []
  for start in range(0, n, rows):
    block = queries[start:start + rows]
    if len(block) < rows:
      block = np.concatenate([block, np.zeros((rows - len(block), block.shape[1]), block.dtype)])
    out = jax.device_get(jitted(block, *args, **static))
    outs.append(jax.tree.map(lambda x: x[:min(rows, n - start)], out))
  return jax.tree.map(lambda *xs: np.concatenate(xs), *outs)


def _prdc(real_features, fake_features, pr_k: int | None, dc_k: int | None) -> dict[str, float]:
  """Whichever of precision/recall (``pr_k``) and density/coverage (``dc_k``) is asked for,
  sharing the distance passes: one k-NN pass per set and one cross pass each way."""
  real = np.asarray(real_features, np.float64)
  fake = np.asarray(fake_features, np.float64)
  if real.ndim != 2 or fake.ndim != 2 or real.shape[1] != fake.shape[1]:
    raise ValueError(f"real and fake features must be [N, d] and [M, d] with the same d, got "
                     f"{real.shape} and {fake.shape}.")
  for k in (pr_k, dc_k):
    if k is not None and not 1 <= k < min(len(real), len(fake)):
      raise ValueError(f"k={k} needs 1 <= k < the size of each set ({len(real)} real, "
                       f"{len(fake)} fake); generate more samples or lower k.")
  # Centred on the real mean before going to float32: the expansion of the squared distances
  # then loses less to cancellation.
  centre = real.mean(axis=0)
  real, fake = (real - centre).astype(np.float32), (fake - centre).astype(np.float32)
  ks = [k for k in (pr_k, dc_k) if k is not None]
  real_nn = _blocked("nearest", real, real, k=max(ks))
  real_radii = np.stack([real_nn[:, k] for k in ks], axis=1)  # [N, len(ks)]
  fakes_in_real, _ = _blocked("ball", fake, real, real_radii.T)  # [M, len(ks)]
  out = {}
  if pr_k is not None:
    fake_radii = _blocked("nearest", fake, fake, k=pr_k)[:, pr_k]
    reals_in_fake, nearest_fake = _blocked("ball", real, fake, fake_radii[None])
    out.update(precision=float(np.mean(fakes_in_real[:, 0] > 0)),
               recall=float(np.mean(reals_in_fake[:, 0] > 0)), precision_recall_k=int(pr_k))
  else:
    _, nearest_fake = _blocked("ball", real, fake, np.zeros((0, len(fake)), np.float32))
  if dc_k is not None:
    col = len(ks) - 1
    out.update(density=float(fakes_in_real[:, col].sum() / (dc_k * len(fake))),
               coverage=float(np.mean(nearest_fake <= real_radii[:, col])),
               density_coverage_k=int(dc_k))
  out.update(prdc_real_samples=len(real), prdc_fake_samples=len(fake))
  return out


def precision_recall(real_features, fake_features, k: int = 3) -> dict[str, float]:
  """Improved precision and recall (Kynkäänniemi et al. 2019, §2), on any features.

  Each set's manifold is the union of balls around its points, of radius the distance to the
  point's ``k``-th nearest neighbour in its own set. Precision is the fraction of fake points
  inside the real manifold (quality); recall the fraction of real points inside the fake
  manifold (diversity). Distances are computed in blocks of rows, so two sets of 50,000 never
  hold a 50,000 x 50,000 matrix. Both depend on ``k`` and on the set sizes, which are returned
  with them.

  Args:
    real_features: ``[N, d]``, N > k.
    fake_features: ``[M, d]``, M > k.
    k: the neighbour that sets each ball's radius (3 in the paper and StyleGAN2-ADA's pr50k3).

  Returns:
    ``precision`` and ``recall`` in [0, 1], ``precision_recall_k``, ``prdc_real_samples``,
    ``prdc_fake_samples``.
  """
  return _prdc(real_features, fake_features, k, None)


def density_coverage(real_features, fake_features, k: int = 5) -> dict[str, float]:
  """Density and coverage (Naeem et al. 2020, §3), on any features.

  With ``B_i`` the ball around real point ``i`` whose radius is its ``k``-th nearest-neighbour
  distance among the real points: density ``= 1 / (k M) sum_j #{i : fake_j in B_i}`` (about 1
  when the fakes are distributed like the reals, above 1 where they crowd dense regions) and
  coverage the fraction of real balls that hold at least one fake. Unlike precision and
  recall, both use only the real manifold, so a few outlying points cannot inflate them.

  Args:
    real_features: ``[N, d]``, N > k.
    fake_features: ``[M, d]``, M > k.
    k: the neighbour that sets each ball's radius (5 in the paper).

  Returns:
    ``density`` (>= 0) and ``coverage`` in [0, 1], ``density_coverage_k``,
    ``prdc_real_samples``, ``prdc_fake_samples``.
  """
  return _prdc(real_features, fake_features, None, k)


def prdc(real_features, fake_features, *, pr_k: int = 3, dc_k: int = 5) -> dict[str, float]:
  """:func:`precision_recall` and :func:`density_coverage` in one dict, sharing their
  distance computations."""
  return _prdc(real_features, fake_features, pr_k, dc_k)
