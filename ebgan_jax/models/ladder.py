"""The Ladder Network (Rasmus, Valpola, Honkala, Berglund & Raiko 2015), fully connected: the
energy function of EBGAN-LN (Zhao, Mathieu & LeCun 2017, §4.3)."""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp

from ebgan_jax.models.layers import Array


# ----------------------------------------------------------------------------------------------
# The Ladder Network (Rasmus, Valpola, Honkala, Berglund & Raiko 2015), fully connected
# ----------------------------------------------------------------------------------------------

_LADDER_EPS = 1e-5


def _normalise(z: Array, mean: Array, var: Array) -> Array:
  return (z - mean[None]) / jnp.sqrt(var[None] + _LADDER_EPS)


class VanillaCombinator(nn.Module):
  """The denoising function ``z^ = (z~ - mu(u)) v(u) + mu(u)`` of the Ladder Network, with
  ``mu(u) = a1 sigmoid(a2 u + a3) + a4 u + a5`` and ``v(u)`` likewise from ``a6..a10``, ten
  parameters per unit (Rasmus et al. 2015, §3 and Appendix A; Pezeshki et al. 2016, §3)."""
  width: int

  @nn.compact
  def __call__(self, z_noisy: Array, u: Array) -> Array:
    a = self.param("a", lambda _, shape: jnp.zeros(shape).at[jnp.array([1, 6])].set(1.0),
                   (10, self.width))[:, None, :]  # [10, 1, width] against u [B, width]
    mu = a[0] * jax.nn.sigmoid(a[1] * u + a[2]) + a[3] * u + a[4]
    v = a[5] * jax.nn.sigmoid(a[6] * u + a[7]) + a[8] * u + a[9]
    return (z_noisy - mu) * v + mu


class LadderNetwork(nn.Module):
  """A fully connected Ladder Network: a corrupted and a clean encoder sharing their weights,
  batch normalisation of every pre-activation, Gaussian noise added to the corrupted path's
  inputs and normalised pre-activations, ReLU hidden units, and a denoising decoder that
  rebuilds every layer top-down with the vanilla combinator (Rasmus et al. 2015, Algorithm 1).

  Images in [-1, 1] are read as [0, 1]. Returns ``(logits_noisy, logits_clean, costs)``, the
  classifier's logits of the corrupted and of the clean path, ``[B, classes]``, and the
  denoising cost of each layer, ``[B, L + 1]`` (layer 0 is the input): the mean over its units
  of ``(z_l - BN_clean(z^_l))^2``. With ``train=False`` the encoders normalise with the running
  averages and add no noise. ``update_stats=False`` leaves the running averages alone (the
  passes of labelled and generated examples)."""
  sizes: tuple[int, ...]  # widths of the hidden layers and the classes
  noise_std: float = 0.3
  momentum: float = 0.99

  @nn.compact
  def __call__(self, x: Array, train: bool = True, update_stats: bool = True
               ) -> tuple[Array, Array, Array]:
    h0 = (x.reshape(x.shape[0], -1) + 1.0) / 2.0
    n_layers = len(self.sizes)
    enc = [nn.Dense(w, use_bias=False, name=f"encoder_{l + 1}") for l, w in enumerate(self.sizes)]
    beta = [self.param(f"beta_{l + 1}", nn.initializers.zeros, (w,))
            for l, w in enumerate(self.sizes)]
    gamma = self.param("gamma", nn.initializers.ones, (self.sizes[-1],))
    running = [(self.variable("batch_stats", f"mean_{l + 1}", jnp.zeros, (w,)),
                self.variable("batch_stats", f"var_{l + 1}", jnp.ones, (w,)))
               for l, w in enumerate(self.sizes)]
    noise_key = self.make_rng("dropout") if train else None

    def noise(z, l):
      if not train or self.noise_std == 0:
        return z
      return z + self.noise_std * jax.random.normal(jax.random.fold_in(noise_key, l), z.shape)

    def encode(corrupt: bool):
      h = noise(h0, 0) if corrupt else h0
      zs, stats = [h], []
      for l in range(n_layers):
        pre = enc[l](h)
        if train:
          mean, var = jnp.mean(pre, axis=0), jnp.var(pre, axis=0)
        else:
          mean, var = running[l][0].value, running[l][1].value
        z = _normalise(pre, mean, var)
        z = noise(z, l + 1) if corrupt else z
        zs.append(z)
        stats.append((mean, var))
        h = jax.nn.relu(z + beta[l][None]) if l < n_layers - 1 else gamma[None] * (z + beta[l][None])
      return zs, stats, h

    z_clean, clean_stats, logits_clean = encode(False)
    z_noisy, _, logits_noisy = encode(True)
    if train and update_stats and not self.is_initializing():
      for (mean_var, var_var), (mean, var) in zip(running, clean_stats):
        mean_var.value = self.momentum * mean_var.value + (1 - self.momentum) * mean
        var_var.value = self.momentum * var_var.value + (1 - self.momentum) * var

    widths = (h0.shape[1],) + tuple(self.sizes)
    costs = [None] * (n_layers + 1)
    z_hat = None
    for l in reversed(range(n_layers + 1)):
      u = (jax.nn.softmax(logits_noisy) if l == n_layers
           else nn.Dense(widths[l], use_bias=False, name=f"decoder_{l}")(z_hat))
      u = _normalise(u, jnp.mean(u, axis=0), jnp.var(u, axis=0))
      z_hat = VanillaCombinator(widths[l], name=f"combinator_{l}")(z_noisy[l], u)
      target = z_hat if l == 0 else _normalise(z_hat, *clean_stats[l - 1])
      costs[l] = jnp.mean(jnp.square(z_clean[l] - target), axis=-1)
    return logits_noisy, logits_clean, jnp.stack(costs, axis=-1)
