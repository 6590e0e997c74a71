"""The EBGAN paper's grid search: the grid, the subset every family shares, per-network
optimizers, programs shared by traced values, resuming, and the report."""

import json

import jax
import numpy as np
import optax
import pytest

from ebgan_jax import configs, step as step_lib
from ebgan_jax.studies import grid_search, report

TINY_GRID = {"model.n_layers_g": (2,), "model.size_g": (16,), "model.n_layers_d": (2,),
             "model.size_d": (8, 16), "model.dropout_d": (0.0,)}
TINY_GAN_GRID = {"optimizer.name_d": ("adam",), "optimizer.name_g": ("sgd",), "lr": (0.01, 0.001)}


def tiny_base():
  return configs.with_values(configs.load_config("digits_grid_search"), **{
      "num_steps": 6, "batch_size": 16, "log_every": 3, "eval_samples": 200,
      "steps_per_dispatch": 3})


def test_the_grid_is_the_papers_table_1():
  assert len(grid_search.settings("EBGAN", None)) == 512
  assert len(grid_search.settings("EBGAN-PT", None)) == 512
  gan = grid_search.settings("GAN", None)
  assert len(gan) == 6144 and len({grid_search.label(s) for s in gan}) == 6144
  assert {s["lr"] for s in gan} == {0.01, 0.001, 0.0001}
  assert {(s["optimizer.name_d"], s["optimizer.name_g"]) for s in gan} == {
      ("adam", "adam"), ("adam", "sgd"), ("sgd", "adam"), ("sgd", "sgd")}


def test_a_subset_is_the_same_networks_for_every_family_and_fixed():
  ebgan = grid_search.settings("EBGAN", 64)
  assert len({grid_search.label(s) for s in ebgan}) == 64
  assert ebgan == grid_search.settings("EBGAN-PT", 64) == grid_search.settings("EBGAN", 64)
  gan = grid_search.settings("GAN", 64)
  network_keys = list(grid_search.GRID)
  assert [{k: s[k] for k in network_keys} for s in gan] == ebgan
  assert all(s in grid_search.settings("GAN", None) for s in gan[:5])
  # the controlled comparison: GAN on EBGAN's networks and optimizer (Adam 1e-3 on both)
  assert grid_search.settings("GAN-Adam", 64) == ebgan
  for family in ("GAN-Adam", "EBGAN"):
    config = grid_search.member_config(configs.load_config("digits_grid_search"), family, ebgan[0])
    assert (config.optimizer.name, config.optimizer.name_g, config.optimizer.name_d,
            config.optimizer.lr_g, config.optimizer.lr_d) == ("adam", "", "", 1e-3, 1e-3)
  assert grid_search.member_config(configs.load_config("digits_grid_search"), "GAN-Adam",
                                   ebgan[0]).algorithm == "gan"
  # a smaller subset is a draw of its own, but from the same grid
  assert all(s in grid_search.settings("EBGAN", None) for s in grid_search.settings("EBGAN", 3))
  with pytest.raises(ValueError, match="--subset must be between 1 and 512"):
    grid_search.settings("GAN", 0)


def test_each_network_takes_its_own_optimizer():
  config = configs.with_values(tiny_base(), **{"algorithm": "gan", "model.size_g": 16,
                                               "model.size_d": 8, "optimizer.name_d": "sgd",
                                               "optimizer.name_g": "adam"})
  g, d = step_lib.build_models(config, (8, 8, 1))
  state = step_lib.create_state(config, g, d, (8, 8, 1))
  kinds = lambda opt_state: {type(s).__name__ for s in jax.tree.leaves(
      opt_state, is_leaf=lambda x: isinstance(x, (optax.ScaleByAdamState,)))}
  assert "ScaleByAdamState" in kinds(state.g.opt_state)
  assert "ScaleByAdamState" not in kinds(state.d.opt_state)
  with pytest.raises(ValueError, match="optimizer.name_d must be"):
    configs.validate(configs.with_values(config, **{"optimizer.name_d": "rmsprop"}))


def test_the_search_trains_shares_programs_resumes_and_reports(tmp_path, monkeypatch):
  base = tiny_base()
  work, out = str(tmp_path / "work"), str(tmp_path / "out")
  rows = grid_search.run(base, ["GAN", "EBGAN"], None, work, grid=TINY_GRID,
                         gan_grid=TINY_GAN_GRID, progress=False)
  assert [r["family"] for r in rows] == ["GAN"] * 4 + ["EBGAN"] * 2
  # the two learning rates of one network share a program (one workdir, two members)
  gan_dirs = [r["workdir"] for r in rows if r["family"] == "GAN"]
  assert len(set(gan_dirs)) == 2 and gan_dirs[0] == gan_dirs[1]
  assert all(np.isfinite(r["ebgan_score"]) and r["classes_covered"] >= 1 for r in rows)
  # no checkpoints left behind; 64 samples kept per setting
  assert not list((tmp_path / "work").glob("*/*/checkpoints"))
  assert len(list((tmp_path / "work").glob("*/*/grid_search.json"))) == 4
  samples = np.load(f"{rows[0]['workdir']}/samples.npy")
  assert samples.shape == (2, grid_search.PICTURE_SAMPLES, 8, 8, 1)

  # resuming a finished search trains nothing and gives the same rows
  def refuse(*args, **kwargs):
    raise AssertionError("a finished setting was trained again")
  monkeypatch.setattr("ebgan_jax.train.train_and_evaluate", refuse)
  assert grid_search.run(base, ["GAN", "EBGAN"], None, work, grid=TINY_GRID,
                         gan_grid=TINY_GAN_GRID, progress=False) == rows

  grid_search.write_report(rows, out, None, base)
  table = {t["family"]: t for t in grid_search.family_table(rows)}
  for family, t in table.items():
    scores = np.array([r["ebgan_score"] for r in rows if r["family"] == family])
    assert t["good"] == np.mean((scores >= grid_search.GOOD_SCORE))
    assert t["good_at"] == {f"{x:g}": np.mean(scores >= x) for x in grid_search.THRESHOLDS}
    assert t["best_score"] == scores.max() and t["median_score"] == np.median(scores)
    np.testing.assert_allclose(t["quartiles"], np.percentile(scores, [0, 25, 50, 75, 100]))
  readme = open(f"{out}/README.md").read()
  good = " | ".join(f"{100 * table['GAN']['good_at'][f'{x:g}']:.0f} %"
                    for x in grid_search.THRESHOLDS)
  assert f"| GAN | {grid_search.FAMILY_NOTES['GAN']} | 4 | {good} |" in readme
  # EBGAN against GAN on the same networks: the mean of the paired differences, from NumPy
  gan = {grid_search.network(r): r["ebgan_score"] for r in rows if r["family"] == "GAN"}
  diffs = [r["ebgan_score"] - gan[grid_search.network(r)] for r in rows if r["family"] == "EBGAN"]
  difference, wins, n = grid_search.paired_scores(rows, "EBGAN", "GAN")
  assert n == len(diffs) == 2 and wins == sum(d > 0 for d in diffs)
  np.testing.assert_allclose([difference.mean, difference.se],
                             [np.mean(diffs), np.std(diffs, ddof=1) / np.sqrt(len(diffs))])
  assert f"- EBGAN against GAN: {report.verdict(difference)}" in readme
  assert f"{table['EBGAN']['median_score']:.2f}" in readme
  assert json.load(open(f"{out}/results.json")) == rows
  for picture in ("histograms.png", "best_samples.png"):
    assert (tmp_path / "out" / picture).stat().st_size > 1000


def test_a_skipped_update_makes_a_setting_unstable_not_good():
  row = {"ebgan_score": 12.0, "skipped_steps": 0.0}
  assert grid_search.is_good(row)
  assert not grid_search.is_good({**row, "skipped_steps": 3.0})
  assert not grid_search.is_good({**row, "ebgan_score": 9.0})
  assert not grid_search.is_good({**row, "ebgan_score": float("nan")})


@pytest.mark.parametrize("args, message", [
    (["--families", "GAN,WGAN"], "unknown families ['WGAN']"),
    (["--subset", "many"], "--subset must be a number of settings or 'all'"),
    (["--subset", "0"], "--subset must be between 1 and 512"),
])
def test_bad_input_is_one_line(args, message, tmp_path, capsys):
  rc = grid_search.main(args + ["--workdir", str(tmp_path / "w"), "--out", str(tmp_path / "o"),
                                "--no_progress"])
  err = capsys.readouterr().err.strip()
  assert rc == 2 and message in err and len(err.splitlines()) == 1
  assert not (tmp_path / "o").exists()


def test_the_mnist_search_scores_its_samples_on_mock_data(tmp_path):
  import tensorflow_datasets as tfds
  base = configs.with_values(configs.load_config("mnist_grid_search"), **{
      "num_steps": 2, "batch_size": 4, "log_every": 1, "eval_samples": 16,
      "steps_per_dispatch": 1, "data.data_dir": str(tmp_path)})
  grid = {**TINY_GRID, "model.size_d": (8,)}
  with tfds.testing.mock_data(num_examples=8):
    rows = grid_search.run(base, ["EBGAN"], None, str(tmp_path / "work"), grid=grid,
                           progress=False)
  # MNIST has no digits protocol in the runner: I' comes from the search's own samples
  assert len(rows) == 1 and np.isfinite(rows[0]["ebgan_score"])
  assert 1 <= rows[0]["classes_covered"] <= 10
  samples = np.load(f"{rows[0]['workdir']}/samples.npy")
  assert samples.shape == (1, grid_search.PICTURE_SAMPLES, 28, 28, 1)
