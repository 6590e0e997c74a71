"""ebgan_jax.losses against NumPy references and the properties the EBGAN paper states (Zhao et al. 2017, §2)."""

import itertools

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ebgan_jax import losses


def np_pulling_away(codes):
  s = codes.reshape(codes.shape[0], -1).astype(np.float64)
  n = len(s)
  total = 0.0
  for i, j in itertools.product(range(n), range(n)):
    if i != j:
      cos = s[i] @ s[j] / (np.linalg.norm(s[i]) * np.linalg.norm(s[j]))
      total += cos ** 2
  return total / (n * (n - 1))


@pytest.fixture
def rng():
  return np.random.default_rng(0)


@pytest.mark.parametrize("norm", ["mse", "l2", "l1"])
def test_reconstruction_energy_matches_numpy(rng, norm):
  x = rng.normal(size=(5, 3, 2, 2)).astype(np.float32)
  r = rng.normal(size=(5, 3, 2, 2)).astype(np.float32)
  d = (r - x).reshape(5, -1)
  expected = {"mse": (d ** 2).mean(1), "l2": np.sqrt((d ** 2).sum(1)), "l1": np.abs(d).mean(1)}
  got = jax.jit(lambda a, b: losses.reconstruction_energy(a, b, norm=norm))(x, r)
  chex.assert_shape(got, (5,))
  np.testing.assert_allclose(got, expected[norm], rtol=1e-5)


def test_l2_energy_has_finite_gradient_at_perfect_reconstruction():
  x = jnp.ones((2, 3))
  g = jax.grad(lambda r: losses.reconstruction_energy(x, r, norm="l2").sum())(x)
  assert np.all(np.isfinite(g))


def test_energy_rejects_bad_input():
  with pytest.raises(ValueError, match=r"\(2, 3\) and \(2, 4\)"):
    losses.reconstruction_energy(jnp.zeros((2, 3)), jnp.zeros((2, 4)))
  with pytest.raises(ValueError, match="norm must be one of"):
    losses.reconstruction_energy(jnp.zeros((2, 3)), jnp.zeros((2, 3)), norm="l3")


def test_ebgan_losses_match_numpy(rng):
  e_real = rng.uniform(0, 3, 7).astype(np.float32)
  e_fake = rng.uniform(0, 3, 7).astype(np.float32)
  got = jax.jit(lambda a, b, m: losses.ebgan_discriminator_loss(a, b, margin=m))(e_real, e_fake, 1.5)
  np.testing.assert_allclose(got, e_real + np.maximum(0, 1.5 - e_fake), rtol=1e-6)
  np.testing.assert_allclose(losses.ebgan_generator_loss(e_fake), e_fake)
  with pytest.raises(ValueError, match=r"\(7,\) and \(6,\)"):
    losses.ebgan_discriminator_loss(e_real, e_fake[:6], margin=1.0)
  with pytest.raises(ValueError, match="per-example vector"):
    losses.ebgan_generator_loss(jnp.zeros((2, 2)))


def test_discriminator_loss_gradient_is_hinge():
  # d/dD(G(z)) of [m - D(G(z))]^+ is -1 inside the margin and 0 outside.
  g = jax.grad(lambda f: losses.ebgan_discriminator_loss(jnp.zeros(2), f, margin=1.0).sum())(
      jnp.array([0.5, 1.5]))
  np.testing.assert_array_equal(g, [-1.0, 0.0])


def test_pulling_away_matches_numpy(rng):
  codes = rng.normal(size=(6, 2, 3)).astype(np.float32)
  np.testing.assert_allclose(jax.jit(losses.pulling_away_term)(codes), np_pulling_away(codes),
                             rtol=1e-5)


def test_pulling_away_properties(rng):
  row = rng.normal(size=(1, 8)).astype(np.float32)
  np.testing.assert_allclose(losses.pulling_away_term(np.repeat(row, 5, 0)), 1.0, rtol=1e-5)
  np.testing.assert_allclose(losses.pulling_away_term(np.eye(6, dtype=np.float32)), 0.0, atol=1e-7)
  codes = rng.normal(size=(9, 4)).astype(np.float32)
  base = losses.pulling_away_term(codes)
  scales = rng.uniform(0.1, 10.0, size=(9, 1)).astype(np.float32)
  np.testing.assert_allclose(losses.pulling_away_term(codes * scales), base, rtol=1e-5)
  np.testing.assert_allclose(losses.pulling_away_term(codes[rng.permutation(9)]), base, rtol=1e-5)
  assert 0.0 <= float(base) <= 1.0


def test_pulling_away_is_not_a_wrong_variant(rng):
  # Public variants: unsquared cosine, or keeping the diagonal. Both differ from the paper's definition.
  codes = rng.normal(size=(6, 5)).astype(np.float32)
  unit = codes / np.linalg.norm(codes, axis=1, keepdims=True)
  cos = unit @ unit.T
  unsquared = (cos.sum() - 6) / 30
  with_diagonal = (cos ** 2).sum() / 30
  got = float(losses.pulling_away_term(codes))
  assert abs(got - unsquared) > 1e-3 and abs(got - with_diagonal) > 1e-3


def test_pulling_away_over_a_device_axis_is_global(rng):
  codes = rng.normal(size=(8, 5)).astype(np.float32)
  shards = codes.reshape(4, 2, 5)  # four "devices" with two rows each
  per_device = jax.vmap(lambda c: losses.pulling_away_term(c, axis_name="data"),
                        axis_name="data")(shards)
  np.testing.assert_allclose(per_device, np.full(4, np_pulling_away(codes)), rtol=1e-5)
  local = jax.vmap(losses.pulling_away_term)(shards)
  assert not np.allclose(local, np_pulling_away(codes), rtol=1e-3)


def test_pulling_away_gradient_is_finite_with_a_zero_code():
  codes = jnp.array([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0]])
  g = jax.grad(losses.pulling_away_term)(codes)
  assert np.all(np.isfinite(g))


@pytest.mark.parametrize("a,b,argmin", [(1.0, 2.0, "m"), (2.0, 1.0, "0"), (1.0, 1.0, "0")])
def test_lemma_1(a, b, argmin):
  # phi(y) = a y + b [m - y]^+ is minimised at y = m when a < b, at y = 0 otherwise.
  m = 3.0
  y = np.linspace(0.0, 10.0, 10001)
  phi = a * y + b * np.asarray(jax.nn.relu(m - y))
  best = m if argmin == "m" else 0.0
  # a minimiser (with a == b, phi is flat on [0, m] and 0 is one of its minimisers)
  assert np.interp(best, y, phi) <= phi.min() + 1e-5
  if a != b:
    assert y[np.argmin(phi)] == pytest.approx(best, abs=1e-3)
  # and the EBGAN D loss is that phi per example
  np.testing.assert_allclose(
      a * y + b * np.asarray(losses.ebgan_discriminator_loss(jnp.zeros_like(y), y, margin=m)),
      phi, rtol=1e-6)


def test_losses_vmap_and_grad_safe(rng):
  x = rng.normal(size=(3, 4, 6)).astype(np.float32)
  r = rng.normal(size=(3, 4, 6)).astype(np.float32)
  v = jax.vmap(losses.reconstruction_energy)(x, r)
  chex.assert_shape(v, (3, 4))
  g = jax.grad(lambda c: losses.pulling_away_term(c))(x[0])
  chex.assert_tree_all_finite(g)
