"""make results: the report from rows, and (slow) the whole pipeline at a tiny budget."""

import pytest

from ebgan_jax.studies import family as results


def fake_rows():
  rows = []
  for dataset, (_, steps, metrics) in results.DATASETS.items():
    for i, name in enumerate(results.ALGORITHMS):
      for seed in range(2):
        rows.append({"dataset": dataset, "model": name, "steps": steps, "batch": 64,
                     "member": f"seed={seed}", **{m: float(i + seed) for m in metrics}})
  return rows


def test_report_has_every_cell_with_mean_and_standard_error(tmp_path):
  results.write_report(fake_rows(), str(tmp_path))
  text = (tmp_path / "README.md").read_text()
  for dataset in results.DATASETS:
    assert f"## {dataset}" in text
  assert "| EBGAN-PT | 2.5 ± 0.5 |" in text  # index 2, seeds 0 and 1: SE = 0.707 / √2
  assert "standard error over seeds (ddof = 1)" in text and "n = 2" in text
  # labelled a short budget, the published numbers left to their reproductions
  assert "at a short budget" in text and "PacGAN4 | 7.8" not in text
  assert "[pacgan/README.md](pacgan/README.md)" in text and (tmp_path / "results.png").exists()


def test_an_infinite_seed_is_counted_not_averaged(tmp_path):
  rows = fake_rows()
  ring_gan = [r for r in rows if r["dataset"] == "ring" and r["model"] == "GAN"]
  ring_gan[1]["reverse_kl"] = float("inf")  # seed 1 hit no mode
  for r in rows:
    if r["dataset"] == "grid" and r["model"] == "GAN":
      r["reverse_kl"] = float("inf")
  results.write_report(rows, str(tmp_path))
  text = (tmp_path / "README.md").read_text()
  assert "| GAN | 0.5 ± 0.5 | 0.5 ± 0.5 | 0 (1 of 2 not finite) |" in text
  assert "| GAN | 0.5 ± 0.5 | 0.5 ± 0.5 | not finite in all 2 |" in text
  assert "nan" not in text


def test_rows_without_a_metric_show_it_absent_and_the_prdc_settings_are_stated(tmp_path):
  rows = fake_rows()
  for r in rows:
    if r["dataset"] == "ring":  # written before precision and recall existed
      for key in ("precision", "recall", "density", "coverage"):
        del r[key]
    elif r["dataset"] == "grid":
      r.update(precision_recall_k=3, density_coverage_k=5, prdc_real_samples=2500,
               prdc_fake_samples=2500)
  results.write_report(rows, str(tmp_path))
  text = (tmp_path / "README.md").read_text()
  ring = text[text.index("## ring"):text.index("## grid")]
  grid = text[text.index("## grid"):text.index("## digits")]
  assert "| GAN | 0.5 ± 0.5 | 0.5 ± 0.5 | 0.5 ± 0.5 | — | — | — | — |" in ring
  assert "k = 3" not in ring
  assert ("precision and recall with k = 3, density and coverage with k = 5, on 2500 generated "
          "against 2500 real samples.") in grid


@pytest.mark.slow
def test_the_whole_pipeline_at_a_tiny_budget(tmp_path):
  rows = results.run_all(seeds=2, scale=0.01, workdir=str(tmp_path / "runs"))
  assert len(rows) == 2 * len(results.ALGORITHMS) * len(results.DATASETS)
  results.write_report(rows, str(tmp_path / "out"))
  assert "## stacked" in (tmp_path / "out" / "README.md").read_text()


def test_no_row_inherits_another_models_settings():
  """Each row's config is its base experiment changed only in the budget, the algorithm and
  the keys the row names; and each is a config that trains (e.g. MAGAN without PT)."""
  from ebgan_jax import configs
  budget = {"algorithm", "num_steps", "sample_every", "checkpoint_every", "log_every",
            "magan.pretrain_steps"}
  for dataset in results.DATASETS:
    before = configs.flatten(results.base_config(dataset).to_dict())
    for name, (algorithm, overrides) in results.ALGORITHMS.items():
      config = results.row_config(dataset, name, scale=0.1)
      after = configs.flatten(config.to_dict())
      named = budget | {o.split("=")[0] for o in overrides}
      changed = {k for k in after if after[k] != before[k]}
      assert changed <= named, (dataset, name, changed - named)
      assert config.algorithm == algorithm
      if algorithm == "magan":
        assert config.pt_weight == 0.0


def test_magan_with_a_pulling_away_term_is_one_line():
  from ebgan_jax import configs
  config = configs.with_values(configs.load_config("digits_magan"), pt_weight=0.1)
  with pytest.raises(ValueError, match="MAGAN has no pulling-away term"):
    configs.validate(config)
