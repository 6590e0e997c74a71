"""``make semi-supervised`` on a tiny budget: the table beside Table 2, per-seed labelled sets."""

import json

import pytest

from ebgan_jax.studies import semisupervised


@pytest.mark.slow  # the page itself is checked from its JSON by test_report
def test_the_table_holds_both_models_beside_the_paper(tmp_path, capsys):
  args = ["--seeds", "2", "--scale", "0.02", "--labels", "100", "--workdir", str(tmp_path / "runs"),
          "--out", str(tmp_path / "out")]
  assert semisupervised.main(args) == 0
  rows = json.loads((tmp_path / "out" / "semisupervised.json").read_text())
  assert [(r["model"], r["labels"], r["steps"]) for r in rows] == [
      ("LN (bottom-layer cost)", 100, 120), ("EBGAN-LN", 100, 120)]
  for r in rows:
    assert len(r["test_errors"]) == 2 and all(0 <= e < 60 for e in r["test_errors"])
  readme = (tmp_path / "out" / "README.md").read_text()
  assert "| EBGAN-LN | 100 | 120 |" in readme and "1.04 ± 0.12" in readme
  assert "With 100 labels, EBGAN-LN's test error minus the baseline's, paired by seed" in readme
  assert "n = 2" in readme and "standard error over seeds (ddof = 1)" in readme
  capsys.readouterr()
  assert semisupervised.main(args) == 0  # resumes: nothing left to train
  assert capsys.readouterr().out.count("resuming from step 120") == 2
  # The wall time is the training's, not the rerun's evaluation.
  again = json.loads((tmp_path / "out" / "semisupervised.json").read_text())
  assert [r["seconds"] for r in again] == [r["seconds"] for r in rows]


def test_bad_arguments_are_one_line_errors(capsys):
  assert semisupervised.main(["--labels", "55"]) == 2
  assert capsys.readouterr().err.count("\n") == 1
