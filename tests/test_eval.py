"""Evaluation metrics on inputs with a known answer."""

import json

import numpy as np
import pytest

from ebgan_jax import data, evaluators as evaluation


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


def prdc_reference(real, fake, pr_k, dc_k):
  """Precision, recall, density and coverage from the full distance matrices, as the papers
  write them (Kynkäänniemi et al. 2019; Naeem et al. 2020)."""
  dist = lambda a, b: np.sqrt(((a[:, None, :] - b[None, :, :]) ** 2).sum(-1))
  d_rf = dist(real, fake)
  radius = lambda x, k: np.sort(dist(x, x), axis=1)[:, k]  # the point itself is the 0-th
  r_pr, f_pr, r_dc = radius(real, pr_k), radius(fake, pr_k), radius(real, dc_k)
  return {"precision": np.mean([any(d_rf[i, j] <= r_pr[i] for i in range(len(real)))
                                for j in range(len(fake))]),
          "recall": np.mean([any(d_rf[i, j] <= f_pr[j] for j in range(len(fake)))
                             for i in range(len(real))]),
          "density": sum(d_rf[i, j] <= r_dc[i] for i in range(len(real))
                         for j in range(len(fake))) / (dc_k * len(fake)),
          "coverage": np.mean(d_rf.min(axis=1) <= r_dc)}


@pytest.mark.parametrize("pr_k,dc_k,rows", [(3, 5, 1024), (1, 2, 7), (4, 4, 16)])
def test_prdc_matches_the_definitions(monkeypatch, pr_k, dc_k, rows):
  monkeypatch.setattr("ebgan_jax.evaluators.neighbours._PRDC_ROWS", rows)  # several blocks, a padded last one
  rng = np.random.default_rng(pr_k)
  real, fake = rng.normal(size=(61, 4)), rng.normal(0.4, 1.3, size=(45, 4))
  got = evaluation.prdc(real, fake, pr_k=pr_k, dc_k=dc_k)
  expected = prdc_reference(real, fake, pr_k, dc_k)
  for key, value in expected.items():
    np.testing.assert_allclose(got[key], value, rtol=1e-6, err_msg=key)
  assert 0 < got["precision"] < 1 and 0 < got["recall"] < 1 and 0 < got["coverage"] < 1
  assert got["precision_recall_k"] == pr_k and got["density_coverage_k"] == dc_k
  assert (got["prdc_real_samples"], got["prdc_fake_samples"]) == (61, 45)
  assert evaluation.precision_recall(real, fake, k=pr_k).items() <= got.items()
  assert evaluation.density_coverage(real, fake, k=dc_k).items() <= got.items()


def test_prdc_limits():
  rng = np.random.default_rng(0)
  real = rng.normal(size=(200, 8))
  same = evaluation.prdc(real, real)
  assert same["precision"] == same["recall"] == same["coverage"] == 1.0
  # each point lies in its own ball and in those of the k points it is nearest neighbour of
  np.testing.assert_allclose(same["density"], 6 / 5)
  far = evaluation.prdc(real, real + 100.0)
  assert far["precision"] == far["recall"] == far["density"] == far["coverage"] == 0.0


def test_dropping_half_the_modes_keeps_precision_and_halves_recall_and_coverage():
  ring = data.ring_mixture()
  rng = np.random.default_rng(1)
  real = ring.sample(rng, 4000)
  fake = ring.sample(rng, 4000)
  half = fake[np.argmin(np.linalg.norm(fake[:, None] - ring.modes[None], axis=-1), axis=1) < 4]
  full, dropped = evaluation.prdc(real, fake), evaluation.prdc(real, half)
  assert full["precision"] > 0.95 and full["recall"] > 0.95 and full["coverage"] > 0.95
  assert dropped["precision"] > 0.95
  for key in ("recall", "coverage"):
    assert abs(dropped[key] - 0.5) < 0.05, (key, dropped[key])


def test_prdc_bad_input_is_one_line():
  x = np.zeros((10, 3))
  with pytest.raises(ValueError, match=r"same d, got \(10, 3\) and \(10, 2\)"):
    evaluation.prdc(x, np.zeros((10, 2)))
  with pytest.raises(ValueError, match="k=5 needs 1 <= k < the size of each set"):
    evaluation.density_coverage(x, np.zeros((5, 3)), k=5)


def test_mixture_scores_add_prdc_to_the_mode_counts():
  ring = data.ring_mixture()
  samples = ring.sample(np.random.default_rng(5), 2500)
  scores = evaluation.mixture_scores(samples, ring)
  assert scores["modes_covered"] == 8 and scores["high_quality"] > 0.98  # 1 - exp(-4.5) in 2-D
  assert scores["recall"] > 0.95 and scores["coverage"] > 0.95
  assert scores["prdc_real_samples"] == scores["prdc_fake_samples"] == 2500


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
  assert real["precision"] == real["recall"] == real["coverage"] == 1.0  # the reference itself
  assert one["recall"] < 0.05 and one["coverage"] < 0.05
  # cached on disk: a second call reads the same parameters instead of training again
  assert list(tmp_path.glob("digits_classifier_v*.npz"))
  again = evaluation.digits_classifier(str(tmp_path))
  assert again.accuracy == classifier.accuracy
  for name, value in classifier.params.items():
    np.testing.assert_array_equal(again.params[name], value)


def test_stacked_digits_modes():
  classifier = evaluation.digits_classifier()
  ds = data.StackedDigitsDataset(batch_size=26000, seed=0)
  real = evaluation.stacked_mode_stats(ds.batch(0), classifier)
  assert real["modes_covered"] > 990 and real["kl_to_uniform"] < 0.1
  # Fresh real triples against the fixed reference. For two samples of one distribution,
  # N = M, Naeem et al. (2020, §3.2) give E[density] = 1 and E[coverage] = 1 - 2^-k; k-NN
  # precision and recall stay below 1 in 384 dimensions at this sample size.
  assert abs(real["density"] - 1) < 0.05 and abs(real["coverage"] - (1 - 2 ** -5)) < 0.015
  assert real["precision"] > 0.85 and real["recall"] > 0.85
  assert real["prdc_fake_samples"] == real["prdc_real_samples"] == evaluation.STACKED_PRDC_SAMPLES
  one = evaluation.stacked_mode_stats(np.repeat(ds.batch(1)[:1], 100, 0), classifier)
  assert one["modes_covered"] == 1 and abs(one["kl_to_uniform"] - np.log(1000)) < 1e-9
  assert one["recall"] < 0.01 and one["coverage"] < 0.05 and one["prdc_fake_samples"] == 100


def test_runs_are_evaluated_and_make_eval_agrees(tmp_path, capsys):
  from ebgan_jax import configs, evaluate, train
  config = configs.load_config("digits_ebgan_pt")
  with config.unlocked():
    config.num_steps, config.eval_every, config.log_every, config.eval_samples = 20, 10, 10, 500
    config.model.size_g, config.model.size_d = 64, 32
  summary = train.train_and_evaluate(config, str(tmp_path), progress=False)
  assert {"ebgan_score", "inception_score", "classes_covered", "frechet_distance", "precision",
          "recall", "density", "coverage", "precision_recall_k", "density_coverage_k"} <= set(summary)
  logged = [r for r in (json.loads(l) for l in open(tmp_path / "metrics.jsonl"))
            if "frechet_distance" in r]
  # every eval_every steps, and the final evaluation (the summary's) beside the last step
  assert [r["step"] for r in logged] == [10, 20]
  assert logged[-1]["frechet_distance"] == summary["frechet_distance"]
  assert evaluate.main(["--workdir", str(tmp_path)]) == 0
  row = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
  assert row["step"] == 20 and row["classes_covered"] == summary["classes_covered"]
  np.testing.assert_allclose(row["frechet_distance"], summary["frechet_distance"], rtol=1e-6)
  assert row["coverage"] == summary["coverage"] and row["prdc_fake_samples"] == 500
