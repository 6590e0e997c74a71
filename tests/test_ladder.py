"""The Ladder Network against a NumPy reference, the labelled examples, the margin schedule, and
short LN and EBGAN-LN runs."""

import jax
import numpy as np
import pytest

from ebgan_jax import configs, data, evaluate, models, rundir, train, trained
from ebgan_jax.algorithms import ladder

from conftest import assert_resume_is_bitwise


def _np_ladder(params, x):
  """The Ladder Network without noise (so both encoders are the clean one), in NumPy."""
  eps = 1e-5
  norm = lambda z, m, v: (z - m) / np.sqrt(v + eps)
  sizes = [params[f"beta_{l}"].shape[0] for l in range(1, 100) if f"beta_{l}" in params]
  h = (x.reshape(len(x), -1) + 1) / 2
  zs, stats = [h], []
  for l in range(1, len(sizes) + 1):
    pre = h @ params[f"encoder_{l}"]["kernel"]
    m, v = pre.mean(0), pre.var(0)
    z = norm(pre, m, v)
    zs.append(z)
    stats.append((m, v))
    h = np.maximum(z + params[f"beta_{l}"], 0) if l < len(sizes) else params["gamma"] * (
        z + params[f"beta_{l}"])
  logits = h
  sigmoid = lambda a: 1 / (1 + np.exp(-a))
  costs, z_hat = [None] * (len(sizes) + 1), None
  for l in reversed(range(len(sizes) + 1)):
    if l == len(sizes):
      e = np.exp(logits - logits.max(1, keepdims=True))
      u = e / e.sum(1, keepdims=True)
    else:
      u = z_hat @ params[f"decoder_{l}"]["kernel"]
    u = norm(u, u.mean(0), u.var(0))
    a = params[f"combinator_{l}"]["a"]
    mu = a[0] * sigmoid(a[1] * u + a[2]) + a[3] * u + a[4]
    v = a[5] * sigmoid(a[6] * u + a[7]) + a[8] * u + a[9]
    z_hat = (zs[l] - mu) * v + mu
    target = z_hat if l == 0 else norm(z_hat, *stats[l - 1])
    costs[l] = np.mean((zs[l] - target) ** 2, axis=1)
  return logits, np.stack(costs, 1)


def test_ladder_costs_match_numpy_and_the_noise_reaches_only_the_corrupted_path():
  net = models.LadderNetwork((6, 5, 3), noise_std=0.0)
  x = np.asarray(jax.random.uniform(jax.random.PRNGKey(0), (16, 4, 2), minval=-1, maxval=1))
  variables = net.init(jax.random.PRNGKey(1), x, train=False)
  # Combinator parameters away from their initial values, so every term is exercised.
  params = jax.tree.map(lambda a: a + 0.3 * jax.random.normal(jax.random.PRNGKey(2), a.shape),
                        variables["params"])
  (noisy, clean, costs), _ = net.apply({"params": params, "batch_stats": variables["batch_stats"]},
                                       x, train=True, mutable=["batch_stats"],
                                       rngs={"dropout": jax.random.PRNGKey(3)})
  ref_logits, ref_costs = _np_ladder(jax.tree.map(np.asarray, params), x)
  np.testing.assert_allclose(clean, ref_logits, rtol=1e-4, atol=1e-5)
  np.testing.assert_allclose(noisy, ref_logits, rtol=1e-4, atol=1e-5)
  np.testing.assert_allclose(costs, ref_costs, rtol=1e-4, atol=1e-6)
  noisy_net = models.LadderNetwork((6, 5, 3), noise_std=0.3)
  (noisy, clean2, costs2), _ = noisy_net.apply(
      {"params": params, "batch_stats": variables["batch_stats"]}, x, train=True,
      mutable=["batch_stats"], rngs={"dropout": jax.random.PRNGKey(3)})
  np.testing.assert_allclose(clean2, ref_logits, rtol=1e-4, atol=1e-5)
  assert np.max(np.abs(np.asarray(noisy) - ref_logits)) > 1e-2
  np.testing.assert_allclose(ladder.ladder_energy(costs, (2.0,)), 2.0 * ref_costs[:, 0], rtol=1e-4)
  np.testing.assert_allclose(ladder.ladder_energy(costs, (1.0, 0.0, 3.0)),
                             ref_costs[:, 0] + 3.0 * ref_costs[:, 2], rtol=1e-4)


def test_labelled_examples_are_balanced_drawn_by_the_seed_and_never_held_out():
  cfg = configs.load_config("digits_ln").data
  images, labels = data.load_digits()
  held = set(data.digits_split(297)[1].tolist())
  x0, y0 = data.labelled_subset(cfg, 50, seed=0)
  x1, _ = data.labelled_subset(cfg, 50, seed=1)
  assert np.bincount(y0, minlength=10).tolist() == [5] * 10
  np.testing.assert_array_equal(x0, data.labelled_subset(cfg, 50, seed=0)[0])
  assert not np.array_equal(x0, x1)
  # Every labelled digit is a training digit with that label.
  train_idx = data.digits_split(297)[0]
  for xi, yi in zip(x0, y0):
    match = [i for i in train_idx if np.array_equal(images[i], xi)]
    assert match and labels[match[0]] == yi and not held & set(match)
  with pytest.raises(ValueError, match="multiple of 10"):
    data.labelled_subset(cfg, 55, seed=0)


def _tiny(name, **overrides):
  return configs.with_values(configs.load_config(name), **{
      "model.ladder_sizes": (32, 16, 10), "num_steps": 300, "log_every": 100,
      "checkpoint_every": 100, "sample_every": 1000, "async_checkpoints": False,
      "eval_samples": 100, **overrides})


def test_a_short_ln_run_beats_chance_by_far(tmp_path):
  summary = train.train_and_evaluate(_tiny("digits_ln"), str(tmp_path), progress=False)
  assert summary["labels"] == 100 and summary["test_examples"] == 297
  assert summary["test_error"] < 30.0  # chance: 90 %
  assert not (tmp_path / "samples_final.png").exists()  # a classifier draws no samples
  # make eval measures the same, and no sample protocol.
  (row,) = evaluate.evaluate_run(str(tmp_path))
  assert row["test_error"] == summary["test_error"] and "inception_score" not in row


def _decaying_ebgan_ln():
  return _tiny("digits_ebgan_ln", num_steps=40, log_every=10, checkpoint_every=20,
               **{"ln.margin": 8.0, "ln.margin_decay_steps": 40, "model.size_g": 32})


def test_ebgan_ln_margin_decays_to_zero(tmp_path):
  config = _decaying_ebgan_ln()
  train.train_and_evaluate(config, str(tmp_path / "full"), progress=False)
  run = trained.load(str(tmp_path / "full"))
  assert float(run.state.controller["margin"]) == 0.0
  rows = [r for r in rundir.read_metrics(str(tmp_path / "full")) if "images_per_sec" in r]
  # The margin logged at step s is the one used at step s: 8 (1 - (s - 1) / 40).
  np.testing.assert_allclose([r["margin"] for r in rows], [8 * (1 - (s - 1) / 40)
                                                           for s in (10, 20, 30, 40)], rtol=1e-6)


@pytest.mark.slow  # resuming bitwise is checked fast for the other algorithms (test_checkpoint,
# test_began, test_bihm)
def test_ebgan_ln_resumes_bitwise(tmp_path):
  config = _decaying_ebgan_ln()
  train.train_and_evaluate(config, str(tmp_path / "full"), progress=False)
  assert_resume_is_bitwise(config, tmp_path / "full", tmp_path / "split", split_at=20)


@pytest.mark.parametrize("override,message", [
    ({"ln.labels": 55}, "multiple of 10"),
    ({"ln.cost_weights": (1.0, -1.0)}, "cost_weights"),
    ({"model.ladder_sizes": (32, 16, 8)}, "end with 10"),
    ({"data.name": "ring", "data.holdout": 0}, "need labels"),
    ({"data.name": "ring"}, "holdout=0 for 'ring' \\(no held-out set\\)"),
])
def test_bad_ln_settings_are_one_line_errors(override, message):
  config = configs.with_values(configs.load_config("digits_ebgan_ln"), **override)
  with pytest.raises(ValueError, match=message) as e:
    configs.validate(config)
  assert "\n" not in str(e.value)
