"""``make likelihood``: the table, the figures and the resume, on a tiny budget."""

import json

import pytest

from ebgan_jax.studies import likelihood


@pytest.fixture
def quick(monkeypatch):
  # Two of the models, small networks and few samples: the command's path, not its numbers.
  monkeypatch.setattr(likelihood, "MODELS", {
      "VAE": ("digits_vae", ("model.size_g=32", "model.size_d=32", "eval_samples=100")),
      "BiHM": ("digits_bihm", ("model.sbn_sizes=(16,8)", "latent_dim=24", "eval_samples=100",
                               "bihm.partition_samples=200", "bihm.partition_inner_samples=10"))})
  monkeypatch.setattr(likelihood, "EVAL_SAMPLES", 20)
  monkeypatch.setattr(likelihood, "CURVE_SAMPLES", (1, 10))
  monkeypatch.setattr(likelihood, "GIBBS_SWEEPS", (2,))
  monkeypatch.setattr(likelihood, "INPAINT_SWEEPS", 2)


@pytest.mark.slow  # the page itself is checked from its JSON by test_report
def test_the_table_puts_every_model_on_the_same_held_out_digits(tmp_path, quick, capsys):
  args = ["--seeds", "2", "--scale", "0.004", "--workdir", str(tmp_path / "runs"),
          "--out", str(tmp_path / "out")]
  assert likelihood.main(args) == 0
  out = tmp_path / "out"
  readme = (out / "README.md").read_text()
  for title in likelihood.MODELS:
    assert f"| {title} | 100 |" in readme  # the same updates for every model
  assert "297 held out" in readme and "standard error over seeds (ddof = 1)" in readme and "n = 2 here" in readme
  rows = json.loads((out / "likelihood.json").read_text())["rows"]
  assert len(rows) == 2 * len(likelihood.MODELS)
  for r in rows:
    assert -64 * 0.7 < r["log_likelihood"] < 0  # better than fair coins, a log-probability
    assert r["log_likelihood"] >= r["bound"] - 1e-4
  bihm = [r for r in rows if r["model"] == "BiHM"]
  assert all(r["log_z"] <= 0 for r in bihm)
  for name in ("estimates.png", "bihm_gibbs.png", "bihm_inpainting.png"):
    assert (out / name).stat().st_size > 1000
  checks = [r["check"] for r in bihm]
  assert [c["examples"] for c in checks] == [297, 297]
  pairs, allowed = 594, likelihood.crossings_by_chance(594)
  for side, name in (("estimate", "the estimate log p*(x)"),
                     ("log_p", "log p(x) of the top-down model")):
    beyond = sum(c[f"above_{side}_beyond_2se"] for c in checks)
    below = sum(c[f"below_{side}"] for c in checks)
    assert f"| {name} | {below} of {pairs} | {beyond} of {pairs} |" in readme
    assert readme.count("**fails**") == 0 or beyond > allowed
  # Training one model again keeps the others' rows and curves from the page's JSON.
  before = json.loads((out / "likelihood.json").read_text())
  assert likelihood.main(args + ["--models", "BiHM"]) == 0
  after = json.loads((out / "likelihood.json").read_text())
  assert [r for r in after["rows"] if r["model"] == "VAE"] == [
      r for r in before["rows"] if r["model"] == "VAE"]
  assert after["curves"] == before["curves"] and after["command"] == before["command"]
  # the BiHM resumed its finished run: the same numbers, marked as trained on their own
  assert [{**r, "trained_by": "--models BiHM"} for r in before["rows"] if r["model"] == "BiHM"] \
      == [{**r, "seconds": b["seconds"]} for r, b in zip(
          [r for r in after["rows"] if r["model"] == "BiHM"],
          [r for r in before["rows"] if r["model"] == "BiHM"])]
  assert "BiHM's row was trained again on its own (--models BiHM)" in (out / "README.md").read_text()


def test_bad_arguments_are_one_line_errors(capsys, tmp_path):
  assert likelihood.main(["--seeds", "0"]) == 2
  assert capsys.readouterr().err.count("\n") == 1
  assert likelihood.main(["--models", "VAE,GAN"]) == 2
  assert "unknown: GAN" in capsys.readouterr().err
  assert likelihood.main(["--models", "BiHM", "--out", str(tmp_path)]) == 2
  err = capsys.readouterr().err
  assert err.count("\n") == 1 and "run every model first" in err
