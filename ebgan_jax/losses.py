"""Pure loss functions of the EBGAN family.

Every function here is a typed, pure function of arrays: jit-, vmap- and grad-safe. Quantities
that are defined per example return a ``[B]`` vector; the caller takes the mean. Shapes are
checked when the function is traced, and a mismatch raises ``ValueError`` naming both shapes.

The formulas follow the papers: EBGAN (Zhao, Mathieu & LeCun, ICLR 2017) and, section by
section below, the family's; ``docs/losses.md`` shows each with an example.
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
  # A float divisor: N (N - 1) passes int32's range from N = 46,342 on.
  return off_diagonal / float(n * (n - 1))


# ----------------------------------------------------------------------------------------------
# GAN (Goodfellow et al. 2014)
# ----------------------------------------------------------------------------------------------

def gan_discriminator_loss(logits_real: ArrayLike, logits_fake: ArrayLike) -> Array:
  """``-log D(x) - log(1 - D(G(z)))`` per example, with ``D = sigmoid(logits)``.

  Minimising it maximises the GAN value function ``V(D, G)`` over ``D``.
  """
  logits_real, logits_fake = jnp.asarray(logits_real), jnp.asarray(logits_fake)
  _check_vector("logits_real", logits_real)
  _check_same_shape("logits_real", logits_real, "logits_fake", logits_fake)
  # log(1 - sigmoid(l)) = log_sigmoid(-l), the latter numerically stable
  return -jax.nn.log_sigmoid(logits_real) - jax.nn.log_sigmoid(-logits_fake)


def gan_generator_loss(logits_fake: ArrayLike, *, non_saturating: bool = True) -> Array:
  """The generator's loss per example: ``-log D(G(z))`` (non-saturating, the paper's practical
  choice) or ``log(1 - D(G(z)))`` (the minimax game as written)."""
  logits_fake = jnp.asarray(logits_fake)
  _check_vector("logits_fake", logits_fake)
  if non_saturating:
    return -jax.nn.log_sigmoid(logits_fake)
  return jax.nn.log_sigmoid(-logits_fake)


# ----------------------------------------------------------------------------------------------
# BEGAN (Berthelot, Schumm & Metz 2017)
# ----------------------------------------------------------------------------------------------

def began_discriminator_loss(energy_real: ArrayLike, energy_fake: ArrayLike, *,
                             k: ArrayLike) -> Array:
  """``L(x) - k_t L(G(z_D))`` per example (``L`` the l1 auto-encoder energy)."""
  energy_real, energy_fake = jnp.asarray(energy_real), jnp.asarray(energy_fake)
  _check_vector("energy_real", energy_real)
  _check_same_shape("energy_real", energy_real, "energy_fake", energy_fake)
  return energy_real - k * energy_fake


def began_k_update(k: ArrayLike, energy_real: ArrayLike, energy_fake: ArrayLike, *,
                   gamma: ArrayLike, lambda_k: ArrayLike) -> Array:
  """``k_{t+1} = clip(k_t + lambda_k (gamma L(x) - L(G(z_G))), 0, 1)`` with batch means."""
  balance = gamma * jnp.mean(energy_real) - jnp.mean(energy_fake)
  return jnp.clip(k + lambda_k * balance, 0.0, 1.0)


def began_convergence(energy_real: ArrayLike, energy_fake: ArrayLike, *,
                      gamma: ArrayLike) -> Array:
  """The convergence measure ``M_global = L(x) + |gamma L(x) - L(G(z_G))|`` (batch means)."""
  real = jnp.mean(energy_real)
  return real + jnp.abs(gamma * real - jnp.mean(energy_fake))


# ----------------------------------------------------------------------------------------------
# MAGAN (Wang et al. 2017)
# ----------------------------------------------------------------------------------------------

def magan_margin_update(margin: ArrayLike, s_real: ArrayLike, s_fake: ArrayLike,
                        s_fake_prev: ArrayLike, n: ArrayLike) -> tuple[Array, Array]:
  """The epoch-end margin rule of MAGAN (Wang et al. 2017, Algorithm 1): with ``S_D = s_real``
  and ``S_G = s_fake`` the sums of real and fake energies over the epoch's ``n`` examples, the
  margin becomes ``S_D / n`` when ``S_D / n < m``, ``S_D < S_G`` and ``S_G_prev < S_G`` (the
  fakes' energy rose since the last epoch); it never increases.

  The comparison with ``S_G_prev`` is strict, as in the authors' released code; a looser
  ``S_G_prev <= S_G`` has been written down elsewhere, and differs only when two epochs'
  sums are exactly equal. (In the released code the first comparison after the initial epoch
  also passes whatever the sums, a Python 2 list-against-float comparison; here it is the rule.)

  Returns:
    ``(new margin, new S_G_prev = S_G)``.
  """
  mean_real = s_real / n
  shrink = (mean_real < margin) & (s_real < s_fake) & (s_fake_prev < s_fake)
  return jnp.where(shrink, mean_real, margin), jnp.asarray(s_fake, jnp.float32)


# ----------------------------------------------------------------------------------------------
# Loss-Sensitive GAN (Qi 2017)
# ----------------------------------------------------------------------------------------------

def loss_sensitive_discriminator_loss(loss_real: ArrayLike, loss_fake: ArrayLike,
                                      distance: ArrayLike, *, lam: ArrayLike) -> Array:
  """``L(x) + lambda [Delta(x, G(z)) + L(x) - L(G(z))]^+`` per example: fakes must cost at
  least ``Delta`` more than the real example they are paired with."""
  loss_real, loss_fake, distance = (jnp.asarray(a) for a in (loss_real, loss_fake, distance))
  _check_vector("loss_real", loss_real)
  _check_same_shape("loss_real", loss_real, "loss_fake", loss_fake)
  _check_same_shape("loss_real", loss_real, "distance", distance)
  return loss_real + lam * jax.nn.relu(distance + loss_real - loss_fake)


# ----------------------------------------------------------------------------------------------
# VAE / AEVB (Kingma & Welling 2014) and importance weighting (Burda et al. 2016)
# ----------------------------------------------------------------------------------------------

_LOG_2PI = 1.8378770664093453


def gaussian_kl(mean: ArrayLike, log_var: ArrayLike) -> Array:
  """``KL(N(mean, exp(log_var)) || N(0, I))`` per example, summed over the latent axis:
  ``-1/2 sum_j (1 + log sigma_j^2 - mu_j^2 - sigma_j^2)`` (AEVB appendix B)."""
  mean, log_var = jnp.asarray(mean), jnp.asarray(log_var)
  _check_same_shape("mean", mean, "log_var", log_var)
  return -0.5 * jnp.sum(1.0 + log_var - jnp.square(mean) - jnp.exp(log_var), axis=-1)


def gaussian_log_density(z: ArrayLike, mean: ArrayLike, log_var: ArrayLike) -> Array:
  """``log N(z; mean, exp(log_var))`` summed over the last axis; ``mean`` and ``log_var``
  broadcast against leading sample axes of ``z``."""
  z = jnp.asarray(z)
  mean, log_var = jnp.broadcast_to(mean, z.shape), jnp.broadcast_to(log_var, z.shape)
  return -0.5 * jnp.sum(_LOG_2PI + log_var + jnp.square(z - mean) * jnp.exp(-log_var), axis=-1)


def bernoulli_log_likelihood(x: ArrayLike, logits: ArrayLike) -> Array:
  """``log p(x | logits)`` for binary ``x`` in {0, 1}, summed over every non-batch axis."""
  x, logits = jnp.asarray(x), jnp.asarray(logits)
  _check_same_shape("x", x, "logits", logits)
  # x log sigmoid(l) + (1 - x) log sigmoid(-l), written stably
  ll = x * jax.nn.log_sigmoid(logits) + (1.0 - x) * jax.nn.log_sigmoid(-logits)
  return jnp.sum(ll.reshape(ll.shape[0], -1), axis=-1)


def elbo(log_px_z: ArrayLike, mean: ArrayLike, log_var: ArrayLike, z: ArrayLike | None = None,
         *, estimator: Literal["A", "B"] = "B") -> Array:
  """The SGVB estimators of the evidence lower bound, per example (AEVB §2.3).

  Args:
    log_px_z: ``[L, B]`` ``log p(x | z_l)`` for ``L`` samples ``z_l ~ q(z | x)``.
    mean, log_var: ``[B, D]`` parameters of ``q(z | x)``.
    z: ``[L, B, D]`` the samples; needed by estimator A.
    estimator: ``"B"``: ``-KL(q || p) + 1/L sum_l log p(x | z_l)`` with the analytic KL;
      ``"A"``: ``1/L sum_l [log p(x, z_l) - log q(z_l | x)]``.

  Returns:
    ``[B]`` bounds (to be maximised).
  """
  log_px_z = jnp.asarray(log_px_z)
  if log_px_z.ndim != 2:
    raise ValueError(f"log_px_z must have shape [L, B], got {log_px_z.shape}.")
  if estimator == "B":
    return -gaussian_kl(mean, log_var) + jnp.mean(log_px_z, axis=0)
  if estimator == "A":
    if z is None:
      raise ValueError("estimator A needs the samples z, shape [L, B, D].")
    log_pz = gaussian_log_density(z, jnp.zeros_like(z), jnp.zeros_like(z))
    log_qz = gaussian_log_density(z, mean, log_var)
    return jnp.mean(log_px_z + log_pz - log_qz, axis=0)
  raise ValueError(f"estimator must be 'A' or 'B', got {estimator!r}.")


def importance_weighted_log_likelihood(log_p_xz: ArrayLike, log_q_zx: ArrayLike) -> Array:
  """``log p(x) ~= log (1/K) sum_k p(x, z_k) / q(z_k | x)`` per example (Burda et al. 2016).

  Args:
    log_p_xz: ``[K, B]`` ``log p(x, z_k)`` for ``z_k ~ q(z | x)``.
    log_q_zx: ``[K, B]`` ``log q(z_k | x)``.

  Returns:
    ``[B]`` estimates; a lower bound in expectation that tightens as ``K`` grows.
  """
  log_p_xz, log_q_zx = jnp.asarray(log_p_xz), jnp.asarray(log_q_zx)
  _check_same_shape("log_p_xz", log_p_xz, "log_q_zx", log_q_zx)
  if log_p_xz.ndim != 2:
    raise ValueError(f"log weights must have shape [K, B], got {log_p_xz.shape}.")
  log_w = log_p_xz - log_q_zx
  # log-mean-exp, shifted by the max for stability
  return jax.nn.logsumexp(log_w, axis=0) - jnp.log(log_w.shape[0])


# ----------------------------------------------------------------------------------------------
# Bidirectional Helmholtz Machine (Bornschein, Shabanian, Fischer & Bengio 2016)
# ----------------------------------------------------------------------------------------------
# p*(x, h) = sqrt(p(x, h) q(h | x)) / Z, so p*(x) = p~*(x) / Z^2 with
# p~*(x) = (sum_h sqrt(p(x, h) q(h | x)))^2 = (E_{h ~ q(h|x)} sqrt(p(x, h) / q(h | x)))^2.
# Every function takes [K, B] log p(x, h_k) and log q(h_k | x) for K samples h_k ~ q(h | x).

def _log_weights(log_p_xh: ArrayLike, log_q_hx: ArrayLike) -> Array:
  log_p_xh, log_q_hx = jnp.asarray(log_p_xh), jnp.asarray(log_q_hx)
  _check_same_shape("log_p_xh", log_p_xh, "log_q_hx", log_q_hx)
  if log_p_xh.ndim != 2:
    raise ValueError(f"log probabilities must have shape [K, B], got {log_p_xh.shape}.")
  return log_p_xh - log_q_hx


def bihm_log_p_tilde(log_p_xh: ArrayLike, log_q_hx: ArrayLike) -> Array:
  """``log p~*(x) ~= 2 log (1/K sum_k sqrt(p(x, h_k) / q(h_k | x)))`` per example (§2.1).

  The mean inside is unbiased for ``sqrt(p~*(x))``, so the estimate is below ``log p~*(x)`` in
  expectation (Jensen) and tightens as K grows; ``log p~*(x)`` is itself a lower bound of
  ``log p*(x)`` (by ``2 D_B(p, q) = -2 log Z >= 0``). Returns ``[B]``."""
  half = 0.5 * _log_weights(log_p_xh, log_q_hx)
  return 2.0 * (jax.nn.logsumexp(half, axis=0) - jnp.log(half.shape[0]))


def bihm_loss(log_p_xh: ArrayLike, log_q_hx: ArrayLike) -> Array:
  """The training surrogate of a BiHM, per example: ``-sum_k w~_k log [p(x, h_k) q(h_k | x)]``
  with the self-normalised weights ``w~_k`` of ``sqrt(p(x, h_k) / q(h_k | x))`` held constant;
  its gradient is the paper's estimate of ``-d log p~*(x)`` for ``p`` and ``q`` together (§2.2,
  Algorithm 1). Returns ``[B]``."""
  log_p_xh, log_q_hx = jnp.asarray(log_p_xh), jnp.asarray(log_q_hx)
  weights = jax.lax.stop_gradient(jax.nn.softmax(0.5 * _log_weights(log_p_xh, log_q_hx), axis=0))
  return -jnp.sum(weights * (log_p_xh + log_q_hx), axis=0)


def bihm_partition_terms(log_p_xh: ArrayLike, log_q_hx: ArrayLike) -> Array:
  """``log (p~*(x) / p(x))`` per example for ``x`` drawn from the top-down model ``p``, both
  estimated from the same K samples ``h_k ~ q(h | x)``: since ``Z^2 = sum_x p~*(x) =
  E_{x ~ p}[p~*(x) / p(x)]``, ``2 log Z ~= logmeanexp`` of these over many ``x``. Each term is
  at most 0 (Cauchy-Schwarz on the K weights), as ``Z <= 1`` is. Returns ``[B]``."""
  log_w = _log_weights(log_p_xh, log_q_hx)
  return (2.0 * jax.nn.logsumexp(0.5 * log_w, axis=0) - jax.nn.logsumexp(log_w, axis=0)
          - jnp.log(log_w.shape[0]))
