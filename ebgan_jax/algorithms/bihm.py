"""The Bidirectional Helmholtz Machine (Bornschein, Shabanian, Fischer & Bengio 2016).

Two sigmoid belief networks over binary units, a top-down ``p(x, h)`` (the ``g`` network) and a
bottom-up ``q(h | x)`` (the ``d`` network), define the model
``p*(x, h) = sqrt(p(x, h) q(h | x)) / Z``. Its marginal ``p*(x) = p~*(x) / Z^2`` with
``p~*(x) = (sum_h sqrt(p(x, h) q(h | x)))^2``; ``Z <= 1`` and ``-log Z`` is the Bhattacharyya
distance between ``p`` and ``q``, which training shrinks, so ``q`` stays a good proposal for
``p*`` and the likelihood can be bounded from both sides.

Training (§2.2, Algorithm 1) draws ``K`` samples ``h_k ~ q(h | x)`` and ascends
``sum_k w~_k d log [p(x, h_k) q(h_k | x)]`` with ``w~_k`` the normalised
``sqrt(p(x, h_k) / q(h_k | x))``: one estimator, for both networks. Evaluation (§2.1, §4):
``log p~*(x)`` with many samples, ``Z^2`` by importance sampling over ``x ~ p``, and
``log p*(x) = log p~*(x) - 2 log Z``. Sampling from ``p*`` (§4, Figs. 3-4): Gibbs sweeps over
the layers, each layer resampled by importance weights among candidates.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from typing import Any, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from ebgan_jax import losses, models, sampling
from ebgan_jax.algorithms.base import Algorithm, Update
from ebgan_jax.state import SAMPLE_STREAM

Array = jax.Array


@dataclasses.dataclass(frozen=True)
class BiHM(Algorithm):
  name = "bihm"
  title = "BiHM"
  discriminator = "sbn"
  progress_metrics = ("log_p_tilde", "ess")
  # num_samples: K importance samples per training example (the paper: 10).
  # eval_*: log p~*(x) of eval_examples held-out examples (training ones when the data config
  # holds none out) with eval_samples samples each; log Z from partition_samples draws
  # x ~ p, each with partition_inner_samples samples h ~ q(h|x).
  config_block = {"num_samples": 10, "eval_samples": 1000, "eval_examples": 300,
                  "partition_samples": 10000, "partition_inner_samples": 100}
  num_samples: int = 10

  @classmethod
  def from_config(cls, config):
    return cls(num_samples=config.bihm.num_samples)

  @staticmethod
  def validate(config):
    sizes = tuple(config.model.sbn_sizes)
    if config.model.arch != "sbn" or not sizes or min(sizes) <= 0:
      raise ValueError("the BiHM is built from sigmoid belief networks: use "
                       "--config.model.arch=sbn and positive --config.model.sbn_sizes.")
    if config.latent_dim != sum(sizes):
      raise ValueError(f"config.latent_dim must be sum(config.model.sbn_sizes) = {sum(sizes)} "
                       "for the BiHM: the uniform noise of one ancestral sample.")
    if config.latent_dist != "uniform":
      raise ValueError("the BiHM samples its binary layers from uniform noise: use "
                       "--config.latent_dist=uniform.")
    if not config.data.binarize:
      raise ValueError("the BiHM models binary data: use --config.data.binarize=true.")
    if config.pack > 1:
      raise ValueError("config.pack packs a discriminator's inputs; the BiHM has none: use "
                       "--config.pack=1.")
    for key in ("num_samples", "eval_samples", "eval_examples", "partition_samples",
                "partition_inner_samples"):
      if config.bihm[key] <= 0:
        raise ValueError(f"config.bihm.{key} must be positive, got {config.bihm[key]}.")

  def to_display(self, generated):
    # the Bernoulli mean 2 sigmoid(l) - 1 = tanh(l / 2), in [-1, 1]
    return jnp.tanh(generated / 2.0)

  def update(self, state, batch, key, settings, shard_batch):
    x = models.to_binary(batch)
    xk = jnp.broadcast_to(x[None], (self.num_samples,) + x.shape)  # [K, B, D]
    # h_k ~ q(h | x) with q's parameters before the step; samples carry no gradient.
    layers = state.d.apply_fn({"params": state.d.params}, key, xk, method="sample")

    def loss_fn(g_params, d_params):
      log_p = state.g.apply_fn({"params": g_params}, layers, method="log_prob")
      log_q = state.d.apply_fn({"params": d_params}, layers, method="log_prob")
      loss = jnp.mean(losses.bihm_loss(log_p, log_q))
      ess = sampling.effective_sample_size(0.5 * log_p, 0.5 * log_q)
      metrics = {"log_p_tilde": jnp.mean(losses.bihm_log_p_tilde(log_p, log_q)),
                 "log_p": jnp.mean(log_p), "log_q": jnp.mean(log_q), "ess": jnp.mean(ess)}
      return loss, metrics

    (loss, metrics), (g_grads, d_grads) = jax.value_and_grad(
        loss_fn, argnums=(0, 1), has_aux=True)(state.g.params, state.d.params)
    g = state.g.apply_gradients(grads=g_grads)
    d = state.d.apply_gradients(grads=d_grads)
    metrics = {**metrics, "loss_d": loss, "loss_g": loss}
    return Update(g, d, state.controller, metrics, loss, loss, d_grads, g_grads)

  def evaluate(self, config, networks, state, dataset):
    """``log_likelihood`` (log p*(x)), ``log_likelihood_bound`` (log p~*(x)) and ``log_z`` of
    the held-out examples (prefixed ``train_`` when the config holds none out), in nats."""
    from ebgan_jax import data
    b = config.bihm
    held_out = data.heldout_examples(config.data, limit=b.eval_examples)
    prefix = ""
    if held_out is None:
      n = min(b.eval_examples, getattr(dataset, "num_examples", b.eval_examples))
      held_out, prefix = dataset.examples(np.arange(n)), "train_"
    key = jax.random.fold_in(jax.random.PRNGKey(config.seed), SAMPLE_STREAM + 1)
    result = likelihood(networks, state.g.params, state.d.params, held_out, key=key,
                        eval_samples=b.eval_samples, partition_samples=b.partition_samples,
                        partition_inner_samples=b.partition_inner_samples)
    return {prefix + k if k.startswith("log_likelihood") else k: v for k, v in result.items()}


# ----------------------------------------------------------------------------------------------
# Estimates of the likelihood
# ----------------------------------------------------------------------------------------------

def log_weights(networks: tuple[Any, Any], g_params, d_params, x: Array, key: Array,
                num_samples: int) -> tuple[Array, Array]:
  """``[K, B]`` ``log p(x, h_k)`` and ``log q(h_k | x)`` for ``h_k ~ q(h | x)`` and binary
  flattened ``x [B, D]``."""
  generator, inference = networks
  xk = jnp.broadcast_to(x[None], (num_samples,) + x.shape)
  layers = inference.apply({"params": d_params}, key, xk, method="sample")
  return (generator.apply({"params": g_params}, layers, method="log_prob"),
          inference.apply({"params": d_params}, layers, method="log_prob"))


_log_weights_jit = jax.jit(log_weights, static_argnums=(0, 5))


def log_p_tilde(networks, g_params, d_params, x: np.ndarray, key: Array, num_samples: int,
                example_chunk: int = 100, sample_chunk: int = 1000) -> np.ndarray:
  """``[B]`` estimates of ``log p~*(x)`` with ``num_samples`` samples each, computed in chunks
  so that memory stays bounded (binary flattened ``x``)."""
  sample_chunk = min(sample_chunk, num_samples)
  out = []
  for start in range(0, len(x), example_chunk):
    xb = jnp.asarray(x[start:start + example_chunk])
    n_chunks = -(-num_samples // sample_chunk)
    lp, lq = zip(*[_log_weights_jit(networks, g_params, d_params, xb,
                                    jax.random.fold_in(jax.random.fold_in(key, start), c),
                                    sample_chunk) for c in range(n_chunks)])
    out.append(np.asarray(losses.bihm_log_p_tilde(jnp.concatenate(lp)[:num_samples],
                                                  jnp.concatenate(lq)[:num_samples])))
  return np.concatenate(out)


@functools.partial(jax.jit, static_argnums=(0, 4, 5))
def _partition_terms(networks, g_params, d_params, key, chunk: int, inner_samples: int):
  k_x, k_h = jax.random.split(key)
  x = networks[0].apply({"params": g_params}, k_x, chunk, method="sample")[0]
  lp, lq = log_weights(networks, g_params, d_params, x, k_h, inner_samples)
  return losses.bihm_partition_terms(lp, lq)


def log_partition(networks, g_params, d_params, key: Array, num_samples: int,
                  inner_samples: int, chunk: int = 500) -> float:
  """``log Z``, from ``Z^2 = E_{x ~ p}[p~*(x) / p(x)]`` with ``num_samples`` draws of ``x``
  from the top-down model and ``inner_samples`` samples ``h ~ q(h | x)`` for each (§2.1).

  Each term is a ratio of two estimates from the same ``h``: bounded by 1, so it varies
  little over ``x``, but it is biased up for a finite ``inner_samples`` (the squared mean in
  ``p~*`` and the mean in the denominator both lean that way), and the bias vanishes as it
  grows. A high ``Z`` lowers ``log p*(x) = log p~*(x) - 2 log Z``: the estimate of the
  likelihood errs on the low side. At most 0, as ``Z`` is."""
  t = partition_terms(networks, g_params, d_params, key, num_samples, inner_samples, chunk)
  return 0.5 * float(jax.nn.logsumexp(t) - math.log(t.shape[0]))


def partition_terms(networks, g_params, d_params, key: Array, num_samples: int,
                    inner_samples: int, chunk: int = 500) -> Array:
  """``[num_samples]`` terms ``log (p~*(x) / p(x))`` for ``x ~ p`` whose log-mean-exp is
  ``2 log Z`` (:func:`log_partition`), drawn ``chunk`` at a time."""
  chunk = min(chunk, num_samples)
  return jnp.concatenate([_partition_terms(networks, g_params, d_params,
                                           jax.random.fold_in(key, c), chunk, inner_samples)
                          for c in range(-(-num_samples // chunk))])[:num_samples]


def likelihood(networks, g_params, d_params, images: np.ndarray, *, key: Array,
               eval_samples: int, partition_samples: int, partition_inner_samples: int
               ) -> dict[str, float]:
  """The BiHM's estimates on ``images`` (binarised, in [-1, 1]), in nats per example:
  ``log_likelihood_bound`` (log p~*(x)), ``log_z`` and ``log_likelihood`` (log p*(x) =
  log p~*(x) - 2 log Z), with the Bhattacharyya distance ``-log Z``."""
  k_x, k_z = jax.random.split(key)
  x = np.asarray(models.to_binary(jnp.asarray(images)))
  bound = float(np.mean(log_p_tilde(networks, g_params, d_params, x, k_x, eval_samples)))
  log_z = log_partition(networks, g_params, d_params, k_z, partition_samples,
                        partition_inner_samples)
  return {"log_likelihood": bound - 2.0 * log_z, "log_likelihood_bound": bound, "log_z": log_z,
          "bhattacharyya_distance": -log_z, "eval_examples": int(len(x)),
          "eval_samples": int(eval_samples)}


def _log_ratios(networks, g_params, d_params, x: np.ndarray, key: Array, num_samples: int,
                sample_chunk: int = 1000) -> np.ndarray:
  """``[K, B]`` ``log p(x, h_k) - log q(h_k | x)`` for ``h_k ~ q(h | x)``, in chunks of
  samples so that memory stays bounded (binary flattened ``x``)."""
  sample_chunk = min(sample_chunk, num_samples)
  xb = jnp.asarray(x)
  out = []
  for c in range(-(-num_samples // sample_chunk)):
    lp, lq = _log_weights_jit(networks, g_params, d_params, xb, jax.random.fold_in(key, c),
                              sample_chunk)
    out.append(np.asarray(lp - lq, np.float64))
  return np.concatenate(out)[:num_samples]


def log_mean_exp(a: np.ndarray, axis: int = 0) -> tuple[np.ndarray, np.ndarray]:
  """``log mean exp(a)`` along ``axis`` and its Monte-Carlo standard error by the delta method:
  the standard error of the mean of ``exp(a)`` over the mean itself."""
  top = np.max(a, axis=axis, keepdims=True)
  v = np.exp(a - top)
  mean = v.mean(axis=axis)
  n = a.shape[axis]
  se = v.std(axis=axis, ddof=1) / math.sqrt(n) / mean
  return np.log(mean) + np.squeeze(top, axis), se


def per_example_check(networks, g_params, d_params, images: np.ndarray, *, key: Array,
                      eval_samples: int, partition_samples: int, partition_inner_samples: int
                      ) -> dict[str, np.ndarray | float]:
  """Per example, the bound against the estimate from independent samples, with their
  Monte-Carlo standard errors (Bornschein et al. 2016, §2.1).

  ``bound`` is ``log p~*(x)`` from one set of ``eval_samples`` samples ``h ~ q(h | x)``;
  ``estimate`` is ``log p*(x) = log p~*(x) - 2 log Z`` from another set and an independent
  estimate of ``Z``; ``log_p`` is the top-down model's own ``log p(x)`` (importance sampling
  with ``q`` as proposal) from that second set. Two inequalities hold exactly:
  ``p~*(x) <= p*(x)`` (``Z <= 1``) and ``p~*(x) <= p(x)`` (Cauchy-Schwarz over ``h``). With
  independent samples the estimated sides can cross by Monte-Carlo error alone, so each
  returned ``*_se`` is the standard error (delta method) the comparison allows for; a crossing
  beyond two of them says an estimator or a network's normalisation is wrong."""
  k_a, k_b, k_z = jax.random.split(key, 3)
  x = np.asarray(models.to_binary(jnp.asarray(images)))
  half_a, half_a_se = log_mean_exp(0.5 * _log_ratios(networks, g_params, d_params, x, k_a,
                                                     eval_samples))
  ratios_b = _log_ratios(networks, g_params, d_params, x, k_b, eval_samples)
  half_b, half_b_se = log_mean_exp(0.5 * ratios_b)
  log_p, log_p_se = log_mean_exp(ratios_b)
  t = partition_terms(networks, g_params, d_params, k_z, partition_samples,
                      partition_inner_samples)
  log_z2, log_z2_se = log_mean_exp(np.asarray(t, np.float64))
  bound, bound_se = 2.0 * half_a, 2.0 * half_a_se
  estimate = 2.0 * half_b - log_z2
  estimate_se = np.sqrt((2.0 * half_b_se) ** 2 + log_z2_se ** 2)
  return {"bound": bound, "bound_se": bound_se, "estimate": estimate,
          "estimate_se": estimate_se, "log_p": log_p, "log_p_se": log_p_se,
          "log_z": 0.5 * float(log_z2)}


def check_counts(check: dict) -> dict[str, float]:
  """What :func:`per_example_check` found, as counts over the examples: the bound below each
  upper side outright, and above it by more than two standard errors of the difference."""
  out = {"examples": int(len(check["bound"]))}
  for side in ("estimate", "log_p"):
    gap = check[side] - check["bound"]
    se = np.sqrt(check["bound_se"] ** 2 + check[f"{side}_se"] ** 2)
    out[f"below_{side}"] = int(np.sum(gap >= 0))
    out[f"above_{side}_beyond_2se"] = int(np.sum(gap < -2 * se))
    out[f"median_se_{side}"] = float(np.median(se))
  return out


# ----------------------------------------------------------------------------------------------
# Sampling from p* by Gibbs sweeps over the layers
# ----------------------------------------------------------------------------------------------
# p*(x) = S(x)^2 / Z^2 with S(x) = sum_h sqrt(p(x, h) q(h | x)) is the x-marginal of
#   pi(x, h, h') ∝ sqrt(p(x, h) q(h | x)) sqrt(p(x, h') q(h' | x)),
# two copies of the hidden layers sharing x. Every conditional of pi is tractable up to a
# constant, so a Gibbs sampler over (x, h, h') samples p*(x) exactly in the limit; given x the
# copies are independent, each with the BiHM's posterior sqrt(p q) / S(x).

def _candidates(key: Array, current: Array, logits: Array, m: int) -> Array:
  """``[m, B, n]``: the current value (index 0) and ``m - 1`` Bernoulli(sigmoid(logits))
  proposals."""
  probs = jnp.broadcast_to(jax.nn.sigmoid(logits)[None], (m - 1,) + logits.shape)
  proposed = jax.random.bernoulli(key, probs).astype(jnp.float32)
  return jnp.concatenate([current[None], proposed])


def _pick(key: Array, cand: Array, log_weights: Array) -> Array:
  """One candidate per chain in proportion to ``exp(log_weights [m, B])``."""
  pick = sampling.resample_index(key, log_weights.T)  # [B]
  return jnp.take_along_axis(cand, pick[None, :, None], axis=0)[0]


def gibbs_sweep(networks, g_params, d_params, layers: Sequence[Array], key: Array,
                candidates: int = 16, clamp: tuple[Array, Array] | None = None) -> list[Array]:
  """One sweep over ``h_1..h_L`` of both copies, then ``x``, of chains that leave ``pi`` (and so
  ``p*(x)``) invariant. ``layers`` are ``[x, h_1, ..., h_L]``, each ``[2B, n_l]``: rows ``b``
  and ``B + b`` are the two copies of chain ``b`` and hold the same ``x``.

  A conditional of ``pi`` is not factorial over a layer's units (``q(h_{l+1} | h_l)`` couples
  them), so each layer is updated by conditional importance resampling (iterated SIR; Andrieu,
  Lee & Vihola 2018): ``candidates - 1`` proposals and the current value, one kept in
  proportion to target / proposal. Proposals: ``q(h_l | h_{l-1})`` for ``h_l``, ``p(x | h_1)`` of
  the first copy for ``x``. ``clamp = (mask [B, D], values [B, D])`` holds the units of ``x``
  where ``mask`` is 1 at ``values`` (inpainting).
  """
  generator, inference = networks
  layers = list(layers)
  n = layers[0].shape[0] // 2
  m = candidates

  def log_target(full):  # log sqrt(p q) of every row, [m, 2B]
    return 0.5 * (generator.apply({"params": g_params}, full, method="log_prob")
                  + inference.apply({"params": d_params}, full, method="log_prob"))

  for l in range(1, len(layers)):
    k_prop, k_pick = jax.random.split(jax.random.fold_in(key, l))
    logits = inference.apply({"params": d_params}, layers, method="conditional_logits")[l - 1]
    cand = _candidates(k_prop, layers[l], logits, m)
    full = [jnp.broadcast_to(v[None], (m,) + v.shape) for v in layers]
    full[l] = cand
    layers[l] = _pick(k_pick, cand, log_target(full) - models.bernoulli_log_prob(
        cand, jnp.broadcast_to(logits[None], cand.shape)))

  k_prop, k_pick = jax.random.split(jax.random.fold_in(key, 0))
  logits = generator.apply({"params": g_params}, layers, method="conditional_logits")[0][:n]
  cand = _candidates(k_prop, layers[0][:n], logits, m)  # [m, B, D]
  free = None
  if clamp is not None:
    cand = jnp.where(clamp[0][None] > 0, clamp[1][None], cand)
    free = 1.0 - clamp[0]
  full = [jnp.broadcast_to(v[None], (m,) + v.shape) for v in layers]
  full[0] = jnp.concatenate([cand, cand], axis=1)
  target = log_target(full)
  proposal = models.bernoulli_log_prob(cand, jnp.broadcast_to(logits[None], cand.shape), free)
  x = _pick(k_pick, cand, target[:, :n] + target[:, n:] - proposal)
  layers[0] = jnp.concatenate([x, x])
  return layers


@functools.partial(jax.jit, static_argnums=(0, 5, 6))
def _chain(networks, g_params, d_params, layers, key, sweeps, candidates, clamp):
  def body(i, layers):
    return gibbs_sweep(networks, g_params, d_params, layers, jax.random.fold_in(key, i),
                       candidates, clamp)
  return jax.lax.fori_loop(0, sweeps, body, layers)


def gibbs_sample(networks, g_params, d_params, x: Array, key: Array, sweeps: int,
                 candidates: int = 16, clamp: tuple[Array, Array] | None = None) -> Array:
  """``x [B, D]`` (binary) after ``sweeps`` Gibbs sweeps on ``p*``, one chain per row of the
  start ``x``, both copies of its hidden layers drawn from ``q(h | x)`` to begin."""
  x = jnp.asarray(x)
  if clamp is not None:
    clamp = (jnp.asarray(clamp[0], jnp.float32), jnp.asarray(clamp[1], jnp.float32))
    x = jnp.where(clamp[0] > 0, clamp[1], x)
  k_start, k_run = jax.random.split(key)
  layers = networks[1].apply({"params": d_params}, k_start, jnp.concatenate([x, x]),
                             method="sample")
  return _chain(networks, g_params, d_params, layers, k_run, sweeps, candidates, clamp)[0][:len(x)]
