"""Pure loss functions of the EBGAN family.

Every function here is a typed, pure function of arrays: jit-, vmap- and grad-safe. Quantities
that are defined per example return a ``[B]`` vector; the caller takes the mean. Shapes are
checked when the function is traced, and a mismatch raises ``ValueError`` naming both shapes.

The formulas follow ``SPEC.md`` (the EBGAN paper, Zhao, Mathieu & LeCun, ICLR 2017).
"""

from __future__ import annotations

from typing import Literal

import jax
import jax.numpy as jnp
from jax import lax

Array = jax.Array
ArrayLike = jax.typing.ArrayLike
Norm = Literal["mse", "l2", "l1"]


def _check_same_shape(name_a: str, a: Array, name_b: str, b: Array) -> None:
  if a.shape != b.shape:
    raise ValueError(
        f"{name_a} and {name_b} must have the same shape, got {a.shape} and {b.shape}.")


def _check_vector(name: str, a: Array) -> None:
  if a.ndim != 1:
    raise ValueError(f"{name} must be a per-example vector of shape [B], got shape {a.shape}.")


def reconstruction_energy(x: ArrayLike, x_rec: ArrayLike, *, norm: Norm = "mse") -> Array:
  """Per-example reconstruction error of an auto-encoder: the EBGAN energy ``D(x)``.

  ``D(x) = || Dec(Enc(x)) - x ||`` (EBGAN §2.3), reduced over every non-batch axis:

  - ``"mse"``: ``mean((x_rec - x)^2)``, what most implementations train with;
  - ``"l2"``: ``sqrt(sum((x_rec - x)^2))``, the paper's formula;
  - ``"l1"``: ``mean(|x_rec - x|)``, BEGAN's choice.

  Args:
    x: examples, ``[B, ...]``.
    x_rec: their reconstructions, same shape.
    norm: which distance.

  Returns:
    ``[B]`` energies.
  """
  x, x_rec = jnp.asarray(x), jnp.asarray(x_rec)
  _check_same_shape("x", x, "x_rec", x_rec)
  if x.ndim < 1:
    raise ValueError(f"x must have a batch axis, got a scalar of shape {x.shape}.")
  diff = (x_rec - x).reshape(x.shape[0], -1)
  if norm == "mse":
    return jnp.mean(jnp.square(diff), axis=-1)
  if norm == "l1":
    return jnp.mean(jnp.abs(diff), axis=-1)
  if norm == "l2":
    sq = jnp.sum(jnp.square(diff), axis=-1)
    # sqrt has an infinite derivative at 0; a perfect reconstruction gets a zero gradient instead.
    safe = jnp.where(sq > 0, sq, 1.0)
    return jnp.where(sq > 0, jnp.sqrt(safe), 0.0)
  raise ValueError(f"norm must be one of 'mse', 'l2', 'l1', got {norm!r}.")


def ebgan_discriminator_loss(
    energy_real: ArrayLike, energy_fake: ArrayLike, *, margin: ArrayLike) -> Array:
  """EBGAN discriminator loss ``L_D = D(x) + [m - D(G(z))]^+`` (EBGAN eq. 1), per example.

  The fake energies should come from ``G(z)`` held constant (no gradient into the generator).
  ``margin`` may be a traced scalar, so a sweep over margins shares one compiled program.

  Args:
    energy_real: ``[B]`` energies of real examples.
    energy_fake: ``[B]`` energies of generated examples.
    margin: the margin ``m >= 0``.

  Returns:
    ``[B]`` losses.
  """
  energy_real, energy_fake = jnp.asarray(energy_real), jnp.asarray(energy_fake)
  _check_vector("energy_real", energy_real)
  _check_same_shape("energy_real", energy_real, "energy_fake", energy_fake)
  return energy_real + jax.nn.relu(margin - energy_fake)


def ebgan_generator_loss(energy_fake: ArrayLike) -> Array:
  """EBGAN generator loss ``L_G = D(G(z))`` (EBGAN eq. 2), per example.

  The pulling-away term, when used, is added by the caller: it is a batch quantity.
  """
  energy_fake = jnp.asarray(energy_fake)
  _check_vector("energy_fake", energy_fake)
  return energy_fake


def pulling_away_term(codes: ArrayLike, *, axis_name: str | None = None) -> Array:
  """The pulling-away term ``f_PT`` on encoder codes (EBGAN §2.4), a scalar.

  ``f_PT(S) = 1 / (N (N - 1)) * sum_{i != j} (S_i . S_j / (||S_i|| ||S_j||))^2``

  with each code flattened to a row of ``S``. It is 1 for identical rows, 0 for mutually
  orthogonal rows, lies in ``[0, 1]``, and ignores the scale of each row.

  Args:
    codes: ``[N, ...]`` codes ``Enc(G(z))``; everything after the batch axis is flattened.
    axis_name: inside ``shard_map`` or ``pmap``, the name of the data axis. The term is then
      computed over the global batch (all rows of all devices), not per device.

  Returns:
    The scalar term (identical on every device when ``axis_name`` is given).
  """
  codes = jnp.asarray(codes)
  if codes.ndim < 2:
    raise ValueError(f"codes must have shape [N, ...] with a code per example, got {codes.shape}.")
  s = codes.reshape(codes.shape[0], -1)
  sq_norm = jnp.sum(jnp.square(s), axis=-1, keepdims=True)
  # rsqrt of a zero code would be inf; a zero code has no direction and contributes zero.
  unit = s * jnp.where(sq_norm > 0, lax.rsqrt(jnp.where(sq_norm > 0, sq_norm, 1.0)), 0.0)
  if axis_name is None:
    all_units = unit
  else:
    all_units = lax.all_gather(unit, axis_name, axis=0, tiled=True)
  n = all_units.shape[0]
  if n < 2:
    raise ValueError(f"the pulling-away term needs at least 2 codes, got {n}.")
  # Rows of this device against all rows; the diagonal (i = j) is removed exactly: it is
  # |u_i|^4, which is 1 for a non-zero code and 0 for a zero code.
  cos = unit @ all_units.T
  off_diagonal = jnp.sum(jnp.square(cos)) - jnp.sum(jnp.square(jnp.sum(unit * unit, axis=-1)))
  if axis_name is not None:
    off_diagonal = lax.psum(off_diagonal, axis_name)
  return off_diagonal / (n * (n - 1))
