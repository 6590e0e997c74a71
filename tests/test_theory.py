"""The theory as experiments: the formulas against NumPy and closed forms, and the trained
toys against what GAN Proposition 1 and EBGAN Theorems 1–2 say, with stated tolerances."""

import math

import jax
import numpy as np
import pytest

from ebgan_jax.studies import theory


def test_optimal_discriminator_and_the_value_at_it():
  x = np.linspace(-6, 7, 20001)  # both densities and 1 - D* representable in float64
  dx = x[1] - x[0]
  p, q = theory.gaussian_density(x, 0.0, 1.0), theory.gaussian_density(x, 1.5, 0.75)
  d = theory.optimal_discriminator(p, q)
  np.testing.assert_allclose(d, 1 / (1 + q / p), rtol=1e-12)
  # Proposition 1: D* maximises V pointwise, so any other D gives less
  value = lambda d: float(np.sum(p * np.log(d) + q * np.log(1 - d)) * dx)
  for other in (np.clip(d + 0.05, 1e-9, 1 - 1e-9), np.full_like(d, 0.5), np.clip(d ** 1.2, 1e-9, 1)):
    assert value(other) < value(d)
  # ... and the value at D* is -log 4 + 2 JSD (Theorem 1's proof)
  assert theory.gan_value_at_optimum(p, q, dx) == pytest.approx(value(d), abs=1e-6)
  # JSD: 0 for equal densities, log 2 for disjoint ones
  assert theory.jensen_shannon(p, p, dx) == pytest.approx(0.0, abs=1e-12)
  box = lambda lo, hi: ((x >= lo) & (x < hi)).astype(float) / (hi - lo)
  assert theory.jensen_shannon(box(-3, -1), box(1, 3), dx) == pytest.approx(math.log(2), abs=1e-3)
  assert theory.gan_value_at_optimum(p, p, dx) == pytest.approx(-math.log(4), abs=1e-9)


def test_ebgan_value_and_wasserstein():
  real, fake = np.array([0.2, 0.4]), np.array([0.5, 3.0])
  assert theory.ebgan_value(real, fake, 1.0) == pytest.approx(0.3 + 0.25)
  a = np.random.default_rng(0).normal(size=1000)
  assert theory.wasserstein_1d(a, a + 0.3) == pytest.approx(0.3)


def test_a_trained_discriminator_is_proposition_1s():
  result = theory.proposition_1(seed=0, steps=600)
  # D* within 0.05 of the formula wherever the two densities give samples
  assert result["max_abs_error"] < 0.05
  assert result["inside"].sum() > 300
  # the value it reaches is C(G) = -log 4 + 2 JSD (it can only be below, up to sampling noise)
  assert abs(result["value_trained_d"] - result["value_formula"]) < 0.01


@pytest.fixture(scope="module")
def gaussian_toys():
  toy = theory.TOYS["gaussian"]()
  out = {}
  for algorithm in ("gan", "ebgan"):
    trained = theory.train_toy(jax.random.PRNGKey(0), toy, algorithm, g_steps=400,
                               snapshots=(0, 100))
    out[algorithm] = (trained, theory.flatness(toy, trained, algorithm, 1.0))
  return toy, out


def test_the_gan_discriminator_is_flat_at_one_half_on_the_gaussian(gaussian_toys):
  _, out = gaussian_toys
  trained, measured = out["gan"]
  assert [s["step"] for s in trained["snapshots"]] == [0, 100, 400]
  assert measured["w1_fake_data"] < 0.05  # p_g = p_data
  assert abs(measured["d_on_data_mean"] - 0.5) < 0.05
  assert measured["d_on_data_range"] < 0.15  # flat: 1st to 99th percentile within 0.15
  assert theory.verdicts(measured, "gan") == {"matched": True, "flat": True, "value": None}
  # before training it was not: D separated the two at the start
  first = trained["snapshots"][0]["d"]
  assert first.max() - first.min() > 0.3


def test_ebgan_reaches_theorem_1s_value_with_its_energy_in_0_m(gaussian_toys):
  toy, out = gaussian_toys
  _, measured = out["ebgan"]
  assert measured["w1_fake_data"] < 0.1  # p_G = p_data
  assert abs(measured["value"] - measured["margin"]) < 0.05  # V(D, G) = m
  real = np.asarray(toy.sample(jax.random.PRNGKey(7), 5000))
  energy = out["ebgan"][0]["discriminator"](real)
  # D in [0, m] on the data, to 10 % of m at the 99th percentile after this short training
  assert energy.min() >= 0 and np.quantile(energy, 0.99) <= 1.1


def test_the_command_writes_its_report(tmp_path, monkeypatch):
  toy = theory.TOYS["gaussian"]()
  trained = theory.train_toy(jax.random.PRNGKey(0), toy, "ebgan", g_steps=3, d_steps=2,
                             snapshots=(0,), grid_points=11)
  results = {"proposition_1": theory.proposition_1(steps=20),
             "gaussian/ebgan": {"toy": toy, "train": trained,
                                **theory.flatness(toy, trained, "ebgan", 1.0)}}
  summary = theory.write_report(results, str(tmp_path), quick=True)
  readme = (tmp_path / "README.md").read_text()
  assert f"{summary['proposition_1']['max_abs_error']:.3f}" in readme
  assert f"{summary['gaussian/ebgan']['value']:.3f}" in readme
  for picture in ("gan_optimal_d.png", "toys.png"):
    assert (tmp_path / picture).stat().st_size > 1000
