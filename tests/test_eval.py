"""Evaluation metrics on inputs with a known answer."""

import json

import numpy as np

from ebgan_jax import data, eval as evaluation


def test_samples_on_every_mode_cover_all():
  ring = data.ring_mixture()
  samples = np.repeat(ring.modes, 10, axis=0)
  stats = evaluation.mixture_mode_stats(samples, ring.modes, ring.std)
  assert stats == {"modes_covered": 8, "high_quality": 1.0, "reverse_kl": 0.0}


def test_one_mode_and_far_samples():
  grid = data.grid_mixture()
  samples = np.concatenate([np.tile(grid.modes[3], (30, 1)), np.full((10, 2), 1.0)])
  stats = evaluation.mixture_mode_stats(samples, grid.modes, grid.std)
  assert stats["modes_covered"] == 1
  assert stats["high_quality"] == 0.75
  np.testing.assert_allclose(stats["reverse_kl"], np.log(25))
  none = evaluation.mixture_mode_stats(np.full((5, 2), 1.0), grid.modes, grid.std)
  assert none["modes_covered"] == 0 and none["reverse_kl"] == float("inf")


def test_frechet_distance_matches_scipy_sqrtm():
  from scipy import linalg
  rng = np.random.default_rng(0)
  a, b = rng.normal(size=(6, 6)), rng.normal(size=(6, 6))
  s1, s2 = a @ a.T + 0.1 * np.eye(6), b @ b.T + 0.1 * np.eye(6)
  mu1, mu2 = rng.normal(size=6), rng.normal(size=6)
  covmean = linalg.sqrtm(s1 @ s2).real
  expected = np.sum((mu1 - mu2) ** 2) + np.trace(s1 + s2 - 2 * covmean)
  np.testing.assert_allclose(evaluation.frechet_distance(mu1, s1, mu2, s2), expected, rtol=1e-6)
  assert abs(evaluation.frechet_distance(mu1, s1, mu1, s1)) < 1e-9
  # two 1-D Gaussians: (m1 - m2)^2 + (s1 - s2)^2
  np.testing.assert_allclose(evaluation.frechet_distance([0.0], [[4.0]], [1.0], [[1.0]]), 2.0)


def test_kid_matches_a_direct_computation():
  rng = np.random.default_rng(1)
  x, y = rng.normal(size=(40, 3)), rng.normal(0.5, 1.0, size=(30, 3))
  k = lambda a, b: (a @ b.T / 3 + 1) ** 3
  m = 30
  # one subset of everything when subset_size covers both (x subsampled to 30 rows)
  mean, _ = evaluation.kernel_inception_distance(x, y, subsets=1, subset_size=m, seed=3)
  rng3 = np.random.default_rng(3)
  xs = x[rng3.choice(40, m, replace=False)]
  ys = y[rng3.choice(30, m, replace=False)]
  kxx, kyy, kxy = k(xs, xs), k(ys, ys), k(xs, ys)
  direct = sum(kxx[i, j] + kyy[i, j] for i in range(m) for j in range(m) if i != j) / (m * (m - 1)) \
      - 2 * kxy.mean()
  np.testing.assert_allclose(mean, direct, rtol=1e-9)
  # unbiased: two samples of one distribution score near 0, unlike two distributions
  a, b = rng.normal(size=(2, 500, 3))
  same, _ = evaluation.kernel_inception_distance(a, b, subsets=5, subset_size=500)
  different, _ = evaluation.kernel_inception_distance(a, b + 1.0, subsets=5, subset_size=500)
  assert abs(same) < 0.05 * different


def test_real_digits_score_near_the_classifier_ceiling(tmp_path):
  classifier = evaluation.digits_classifier(str(tmp_path))
  assert classifier.accuracy > 0.95
  images, labels = data.load_digits()
  real = evaluation.digit_scores(images, classifier)
  assert real["classes_covered"] == 10 and real["inception_score"] > 9.0
  assert real["frechet_distance"] < 1e-6  # the same feature set as the reference
  one = evaluation.digit_scores(np.repeat(images[:1], 500, 0), classifier)
  assert one["classes_covered"] == 1 and one["inception_score"] < 1.01
  assert one["ebgan_score"] < 1e-3 < real["ebgan_score"]
  assert one["frechet_distance"] > 10
  # cached: a second call reads the same parameters
  evaluation._CLASSIFIER = None
  again = evaluation.digits_classifier(str(tmp_path))
  assert again.accuracy == classifier.accuracy


def test_stacked_digits_modes():
  classifier = evaluation.digits_classifier()
  ds = data.StackedDigitsDataset(batch_size=26000, seed=0)
  real = evaluation.stacked_mode_stats(ds.batch(0), classifier)
  assert real["modes_covered"] > 990 and real["kl_to_uniform"] < 0.1
  one = evaluation.stacked_mode_stats(np.repeat(ds.batch(1)[:1], 100, 0), classifier)
  assert one["modes_covered"] == 1 and abs(one["kl_to_uniform"] - np.log(1000)) < 1e-9


def test_runs_are_evaluated_and_make_eval_agrees(tmp_path, capsys):
  from ebgan_jax import configs, evaluate, train
  config = configs.load_config("digits_ebgan_pt")
  with config.unlocked():
    config.num_steps, config.eval_every, config.log_every, config.eval_samples = 20, 10, 10, 500
    config.model.size_g, config.model.size_d = 64, 32
  summary = train.train_and_evaluate(config, str(tmp_path), progress=False)
  assert {"ebgan_score", "inception_score", "classes_covered", "frechet_distance"} <= set(summary)
  logged = [r for r in (json.loads(l) for l in open(tmp_path / "metrics.jsonl"))
            if "frechet_distance" in r]
  assert [r["step"] for r in logged] == [10]  # every eval_every steps; the end is in summary
  assert evaluate.main(["--workdir", str(tmp_path)]) == 0
  row = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
  assert row["step"] == 20 and row["classes_covered"] == summary["classes_covered"]
  np.testing.assert_allclose(row["frechet_distance"], summary["frechet_distance"], rtol=1e-6)
