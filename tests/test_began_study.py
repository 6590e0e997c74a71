"""make began: the search runs and resumes on a tiny budget, selects by its rule, and the page
says what the diagnosis curves show."""

import copy

import pytest

from ebgan_jax import configs, rundir
from ebgan_jax.studies import began as study


@pytest.fixture
def tiny_search(monkeypatch):
  setup = copy.deepcopy(study.SEARCH)
  setup.update({"validation_seeds": [100], "budget": 8, "eval_samples": 64, "gamma": [0.5],
                "lambda_k": [0.001], "k0": [0.0, 0.1], "lr_ratio": [1],
                "forms": {"dense16": setup["forms"]["dense16"]}})
  monkeypatch.setattr(study, "SEARCH", setup)
  original = study.cell_config

  def small(cell, seed, steps=None):
    return configs.with_values(original(cell, seed, steps), **{
        "model.features_g": 4, "model.size_d": 16, "log_every": 4, "async_checkpoints": False})
  monkeypatch.setattr(study, "cell_config", small)
  return setup


def test_the_search_resumes_from_its_json_and_selects_by_its_rule(tiny_search, tmp_path):
  out, work = str(tmp_path / "out"), str(tmp_path / "work")
  assert study.search(work, out, progress=False)
  runs = rundir.load(str(tmp_path / "out" / study.SEARCH_JSON))["runs"]
  assert [(r["k0"], r["seed"], r["steps"]) for r in runs] == [(0.0, 100, 8), (0.1, 100, 8)]
  # A second call finds every run in the JSON and trains nothing.
  assert study.search(work, out, progress=False)
  assert rundir.load(str(tmp_path / "out" / study.SEARCH_JSON))["runs"] == runs
  # The rule: most classes, then the best score.
  runs[0].update(classes_covered=7, inception_score=5.0)
  runs[1].update(classes_covered=7, inception_score=6.0)
  assert study.selected(runs)["k0"] == 0.1
  runs[0].update(classes_covered=8)
  assert study.selected(runs)["k0"] == 0.0
  assert study.selected(runs[:1]) is None  # not every cell is done: nothing is selected
  rundir.write_json_atomically(str(tmp_path / "out" / study.SEARCH_JSON),
                               {"setup": tiny_search, "runs": runs})
  page = study.render(out)
  assert "**Selected: dense16_g0.5_lk0.001_k0_r1**" in page and "2 of 2 runs done" in page


def test_the_mechanism_is_read_off_the_curves():
  d = {"gamma": 0.5, "real_diversity": 9.0,
       "eval": {"step": [250, 500, 750, 1000], "classes_covered": [6, 8, 3, 1],
                "diversity": [8.0, 7.5, 3.0, 1.0]},
       "train": {"step": [250, 500, 750, 1000], "k": [0.0, 0.0, 0.002, 0.05],
                 "fake_real_ratio": [0.2, 0.3, 0.4, 0.6]}}
  text = "\n".join(study.mechanism(d))
  assert "at most 8 (update 500), 1 at the end" in text
  assert "reached at update 1,000. Up to then k_t is at most 0.0500" in text
  assert "below γ = 0.5 at 75 % of the logged updates" in text
  assert "k_t is below 0.01 at 75 % of the logged updates (last at update 750)" in text


def test_the_adopted_recipe_is_a_cell_of_the_search():
  cell = study.adopted_values()
  assert cell["form"] in study.SEARCH["forms"]
  for key in ("gamma", "lambda_k", "k0", "lr_ratio"):
    assert cell[key] in study.SEARCH[key]
