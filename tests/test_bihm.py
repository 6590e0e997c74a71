"""The Bidirectional Helmholtz Machine against exact enumeration on a network small enough to
sum over every configuration: the sigmoid belief networks, the likelihood estimators, the
training gradient and the Gibbs sampler."""

import itertools

import jax
import jax.flatten_util
import jax.numpy as jnp
import numpy as np
import pytest

from ebgan_jax import configs, data, losses, models, rundir, train
from ebgan_jax.algorithms import bihm

from conftest import assert_resume_is_bitwise

SHAPE, SIZES = (3,), (2, 1)


def _all(n):
  return np.array(list(itertools.product([0.0, 1.0], repeat=n)), np.float32)


@pytest.fixture(scope="module")
def tiny_bihm():
  """A random tiny BiHM (3 visible units, layers of 2 and 1) with weights large enough that
  no distribution in it is near uniform."""
  p, q = models.TopDownSBN(SHAPE, SIZES), models.BottomUpSBN(SIZES)
  scale = lambda tree: jax.tree.map(lambda a: 2.5 * a + 0.3, tree)
  g = scale(p.init(jax.random.PRNGKey(0), jnp.zeros((2, sum(SIZES))))["params"])
  g = {**g, "top": jnp.array([0.8])}
  d = scale(q.init(jax.random.PRNGKey(1), jnp.zeros((2,) + SHAPE))["params"])
  return (p, q), g, d


def _np_sigmoid(a):
  return 1.0 / (1.0 + np.exp(-a))


def _np_bern(v, logits):
  prob = _np_sigmoid(logits)
  return np.sum(np.log(np.where(v > 0, prob, 1.0 - prob)), axis=-1)


def _dense(params, name, x):
  return x @ np.asarray(params[name]["kernel"]) + np.asarray(params[name]["bias"])


def _np_log_p(g, x, h1, h2):
  top = np.broadcast_to(np.asarray(g["top"]), h2.shape)
  return (_np_bern(h2, top) + _np_bern(h1, _dense(g, "down_1", h2))
          + _np_bern(x, _dense(g, "down_0", h1)))


def _np_log_q(d, x, h1, h2):
  return _np_bern(h1, _dense(d, "up_0", x)) + _np_bern(h2, _dense(d, "up_1", h1))


def _exact(g, d):
  """Exact ``log p~*(x)`` for the 8 visible configurations, ``log Z``, and the standard error
  of a K = 1 estimate of ``log p~*(x)`` (the delta method: ``2 std(w) / E[w]``,
  ``w = sqrt(p(x, h) / q(h | x))``, ``h ~ q``; divide by ``sqrt(K)``)."""
  xs, hs = _all(3), _all(3)
  log_pt, se = [], []
  for x in xs:
    xb = np.broadcast_to(x, (8, 3))
    log_p, log_q = _np_log_p(g, xb, hs[:, :2], hs[:, 2:]), _np_log_q(d, xb, hs[:, :2], hs[:, 2:])
    mean_w = np.sum(np.exp(0.5 * (log_p + log_q)))
    log_pt.append(2.0 * np.log(mean_w))
    se.append(2.0 * np.sqrt(np.sum(np.exp(log_p)) - mean_w ** 2) / mean_w)
  log_pt = np.array(log_pt)
  return xs, log_pt, 0.5 * np.log(np.sum(np.exp(log_pt))), np.array(se)


def test_sbn_log_probs_match_numpy_and_normalise(tiny_bihm):
  (p, q), g, d = tiny_bihm
  configs_ = _all(6)
  x, h1, h2 = configs_[:, :3], configs_[:, 3:5], configs_[:, 5:]
  log_p = np.asarray(p.apply({"params": g}, [x, h1, h2], method="log_prob"))
  log_q = np.asarray(q.apply({"params": d}, [x, h1, h2], method="log_prob"))
  np.testing.assert_allclose(log_p, _np_log_p(g, x, h1, h2), rtol=1e-5, atol=1e-5)
  np.testing.assert_allclose(log_q, _np_log_q(d, x, h1, h2), rtol=1e-5, atol=1e-5)
  np.testing.assert_allclose(np.exp(log_p).sum(), 1.0, atol=1e-5)  # over (x, h)
  np.testing.assert_allclose(np.exp(log_q).reshape(8, 8).sum(1), 1.0, atol=1e-5)  # over h


def test_ancestral_samples_follow_p(tiny_bihm):
  (p, q), g, d = tiny_bihm
  configs_ = _all(6)
  p_joint = np.exp(_np_log_p(g, configs_[:, :3], configs_[:, 3:5], configs_[:, 5:]))
  p_x = p_joint.reshape(8, 8).sum(1)  # configurations are ordered x-major
  n = 40000
  x = np.asarray(p.apply({"params": g}, jax.random.PRNGKey(2), n, method="sample")[0])
  freq = np.bincount((x @ np.array([4, 2, 1])).astype(int), minlength=8) / n
  assert 0.5 * np.abs(freq - p_x).sum() < 0.015
  # The generator's noise path: uniform noise -> h by the inverse CDF -> the logits of x.
  z = jax.random.uniform(jax.random.PRNGKey(3), (n, sum(SIZES)), minval=-1.0, maxval=1.0)
  mean_x = np.asarray(jax.nn.sigmoid(p.apply({"params": g}, z))).mean(0)
  np.testing.assert_allclose(mean_x, (p_x[:, None] * _all(3)).sum(0), atol=0.01)


def test_likelihood_estimates_match_enumeration(tiny_bihm):
  networks, g, d = tiny_bihm
  xs, log_pt, log_z, se = _exact(g, d)
  assert log_z < 0  # Z <= 1, so log p* >= log p~*
  key = jax.random.PRNGKey(4)
  k = 100000
  est = bihm.log_p_tilde(networks, g, d, xs, key, num_samples=k)
  assert np.all(np.abs(est - log_pt) < 4 * se / np.sqrt(k)), (est, log_pt, se / np.sqrt(k))
  # One sample: unbiased for sqrt(p~*), so below log p~* on average (Jensen).
  one = np.mean([bihm.log_p_tilde(networks, g, d, xs, jax.random.fold_in(key, r), 1)
                 for r in range(200)], axis=0)
  assert np.all(one < log_pt - 0.05)
  # log Z: biased up for few inner samples, consistent as they grow.
  errors = [bihm.log_partition(networks, g, d, jax.random.PRNGKey(5), 20000, inner) - log_z
            for inner in (20, 200, 2000)]
  assert errors[0] > errors[1] > errors[2] > -0.01 and errors[2] < 0.02, errors
  images = xs * 2.0 - 1.0
  r = bihm.likelihood(networks, g, d, images, key=key, eval_samples=k,
                      partition_samples=20000, partition_inner_samples=2000)
  tolerance = 4 * np.sqrt(np.sum(np.square(se / np.sqrt(k)))) / len(xs) + 2 * 0.02
  assert abs(r["log_likelihood"] - np.mean(log_pt - 2 * log_z)) < tolerance
  np.testing.assert_allclose(np.exp(log_pt - 2 * log_z).sum(), 1.0, rtol=1e-6)


def test_the_per_example_check_has_the_exact_values_and_counts_crossings(tiny_bihm):
  networks, g, d = tiny_bihm
  xs, log_pt, log_z, se = _exact(g, d)
  hs = _all(3)
  log_p_x = np.array([np.log(np.sum(np.exp(_np_log_p(g, np.broadcast_to(x, (8, 3)), hs[:, :2],
                                                      hs[:, 2:])))) for x in xs])
  k = 20000
  check = bihm.per_example_check(networks, g, d, xs * 2.0 - 1.0, key=jax.random.PRNGKey(6),
                                 eval_samples=k, partition_samples=20000,
                                 partition_inner_samples=2000)
  # the delta method's standard errors are the exact ones, up to the sampling error of a std
  np.testing.assert_allclose(check["bound_se"], se / np.sqrt(k), rtol=0.1)
  assert np.all(np.abs(check["bound"] - log_pt) < 4 * check["bound_se"])
  assert np.all(np.abs(check["log_p"] - log_p_x) < 4 * check["log_p_se"])
  # log p* = log p~* - 2 log Z, with Z's small upward bias at 2,000 inner samples
  assert np.all(np.abs(check["estimate"] - (log_pt - 2 * log_z))
                < 4 * check["estimate_se"] + 2 * 0.02)
  counts = bihm.check_counts(check)
  assert counts["examples"] == 8
  assert counts["above_estimate_beyond_2se"] == counts["above_log_p_beyond_2se"] == 0
  # A crossing is counted only beyond two standard errors of the difference.
  fake = {"bound": np.zeros(3), "bound_se": np.full(3, 0.3),
          "estimate": np.array([0.5, -0.5, -1.0]), "estimate_se": np.full(3, 0.4),
          "log_p": np.array([1.0, 1.0, -0.1]), "log_p_se": np.zeros(3)}
  counts = bihm.check_counts(fake)  # two standard errors: 2 x 0.5 and 2 x 0.3
  assert (counts["below_estimate"], counts["above_estimate_beyond_2se"]) == (1, 0)
  assert (counts["below_log_p"], counts["above_log_p_beyond_2se"]) == (2, 0)
  fake["estimate"][2] = -1.01
  fake["log_p"][2] = -0.61
  counts = bihm.check_counts(fake)
  assert counts["above_estimate_beyond_2se"] == counts["above_log_p_beyond_2se"] == 1


def test_training_gradient_is_the_gradient_of_log_p_tilde(tiny_bihm):
  (p, q), g, d = tiny_bihm
  x = jnp.asarray(_all(3)[[1, 6]])  # two examples
  hs = jnp.asarray(_all(3))

  def exact(g, d):  # mean over the examples of log p~*(x), summing over every h
    layers = [jnp.broadcast_to(x[None], (8, 2, 3)), jnp.broadcast_to(hs[:, None, :2], (8, 2, 2)),
              jnp.broadcast_to(hs[:, None, 2:], (8, 2, 1))]
    s = 0.5 * (p.apply({"params": g}, layers, method="log_prob")
               + q.apply({"params": d}, layers, method="log_prob"))
    return jnp.mean(2.0 * jax.nn.logsumexp(s, axis=0))

  def surrogate(g, d, key):
    lp, lq = bihm.log_weights((p, q), g, d, x, key, 200000)
    return jnp.mean(losses.bihm_loss(lp, lq))

  want = jax.grad(exact, argnums=(0, 1))(g, d)
  got = jax.grad(surrogate, argnums=(0, 1))(g, d, jax.random.PRNGKey(6))
  w, o = jax.flatten_util.ravel_pytree(want)[0], jax.flatten_util.ravel_pytree(got)[0]
  assert float(jnp.linalg.norm(o + w) / jnp.linalg.norm(w)) < 0.03


def test_gibbs_sampler_draws_from_p_star_and_keeps_clamped_units(tiny_bihm):
  networks, g, d = tiny_bihm
  p, q = networks
  xs, log_pt, log_z, _ = _exact(g, d)
  p_star = np.exp(log_pt - 2 * log_z)  # not p(x): the sampler must find the BiHM's own model
  p_x = np.exp(_np_log_p(g, *np.split(_all(6), [3, 5], axis=1))).reshape(8, 8).sum(1)
  assert 0.5 * np.abs(p_x - p_star).sum() > 0.1
  n = 4000
  start = p.apply({"params": g}, jax.random.PRNGKey(7), n, method="sample")[0]
  x = np.asarray(bihm.gibbs_sample(networks, g, d, start, jax.random.PRNGKey(8), sweeps=30,
                                   candidates=8))
  freq = np.bincount((x @ np.array([4, 2, 1])).astype(int), minlength=8) / n
  assert 0.5 * np.abs(freq - p_star).sum() < 0.03, (freq, p_star)
  # Inpainting: x_0 clamped at 1; the rest follows p*(x_1, x_2 | x_0 = 1).
  mask = np.broadcast_to(np.array([1.0, 0.0, 0.0], np.float32), (n, 3))
  x = np.asarray(bihm.gibbs_sample(networks, g, d, start, jax.random.PRNGKey(9), sweeps=30,
                                   candidates=8, clamp=(mask, mask)))
  assert np.all(x[:, 0] == 1.0)
  freq = np.bincount((x @ np.array([4, 2, 1])).astype(int), minlength=8)[4:] / n
  cond = p_star[4:] / p_star[4:].sum()
  assert 0.5 * np.abs(freq - cond).sum() < 0.03, (freq, cond)


def test_digits_bihm_learns_and_resumes_bitwise(tmp_path):
  config = configs.with_values(configs.load_config("digits_bihm"), **{
      "num_steps": 300, "log_every": 50, "checkpoint_every": 150, "sample_every": 1000,
      "async_checkpoints": False, "bihm.eval_samples": 100, "bihm.partition_samples": 500,
      "bihm.partition_inner_samples": 20, "bihm.eval_examples": 100, "eval_samples": 100})
  summary = train.train_and_evaluate(config, str(tmp_path / "full"), progress=False)
  first = rundir.read_metrics(str(tmp_path / "full"))[0]["log_p_tilde"]
  # 64 fair coins: -44.4 nats; independent pixels fitted to the training digits: -24.2 on
  # the held-out ones.
  assert summary["log_p_tilde"] > first + 2 and summary["log_likelihood"] > -30
  assert summary["log_likelihood"] >= summary["log_likelihood_bound"] - 1e-6
  assert summary["log_z"] <= 0 and summary["eval_examples"] == 100
  assert_resume_is_bitwise(config, tmp_path / "full", tmp_path / "split", split_at=150)


@pytest.mark.parametrize("override,message", [
    ({"model.arch": "mlp"}, "model.arch=sbn"),
    ({"latent_dim": 10}, "sum(config.model.sbn_sizes) = 112"),
    ({"latent_dist": "normal"}, "latent_dist=uniform"),
    ({"data.binarize": False}, "binarize=true"),
    ({"bihm.num_samples": 0}, "bihm.num_samples must be positive"),
])
def test_bad_bihm_settings_are_one_line_errors(override, message):
  config = configs.with_values(configs.load_config("digits_bihm"), **override)
  with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")) as e:
    configs.validate(config)
  assert "\n" not in str(e.value)


def test_held_out_digits_are_fixed_disjoint_and_never_trained_on():
  train_idx, held_idx = data.digits_split(297)
  assert len(held_idx) == 297 and len(train_idx) == 1500
  assert not set(train_idx) & set(held_idx)
  np.testing.assert_array_equal(held_idx, data.digits_split(297)[1])
  config = configs.load_config("digits_bihm")
  dataset = data.make_dataset(config.data, batch_size=100, seed=3)
  images, _ = data.load_digits()
  binary = np.where(images > 0, 1.0, -1.0)
  assert dataset.num_examples == 1500
  np.testing.assert_array_equal(dataset.examples(np.arange(1500)), binary[train_idx])
  np.testing.assert_array_equal(data.heldout_examples(config.data), binary[held_idx])
  assert data.heldout_examples(configs.load_config("digits_ebgan_pt").data) is None
