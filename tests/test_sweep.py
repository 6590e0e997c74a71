"""Sweeps: one vmapped program per group, each member exactly its own single run."""

import json

import jax
import numpy as np
import pytest

from ebgan_jax import configs, sweep, train, trained


def tiny(**overrides):
  return configs.with_values(configs.load_config("digits_ebgan_pt"), **{
      "model.size_g": 32, "model.size_d": 16, "model.n_layers_g": 2, "latent_dim": 8,
      "batch_size": 16, "num_steps": 8, "log_every": 4, "checkpoint_every": 4,
      "sample_every": 1000, "num_samples": 16, "async_checkpoints": False, **overrides})


def test_each_member_equals_its_single_run(tmp_path, capsys):
  spec = sweep.parse_sweep(["margin=0.5,2", "seed=0,1", "pt_weight=0.3"])
  results = sweep.run_sweep(tiny(), spec, str(tmp_path / "sweep"), progress=False)
  assert [r["member"] for r in results] == [
      "margin=0.5,seed=0,pt_weight=0.3", "margin=0.5,seed=1,pt_weight=0.3",
      "margin=2,seed=0,pt_weight=0.3", "margin=2,seed=1,pt_weight=0.3"]
  population = trained.load(str(tmp_path / "sweep")).state  # stacked members
  for i, (margin, seed) in enumerate([(0.5, 0), (0.5, 1), (2.0, 0), (2.0, 1)]):
    single_dir = tmp_path / f"single{i}"
    summary = train.train_and_evaluate(tiny(margin=margin, seed=seed, pt_weight=0.3),
                                       str(single_dir), progress=False)
    single = trained.load(str(single_dir)).state
    for x, y in zip(jax.tree.leaves(population), jax.tree.leaves(single)):
      x, y = np.asarray(x)[i], np.asarray(y)
      # vmapped and unbatched matmuls may round differently; Adam sees the same updates
      np.testing.assert_allclose(x, y, rtol=1e-4, atol=1e-6)
    assert results[i]["loss_d"] == pytest.approx(summary["loss_d"], rel=1e-3)
  assert float(population.controller["margin"][2]) == 2.0
  out = capsys.readouterr().out
  assert "a sweep of 4 members in one program" in out
  files = {p.name for p in (tmp_path / "sweep").iterdir()}
  assert {"sweep_results.md", "sweep_results.json", "samples_final.png", "loss_curves.png"} <= files
  rows = [json.loads(l) for l in open(tmp_path / "sweep" / "metrics.jsonl")]
  assert {r["member"] for r in rows} == {r["member"] for r in results}


def test_shape_changing_keys_make_groups(tmp_path, capsys):
  spec = sweep.parse_sweep(["model.size_g=16,32 margin=1,2"])
  results = sweep.run_sweep(tiny(num_steps=4), spec, str(tmp_path), progress=False)
  assert len(results) == 4 and len({r["workdir"] for r in results}) == 2
  assert "4 members in 2 groups with different programs" in capsys.readouterr().out


def test_a_sweep_resumes_as_a_whole(tmp_path, capsys):
  spec = sweep.parse_sweep(["margin=1,2"])
  sweep.run_sweep(tiny(num_steps=4), spec, str(tmp_path), progress=False)
  sweep.run_sweep(tiny(num_steps=8), spec, str(tmp_path), progress=False)
  assert "resuming from step 4" in capsys.readouterr().out
  assert trained.load(str(tmp_path)).step == 8


@pytest.mark.parametrize("items,message", [
    (["margin"], "must look like key=v1,v2"), ([], "nothing to sweep"),
])
def test_bad_sweep_specs(items, message):
  with pytest.raises(ValueError, match=message):
    sweep.parse_sweep(items)


def test_unknown_sweep_key(tmp_path, capsys):
  rc = sweep.main(["--config", "digits_ebgan_pt", "--workdir", str(tmp_path),
                   "--sweep", "marginn=1,2"])
  assert rc == 2 and "unknown config key 'marginn'" in capsys.readouterr().err
