"""Monte Carlo building blocks: inverse-CDF sampling, rejection sampling, self-normalised
importance sampling (Bishop 2006, §11.1; MacKay 2003, ch. 29) and Langevin dynamics on an
energy (Welling & Teh 2011; Du & Mordatch 2019, §2.1). The likelihood estimators of the VAE
(Burda et al. 2016) and of the Bidirectional Helmholtz Machine (Bornschein et al. 2016) are
importance sampling with a learned proposal; the BiHM's Gibbs sampler resamples each layer by
importance weights. Langevin dynamics finds low-energy points of an energy function without a
generator: the "argmax" route to the negatives of an energy-based model.

All functions are pure and jittable except :func:`rejection_sample`, whose number of proposal
rounds depends on the draws (it loops on the host over a jitted round).
"""

from __future__ import annotations

from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np

Array = jax.Array


def inverse_cdf_sample(key: Array, inverse_cdf: Callable[[Array], Array],
                       shape: tuple[int, ...]) -> Array:
  """``F^-1(u)`` for ``u ~ U(0, 1)``: samples of the distribution whose CDF is ``F``."""
  return inverse_cdf(jax.random.uniform(key, shape))


def categorical_inverse_cdf(u: Array, probs: Array) -> Array:
  """The discrete inverse CDF: the smallest ``i`` with ``u < sum_{j <= i} probs_j``, for each
  ``u`` in [0, 1) (``probs`` over the last axis, normalised)."""
  cdf = jnp.cumsum(probs, axis=-1)
  cdf = cdf.reshape((1,) * (u.ndim + 1 - cdf.ndim) + cdf.shape)  # one distribution for all u
  return jnp.minimum(jnp.sum(u[..., None] >= cdf, axis=-1), probs.shape[-1] - 1)


def rejection_sample(key: Array, n: int, log_target: Callable[[Array], Array],
                     propose: Callable[[Array, int], Array],
                     log_proposal: Callable[[Array], Array], log_k: float,
                     batch: int = 1024, max_rounds: int = 10_000) -> tuple[np.ndarray, float]:
  """``n`` exact samples of the density ``exp(log_target)`` from a proposal ``q``.

  A proposal ``x ~ q`` is kept with probability ``p(x) / (k q(x))``; this needs
  ``p <= k q`` everywhere. With a normalised target the acceptance rate is ``1/k``.

  Args:
    key: the PRNG key.
    n: samples wanted.
    log_target: ``x [m, ...] -> [m]`` log density of the target (normalised or not).
    propose: ``(key, m) -> x [m, ...]``, ``m`` draws from ``q``.
    log_proposal: ``x -> [m]`` log density of ``q``.
    log_k: ``log k``, the envelope constant.
    batch: proposals per round.
    max_rounds: a bound on the rounds, reached only by an envelope far too loose.

  Returns:
    ``(samples [n, ...], acceptance rate)``.
  """
  @jax.jit
  def round_(key):
    k_x, k_u = jax.random.split(key)
    x = propose(k_x, batch)
    log_ratio = log_target(x) - log_proposal(x) - log_k
    accept = jnp.log(jax.random.uniform(k_u, (batch,))) < log_ratio
    return x, accept, jnp.max(log_ratio)

  kept, proposed, accepted = [], 0, 0
  for r in range(max_rounds):
    x, accept, worst = round_(jax.random.fold_in(key, r))
    if worst > 1e-6:
      raise ValueError(f"the envelope k q(x) is below the target at a proposal (log ratio "
                       f"{float(worst):.3g} > 0): raise log_k.")
    accept = np.asarray(accept)
    kept.append(np.asarray(x)[accept])
    proposed, accepted = proposed + batch, accepted + int(accept.sum())
    if accepted >= n:
      return np.concatenate(kept)[:n], accepted / proposed
  raise ValueError(f"rejection sampling kept {accepted} of {proposed} proposals in {max_rounds} "
                   f"rounds, fewer than n={n}: tighten the envelope (lower log_k) or the proposal.")


def importance_weights(log_target: Array, log_proposal: Array, axis: int = 0) -> Array:
  """Self-normalised weights ``w_l = r_l / sum_m r_m`` of ``r_l = p~(x_l) / q(x_l)`` along
  ``axis``; ``p~`` may be unnormalised."""
  return jax.nn.softmax(log_target - log_proposal, axis=axis)


def importance_estimate(values: Array, log_target: Array, log_proposal: Array) -> Array:
  """``E_p[f] ~= sum_l w_l f(x_l)`` from ``L`` samples ``x_l ~ q`` (axis 0 of every argument;
  ``values`` may have trailing axes)."""
  w = importance_weights(log_target, log_proposal)
  return jnp.tensordot(w, values, axes=(0, 0))


def effective_sample_size(log_target: Array, log_proposal: Array, axis: int = 0) -> Array:
  """``1 / sum_l w_l^2`` of the self-normalised weights (Kong 1992): how many independent draws
  from ``p`` the weighted sample is worth."""
  w = importance_weights(log_target, log_proposal, axis)
  return 1.0 / jnp.sum(jnp.square(w), axis=axis)


def resample_index(key: Array, log_weights: Array) -> Array:
  """One index drawn in proportion to ``exp(log_weights)`` along the last axis (sampling
  importance resampling)."""
  return jax.random.categorical(key, log_weights, axis=-1)


def langevin(key: Array, energy: Callable[[Array], Array], x0: Array, steps: int,
             step_size: float, noise_scale: float = 1.0,
             clip: tuple[float, float] | None = None) -> Array:
  """``steps`` steps of Langevin dynamics on ``energy`` (``[N, ...] -> [N]``) from ``x0``:

      x ← x − (ε/2) ∇ₓ E(x) + noise_scale · √ε · η,   η ~ N(0, I),

  with ε = ``step_size``, each example moved by the gradient of its own energy, and ``clip``
  bounding the values after each step (the data's range). With ``noise_scale`` 1 and a small ε
  the chain's law approaches ``exp(−E) / Z``; Du & Mordatch (2019) use a smaller noise to find
  low-energy points faster (the samples are then no longer exactly of ``exp(−E)``). The
  randomness of step ``k`` is ``fold_in(key, k)``."""
  grad = jax.grad(lambda x: jnp.sum(energy(x)))
  scale = noise_scale * jnp.sqrt(jnp.asarray(step_size, x0.dtype))

  def step(x, k):
    noise = jax.random.normal(jax.random.fold_in(key, k), x.shape, x.dtype)
    x = x - (step_size / 2) * grad(x) + scale * noise
    if clip is not None:
      x = jnp.clip(x, *clip)
    return x, None

  x, _ = jax.lax.scan(step, x0, jnp.arange(steps))
  return x


def chains_from_buffer(key: Array, buffer: Array, filled: Array, n: int, fresh: Array,
                       restart: float) -> Array:
  """``n`` starting points for Langevin chains: each, with probability ``restart``, a fresh
  point of ``fresh`` (``[n, ...]``, e.g. uniform noise), otherwise a point drawn uniformly
  from the first ``filled`` rows of ``buffer`` (Du & Mordatch 2019, §3.1: 95 % from the
  buffer, 5 % from noise); all fresh while the buffer is empty."""
  k_pick, k_fresh = jax.random.split(key)
  index = jax.random.randint(k_pick, (n,), 0, jnp.maximum(filled, 1))
  use_fresh = (jax.random.uniform(k_fresh, (n,)) < restart) | (filled == 0)
  mask = use_fresh.reshape((n,) + (1,) * (fresh.ndim - 1))
  return jnp.where(mask, fresh, buffer[index].astype(fresh.dtype))
