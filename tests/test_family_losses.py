"""The family's losses against NumPy references and the papers' properties."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import special

from ebgan_jax import losses


@pytest.fixture
def rng():
  return np.random.default_rng(0)


def sigmoid(x):
  return 1 / (1 + np.exp(-x))


def test_gan_losses_match_numpy(rng):
  lr, lf = rng.normal(size=6).astype(np.float32), rng.normal(size=6).astype(np.float32)
  np.testing.assert_allclose(losses.gan_discriminator_loss(lr, lf),
                             -np.log(sigmoid(lr)) - np.log(1 - sigmoid(lf)), rtol=1e-5)
  np.testing.assert_allclose(losses.gan_generator_loss(lf), -np.log(sigmoid(lf)), rtol=1e-5)
  np.testing.assert_allclose(losses.gan_generator_loss(lf, non_saturating=False),
                             np.log(1 - sigmoid(lf)), rtol=1e-5)


def test_gan_losses_are_stable_for_large_logits():
  big = jnp.array([80.0, -80.0])
  chex.assert_tree_all_finite(losses.gan_discriminator_loss(big, -big))
  chex.assert_tree_all_finite(jax.grad(lambda l: losses.gan_generator_loss(l).sum())(big))


def test_optimal_discriminator_value_is_minus_log4_plus_2jsd():
  # With D*(x) = p_d / (p_d + p_g), -E[L_D] = V(D*, G) = -log 4 + 2 JSD(p_d || p_g) (Goodfellow et al. 2014, Proposition 1 and Theorem 1).
  p_d = np.array([0.5, 0.3, 0.2])
  p_g = np.array([0.2, 0.2, 0.6])
  d_star = p_d / (p_d + p_g)
  logits = np.log(d_star / (1 - d_star)).astype(np.float32)
  per_x = np.asarray(losses.gan_discriminator_loss(logits, logits))
  # E_x~p_d[-log D] + E_x~p_g[-log(1 - D)], from the per-example terms
  value = -(p_d @ -np.log(d_star) + p_g @ -np.log(1 - d_star))
  m = (p_d + p_g) / 2
  jsd = 0.5 * (p_d @ np.log(p_d / m) + p_g @ np.log(p_g / m))
  np.testing.assert_allclose(value, -np.log(4) + 2 * jsd, rtol=1e-6)
  np.testing.assert_allclose(per_x, -np.log(d_star) - np.log(1 - d_star), rtol=1e-5)


def test_began_losses_and_controller(rng):
  er, ef = rng.uniform(0, 1, 5).astype(np.float32), rng.uniform(0, 1, 5).astype(np.float32)
  np.testing.assert_allclose(losses.began_discriminator_loss(er, ef, k=0.3), er - 0.3 * ef,
                             rtol=1e-6)
  k = losses.began_k_update(0.2, er, ef, gamma=0.5, lambda_k=0.001)
  np.testing.assert_allclose(k, 0.2 + 0.001 * (0.5 * er.mean() - ef.mean()), rtol=1e-6)
  np.testing.assert_allclose(losses.began_convergence(er, ef, gamma=0.5),
                             er.mean() + abs(0.5 * er.mean() - ef.mean()), rtol=1e-6)


@pytest.mark.parametrize("seed", range(5))
def test_began_k_stays_in_unit_interval(seed):
  rng = np.random.default_rng(seed)
  k = 0.0
  for _ in range(200):
    er = rng.uniform(-100, 100, 4)  # any inputs, even impossible negative energies
    ef = rng.uniform(-100, 100, 4)
    k = losses.began_k_update(k, er, ef, gamma=rng.uniform(0, 2), lambda_k=rng.uniform(0, 1))
    assert 0.0 <= float(k) <= 1.0


def test_magan_margin_sequence_by_hand():
  # epochs of (S_D, S_G) over n = 10 examples, starting from m0 = 5 and S_G_prev = inf
  margin, prev = jnp.float32(5.0), jnp.float32(np.inf)
  history = []
  for s_real, s_fake in [(40.0, 60.0), (30.0, 70.0), (25.0, 70.0), (35.0, 75.0), (20.0, 10.0),
                         (10.0, 80.0)]:
    margin, prev = losses.magan_margin_update(margin, s_real, s_fake, prev, 10)
    history.append(float(margin))
  # 1: S_G_prev = inf: keep 5. 2: 3 < 5, 30 < 70, 60 < 70: 3. 3: S_G = S_G_prev = 70, not
  # above it (the strict rule): keep 3. 4: 3.5 > 3: keep. 5: S_D > S_G: keep.
  # 6: 1 < 3, 10 < 80, 10 < 80: 1.
  assert history == [5.0, 3.0, 3.0, 3.0, 3.0, 1.0]
  assert all(b <= a for a, b in zip(history, history[1:]))


def test_loss_sensitive_loss(rng):
  lr, lf, d = (rng.uniform(0, 2, 4).astype(np.float32) for _ in range(3))
  np.testing.assert_allclose(losses.loss_sensitive_discriminator_loss(lr, lf, d, lam=0.7),
                             lr + 0.7 * np.maximum(0, d + lr - lf), rtol=1e-6)


def test_gaussian_kl_matches_monte_carlo(rng):
  mean = rng.normal(size=(3, 4)).astype(np.float32)
  log_var = rng.normal(scale=0.5, size=(3, 4)).astype(np.float32)
  z = mean + np.exp(0.5 * log_var) * rng.standard_normal((200_000, 3, 4))
  log_q = np.asarray(losses.gaussian_log_density(z, mean, log_var))
  log_p = np.asarray(losses.gaussian_log_density(z, np.zeros_like(z), np.zeros_like(z)))
  np.testing.assert_allclose(losses.gaussian_kl(mean, log_var), (log_q - log_p).mean(0),
                             rtol=2e-2, atol=2e-2)


def test_elbo_estimators_agree_in_expectation(rng):
  mean = rng.normal(size=(2, 3)).astype(np.float32)
  log_var = rng.normal(scale=0.3, size=(2, 3)).astype(np.float32)
  z = (mean + np.exp(0.5 * log_var) * rng.standard_normal((100_000, 2, 3))).astype(np.float32)
  log_px_z = -np.sum(z ** 2, -1).astype(np.float32)  # any likelihood works for the identity
  a = losses.elbo(log_px_z, mean, log_var, z, estimator="A")
  b = losses.elbo(log_px_z, mean, log_var, estimator="B")
  np.testing.assert_allclose(a, b, rtol=2e-2, atol=2e-2)
  with pytest.raises(ValueError, match="estimator A needs the samples"):
    losses.elbo(log_px_z, mean, log_var, estimator="A")


def test_importance_weighted_log_likelihood(rng):
  log_p = rng.normal(size=(7, 3)).astype(np.float32)
  log_q = rng.normal(size=(7, 3)).astype(np.float32)
  np.testing.assert_allclose(losses.importance_weighted_log_likelihood(log_p, log_q),
                             special.logsumexp(log_p - log_q, axis=0) - np.log(7), rtol=1e-5)
  # K = 1 is the single-sample ELBO term, and the bound is >= the mean of the log weights
  iw = losses.importance_weighted_log_likelihood(log_p, log_q)
  assert np.all(np.asarray(iw) >= (log_p - log_q).mean(0) - 1e-6)


def test_bernoulli_log_likelihood(rng):
  x = (rng.uniform(size=(2, 3, 3)) > 0.5).astype(np.float32)
  logits = rng.normal(size=(2, 3, 3)).astype(np.float32)
  p = sigmoid(logits)
  expected = (x * np.log(p) + (1 - x) * np.log(1 - p)).reshape(2, -1).sum(1)
  np.testing.assert_allclose(losses.bernoulli_log_likelihood(x, logits), expected, rtol=1e-5)
