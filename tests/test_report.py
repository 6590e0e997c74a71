"""The studies' shared report code, and every results page regenerated from its committed JSON."""

import math
import os
import pathlib

import numpy as np
import pytest

from ebgan_jax.studies import report

RESULTS = pathlib.Path(__file__).resolve().parents[1] / "results"


@pytest.mark.parametrize("folder", sorted(report.PAGES))
def test_every_results_page_is_its_json_rendered(folder):
  """A page that disagrees with its JSON (edited by hand, or its JSON changed without
  rerunning the command) fails here: rerun the study's command, or its ``render``."""
  page = RESULTS / folder / "README.md"
  assert page.read_text() == report.render_page(str(RESULTS), folder), (
      f"{page} differs from what its JSON renders; regenerate it with "
      f"`python -c \"from {report.PAGES[folder]} import render; print(render('"
      f"{os.path.join('results', folder)}'), end='')\" > {os.path.join('results', folder, 'README.md')}`")


def test_every_results_folder_with_a_page_is_registered():
  pages = {str(p.parent.relative_to(RESULTS)).replace(".", "") for p in RESULTS.rglob("README.md")}
  assert pages == set(report.PAGES)


def test_mean_se_matches_numpy_with_ddof_1():
  values = [1.0, 2.0, 4.0, 7.0]
  stats = report.mean_se(values)
  assert stats.mean == pytest.approx(np.mean(values))
  assert stats.se == pytest.approx(np.std(values, ddof=1) / 2.0)
  assert (stats.n, stats.nonfinite) == (4, 0)


def test_non_finite_values_are_counted_in_the_cell_not_averaged():
  stats = report.mean_se([1.0, float("inf"), 3.0])
  assert (stats.mean, stats.n, stats.nonfinite) == (2.0, 3, 1)
  assert stats.format(".2g") == "2 ± 1 (1 of 3 not finite)"
  assert report.mean_se([float("nan")] * 2).format() == "not finite in all 2"
  one = report.mean_se([5.0, float("inf")])
  assert math.isnan(one.se) and one.format(".2g") == "5 (1 of 2 not finite)"
  assert report.mean_se([]).format() == "—"


def test_paired_differences_and_the_verdicts_interval():
  base = [3.0, 4.0, 5.0, 6.0]
  lower = [b - 1.0 + 0.1 * i for i, b in enumerate(base)]  # clearly lower, little spread
  difference = report.paired(lower, base)
  assert difference.mean == pytest.approx(np.mean(np.subtract(lower, base)))
  assert report.verdict(difference) == "lower"
  assert report.verdict(report.paired(base, lower)) == "higher"
  noisy = [b + d for b, d in zip(base, (-1.0, 1.2, -0.9, 0.8))]
  assert report.verdict(report.paired(noisy, base)) == "no difference measured at n = 4"
  assert report.verdict(report.paired([1.0], [0.0])) == "no difference measured at n = 1"
  with pytest.raises(ValueError, match="same seeds"):
    report.paired([1.0, 2.0], [1.0])


def test_table_and_page_text():
  assert report.table(["a", "b"], [[1, "x"]]) == ["| a | b |", "|---|---|", "| 1 | x |"]
  assert report.page_text(["# t", "", "body", "", ""]) == "# t\n\nbody\n"


def test_a_missing_or_damaged_json_is_one_line(tmp_path):
  with pytest.raises(ValueError, match="missing: run the study's command"):
    report.read_json(str(tmp_path), "results.json")
  (tmp_path / "results.json").write_text("{not json")
  with pytest.raises(ValueError, match="not valid JSON.*git checkout"):
    report.read_json(str(tmp_path), "results.json")


def test_seed_spec_rejects_no_seeds():
  assert report.seed_spec(2) == {"seed": ["0", "1"]}
  with pytest.raises(ValueError, match="--seeds must be at least 1"):
    report.seed_spec(0)


def test_recipes_only_replaces_its_rows_and_keeps_the_rest(tmp_path, capsys):
  import json
  import shutil
  from ebgan_jax import rundir
  from ebgan_jax.studies import recipes
  results = tmp_path / "results"
  shutil.copytree(RESULTS / "recipes", results / "recipes")
  for name in ("results.json",):
    shutil.copy(RESULTS / name, results / name)
  shutil.copytree(RESULTS / "pacgan", results / "pacgan")
  before = json.loads((results / "recipes" / "seeds.json").read_text())
  # two finished seeds of the released networks (their summaries stand for the runs)
  for seed, score in ((0, 8.0), (1, 8.25)):
    run = tmp_path / "runs" / "digits_magan_released" / f"seed{seed}"
    run.mkdir(parents=True)
    summary = {"steps": 10024, "margin": 0.5, "inception_score": score, "classes_covered": 10,
               "frechet_distance": 3.0, "precision": 0.8, "recall": 0.5, "coverage": 0.7}
    (run / rundir.SUMMARY).write_text(json.dumps(summary))
  out = str(results / "recipes")
  assert recipes.main(["--only", "digits_magan_released", "--seeds", "2", "--out", out,
                       "--workdir", str(tmp_path / "runs"), "--no_progress"]) == 0
  after = json.loads((results / "recipes" / "seeds.json").read_text())
  others = lambda rows: [r for r in rows if r["experiment"] != "digits_magan_released"]
  assert others(after) == others(before) and others(before)
  assert [(r["seed"], r["inception_score"]) for r in after
          if r["experiment"] == "digits_magan_released"] == [(0, 8.0), (1, 8.25)]
  page = (results / "recipes" / "README.md").read_text()
  assert page == recipes.render(out) and "`digits_magan_released` | 2 | 8.12 ± 0.12" in page
  with pytest.raises(SystemExit):
    recipes.main(["--only", "digits_nothing", "--out", out])
  assert "--only 'digits_nothing' is not on the page" in capsys.readouterr().err
