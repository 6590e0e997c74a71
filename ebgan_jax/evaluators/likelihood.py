"""Importance-sampled log-likelihoods (Burda, Grosse & Salakhutdinov 2016)."""

from __future__ import annotations

import numpy as np


def vae_log_likelihood(encode, decode, log_likelihood, x, *, num_samples: int, key,
                       example_chunk: int = 50, sample_chunk: int = 500) -> dict[str, float]:
  """Importance-sampled ``log p(x)`` of a VAE (Burda et al. 2016) and its ELBO, in nats.

  ``log p(x) ~= logmeanexp_k [log p(x, z_k) - log q(z_k | x)]``, ``z_k ~ q(z | x)``, with
  ``num_samples`` = K samples per example, computed in chunks so that memory stays bounded.
  The ELBO is the mean of the same log weights (K = 1 in expectation); the IW estimate is at
  least that.

  Args:
    encode: ``x -> (mean, log_var)``.
    decode: ``z [N, D] -> decoded [N, ...]`` (logits for a Bernoulli decoder).
    log_likelihood: ``(x [N, ...], decoded [N, ...]) -> [N]`` log p(x | z).
    x: ``[B, ...]`` decoder targets.
  """
  import jax
  import jax.numpy as jnp
  from ebgan_jax import losses

  @jax.jit
  def log_weights(xb, key):
    mean, log_var = encode(xb)
    eps = jax.random.normal(key, (sample_chunk,) + mean.shape)
    z = mean[None] + jnp.exp(0.5 * log_var)[None] * eps  # [S, b, D]
    decoded = decode(z.reshape((-1,) + mean.shape[1:])).reshape((sample_chunk,) + xb.shape)
    log_px_z = jax.vmap(log_likelihood, in_axes=(None, 0))(xb, decoded)
    log_pz = losses.gaussian_log_density(z, jnp.zeros_like(z), jnp.zeros_like(z))
    log_qz = losses.gaussian_log_density(z, mean, log_var)
    return log_px_z + log_pz - log_qz  # [S, b]

  n_chunks = max(1, -(-num_samples // sample_chunk))
  iw, elbo = [], []
  for start in range(0, len(x), example_chunk):
    xb = jnp.asarray(x[start:start + example_chunk])
    w = jnp.concatenate([log_weights(xb, jax.random.fold_in(jax.random.fold_in(key, start), c))
                         for c in range(n_chunks)])[:num_samples]
    iw.append(np.asarray(jax.nn.logsumexp(w, axis=0) - jnp.log(w.shape[0])))
    elbo.append(np.asarray(jnp.mean(w, axis=0)))
  return {"iw_log_likelihood": float(np.concatenate(iw).mean()),
          "elbo_estimate": float(np.concatenate(elbo).mean()), "importance_samples": num_samples,
          "examples": int(len(x))}
