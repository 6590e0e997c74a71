"""The sampling toolkit against distributions whose moments and CDFs are known."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

from ebgan_jax import sampling


def test_inverse_cdf_draws_the_exponential():
  rate = 2.0
  x = np.asarray(sampling.inverse_cdf_sample(jax.random.PRNGKey(0),
                                             lambda u: -jnp.log1p(-u) / rate, (20000,)))
  assert stats.kstest(x, stats.expon(scale=1 / rate).cdf).pvalue > 0.01
  np.testing.assert_allclose(x.mean(), 1 / rate, rtol=0.03)


def test_categorical_inverse_cdf_matches_the_probabilities():
  probs = jnp.array([0.1, 0.6, 0.0, 0.3])
  u = jax.random.uniform(jax.random.PRNGKey(1), (40000,))
  freq = np.bincount(np.asarray(sampling.categorical_inverse_cdf(u, probs)), minlength=4) / 40000
  np.testing.assert_allclose(freq, probs, atol=0.01)
  assert freq[2] == 0  # a zero-probability class is never drawn
  np.testing.assert_array_equal(sampling.categorical_inverse_cdf(jnp.array([0.0, 0.0999, 0.1, 0.9999]), probs),
                                [0, 0, 1, 3])


def test_rejection_sampling_draws_beta_at_rate_one_over_k():
  # Beta(2, 2) = 6 x (1 - x) on [0, 1] under a uniform proposal: max 1.5, so k = 1.5.
  log_target = lambda x: jnp.log(6.0 * x * (1.0 - x))
  propose = lambda key, m: jax.random.uniform(key, (m,))
  samples, rate = sampling.rejection_sample(jax.random.PRNGKey(2), 20000, log_target, propose,
                                            lambda x: jnp.zeros(x.shape[0]), np.log(1.5))
  assert samples.shape == (20000,)
  assert abs(rate - 1 / 1.5) < 0.01
  assert stats.kstest(samples, stats.beta(2, 2).cdf).pvalue > 0.01
  # An unnormalised target: the same samples, acceptance 1 / (k Z) with Z = 1/6.
  _, rate = sampling.rejection_sample(jax.random.PRNGKey(3), 5000,
                                      lambda x: jnp.log(x * (1.0 - x)), propose,
                                      lambda x: jnp.zeros(x.shape[0]), np.log(0.25))
  assert abs(rate - (1 / 6) / 0.25) < 0.02


def test_rejection_sampling_refuses_an_envelope_below_the_target():
  with pytest.raises(ValueError, match="raise log_k"):
    sampling.rejection_sample(jax.random.PRNGKey(4), 10, lambda x: jnp.log(6.0 * x * (1.0 - x)),
                              lambda key, m: jax.random.uniform(key, (m,)),
                              lambda x: jnp.zeros(x.shape[0]), 0.0)


def test_self_normalised_importance_sampling_recovers_moments():
  # Target N(1, 0.5^2), known only up to a constant; proposal N(0, 2^2).
  x = 2.0 * jax.random.normal(jax.random.PRNGKey(5), (200000,))
  log_target = -0.5 * jnp.square((x - 1.0) / 0.5) + 7.0
  log_proposal = -0.5 * jnp.square(x / 2.0)
  w = sampling.importance_weights(log_target, log_proposal)
  np.testing.assert_allclose(float(w.sum()), 1.0, rtol=1e-5)
  mean = sampling.importance_estimate(x, log_target, log_proposal)
  second = sampling.importance_estimate(jnp.stack([x, x ** 2], -1), log_target, log_proposal)
  np.testing.assert_allclose(float(mean), 1.0, atol=0.01)
  np.testing.assert_allclose(np.asarray(second), [1.0, 1.25], atol=0.02)
  ess = float(sampling.effective_sample_size(log_target, log_proposal))
  # In the limit ESS / L = 1 / E_q[(p / q)^2] = 1 / integral p^2 / q.
  grid = np.linspace(-10, 10, 200001)
  p, q = stats.norm(1, 0.5).pdf(grid), stats.norm(0, 2).pdf(grid)
  fraction = 1 / np.trapezoid(p * p / q, grid)
  np.testing.assert_allclose(ess / 200000, fraction, rtol=0.05)
  same = sampling.effective_sample_size(log_proposal, log_proposal)
  np.testing.assert_allclose(float(same), 200000, rtol=1e-4)  # weights all equal


def test_resample_index_follows_the_weights():
  logw = jnp.log(jnp.array([0.2, 0.5, 0.3]))
  idx = sampling.resample_index(jax.random.PRNGKey(6), jnp.broadcast_to(logw, (30000, 3)))
  np.testing.assert_allclose(np.bincount(np.asarray(idx), minlength=3) / 30000, [0.2, 0.5, 0.3],
                             atol=0.01)


def test_the_documented_example_runs():
  import pathlib
  import re
  doc = (pathlib.Path(__file__).resolve().parent.parent / "docs" / "sampling.md").read_text()
  namespace = {}
  with jax.numpy_dtype_promotion("standard"):
    exec(compile(re.search(r"```python\n(.*?)```", doc, flags=re.S).group(1), "docs/sampling.md",
                 "exec"), namespace)
  assert abs(float(namespace["x"].mean()) - 0.5) < 0.03
  assert len(namespace["beta"]) == 1000 and abs(namespace["rate"] - 2 / 3) < 0.05
  assert abs(float(namespace["mean"]) - 1.0) < 0.03
  public = {name for name, f in vars(sampling).items()
            if callable(f) and not name.startswith("_") and f.__module__ == sampling.__name__}
  assert public == set(re.findall(r"^\| `(\w+)\(", doc, flags=re.M))


def test_langevin_is_the_update_rule_step_by_step():
  energy = lambda x: 0.5 * jnp.sum((x - 1.0) ** 2, axis=-1)
  key = jax.random.PRNGKey(3)
  x0 = jnp.asarray([[0.0, 2.0], [4.0, -1.0]])
  out = sampling.langevin(key, energy, x0, steps=3, step_size=0.1, noise_scale=0.5)
  x = np.asarray(x0, np.float64)
  for k in range(3):  # ∇E = x − 1
    eta = np.asarray(jax.random.normal(jax.random.fold_in(key, k), x0.shape))
    x = x - 0.05 * (x - 1.0) + 0.5 * np.sqrt(0.1) * eta
  np.testing.assert_allclose(out, x, rtol=1e-5, atol=1e-6)


def test_langevin_samples_a_gaussian_energy():
  # E(x) = |x - 2|^2 / 2: the chain's law tends to N(2, 1) (a small step, many steps).
  energy = lambda x: 0.5 * jnp.sum((x - 2.0) ** 2, axis=-1)
  x = sampling.langevin(jax.random.PRNGKey(0), energy, jnp.zeros((4000, 1)), steps=400,
                        step_size=0.05)
  assert abs(float(jnp.mean(x)) - 2.0) < 0.06 and abs(float(jnp.std(x)) - 1.0) < 0.06
  clipped = sampling.langevin(jax.random.PRNGKey(0), energy, jnp.zeros((100, 1)), steps=50,
                              step_size=0.05, clip=(-1.0, 1.0))
  assert float(jnp.max(clipped)) <= 1.0


def test_chains_restart_from_noise_or_from_the_buffer():
  buffer = jnp.full((10, 2), 7.0)
  fresh = jnp.zeros((1000, 2))
  start = np.asarray(sampling.chains_from_buffer(jax.random.PRNGKey(1), buffer, jnp.int32(4),
                                                 1000, fresh, restart=0.05))
  from_noise = np.mean(start[:, 0] == 0.0)
  assert set(np.unique(start)) == {0.0, 7.0} and 0.02 < from_noise < 0.09
  empty = sampling.chains_from_buffer(jax.random.PRNGKey(1), buffer, jnp.int32(0), 1000, fresh,
                                      restart=0.05)
  np.testing.assert_array_equal(empty, fresh)  # nothing to replay yet
