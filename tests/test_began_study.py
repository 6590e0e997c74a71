"""make began: the search runs and resumes on a tiny budget, selects by its rule, and the page
says what the diagnosis curves show."""

import copy
import pathlib

import pytest

from ebgan_jax import configs, rundir
from ebgan_jax.studies import began as study

REPO = pathlib.Path(__file__).resolve().parent.parent


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
  d = {"gamma": 0.5, "real_diversity": 6.0,
       "eval": {"step": [250, 500, 750, 1000], "classes_covered": [6, 8, 3, 1],
                "diversity": [0.8, 3.0, 2.0, 1.0]},
       "train": {"step": [250, 500, 750, 1000], "k": [0.0, 0.0, 0.002, 0.05],
                 "fake_real_ratio": [0.2, 0.3, 0.52, 0.48]}}
  text = "\n".join(study.mechanism(d))
  assert "at most 8 (update 500), 1 at the end" in text
  assert "at most 3.00 (update 500) and 1.00 at the end, against 6.00" in text
  assert "guesses on near-identical images (diversity 0.80)" in text
  assert "fall to 2 classes or fewer at update 1,000" in text
  assert "median 0.480 against γ = 0.5 (median distance 4 % of γ)" in text
  assert "**Mechanism.** The controller does its job" in text
  d["train"]["fake_real_ratio"] = [0.2, 0.3, 0.9, 0.95]  # the balance is not held
  assert "does not hold the balance" in "\n".join(study.mechanism(d))


def test_the_adopted_recipe_is_a_cell_of_the_search_exactly():
  cell = study.adopted_values()
  assert cell["form"] in study.SEARCH["forms"]
  for key in ("gamma", "lambda_k", "k0", "lr_ratio"):
    assert cell[key] in study.SEARCH[key]
  # ... the one the rule selected from the committed search,
  runs = rundir.load(str(REPO / "results" / "began" / study.SEARCH_JSON))["runs"]
  choice = study.selected(runs)
  assert choice is not None and {k: choice[k] for k in cell} == cell
  # and digits_began is that cell's config, but for the budget the search cut.
  adopted = configs.flatten(configs.load_config("digits_began").to_dict())
  searched = configs.flatten(study.cell_config(cell, seed=0).to_dict())
  assert {k for k in adopted if adopted[k] != searched[k]} == {"name"}


def test_the_held_out_target_is_checked_on_every_seed(tmp_path):
  out = tmp_path / "began"
  out.mkdir()
  row = lambda seed, classes, score: {"seed": seed, "steps": 20000, "classes_covered": classes,
                                      "inception_score": score, "frechet_distance": 3.0,
                                      "precision": 0.5, "recall": 0.5, "diversity": 5.0}
  cell = {"form": "dense16", "gamma": 0.75, "lambda_k": 0.01, "k0": 0.1, "lr_ratio": 5}
  rundir.write_json_atomically(str(out / study.HELDOUT_JSON), {
      "experiment": "digits_began", "config": cell,
      "rows": [row(0, 10, 7.0), row(1, 10, 5.9), row(2, 10, 8.0)]})
  page = study.render(str(out))
  assert "**Target (all 10 classes and a score of at least 6.0 on each held-out seed): " \
         "missed** (2 of 3 seeds)" in page
  assert "| mean (n = 3) | 10 ± 0 | 6.97 ± 0.61 |" in page
