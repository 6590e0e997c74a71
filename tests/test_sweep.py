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
  results = sweep.run_sweep(tiny(member_layout="vmap"), spec, str(tmp_path / "sweep"),
                            progress=False)
  unrolled = sweep.run_sweep(tiny(member_layout="unrolled"), spec, str(tmp_path / "unrolled"),
                             progress=False)
  assert [r["member"] for r in results] == [
      "margin=0.5,seed=0,pt_weight=0.3", "margin=0.5,seed=1,pt_weight=0.3",
      "margin=2,seed=0,pt_weight=0.3", "margin=2,seed=1,pt_weight=0.3"]
  population = trained.load(str(tmp_path / "sweep")).state  # stacked members
  written_out = trained.load(str(tmp_path / "unrolled")).state
  for i, (margin, seed) in enumerate([(0.5, 0), (0.5, 1), (2.0, 0), (2.0, 1)]):
    single_dir = tmp_path / f"single{i}"
    summary = train.train_and_evaluate(tiny(margin=margin, seed=seed, pt_weight=0.3),
                                       str(single_dir), progress=False)
    single = trained.load(str(single_dir)).state
    for x, y, z in zip(jax.tree.leaves(population), jax.tree.leaves(single),
                       jax.tree.leaves(written_out)):
      x, y, z = np.asarray(x)[i], np.asarray(y), np.asarray(z)[i]
      # vmapped and unbatched matmuls may round differently; Adam sees the same updates
      np.testing.assert_allclose(x, y, rtol=1e-4, atol=1e-6)
      # the unrolled layout runs each member's own computation
      np.testing.assert_allclose(z, y, rtol=1e-5, atol=1e-7)
    assert results[i]["loss_d"] == pytest.approx(summary["loss_d"], rel=1e-3)
    assert unrolled[i]["loss_d"] == pytest.approx(summary["loss_d"], rel=1e-5)
  assert float(population.controller["margin"][2]) == 2.0
  out = capsys.readouterr().out
  assert "a sweep of 4 members in one program (vmap)" in out
  assert "a sweep of 4 members in one program (unrolled)" in out
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


def fig9(**overrides):
  """The default sweep's experiment (the paper's Figure 9) with small networks."""
  return configs.with_values(configs.load_config("digits_margin_sweep"), **{
      "model.size_g": 64, "model.n_layers_g": 2, "model.size_d": 64, "latent_dim": 16,
      "num_steps": 30, "log_every": 5, "checkpoint_every": 30, "sample_every": 1000,
      "num_samples": 16, "async_checkpoints": False, **overrides})


def test_the_default_sweep_trains_every_margin_differently(tmp_path):
  results = sweep.run_sweep(fig9(), sweep.parse_sweep(["margin=4,12,32"]), str(tmp_path / "l2"),
                            progress=False)
  assert len({r["loss_d"] for r in results}) == 3
  rows = [json.loads(l) for l in open(tmp_path / "l2" / "metrics.jsonl")]
  for r in results:  # the second-half statistics are those of the logged rows
    late = [x for x in rows if x["member"] == r["member"] and x["step"] > 15
            and "images_per_sec" in x]  # the training logs, not the final evaluation
    assert [x["step"] for x in late] == [20, 25, 30]
    assert r["late_frac_below_margin"] == pytest.approx(
        np.mean([x["frac_fake_below_margin"] for x in late]))
    loss = np.array([x["loss_d"] for x in late])
    assert r["late_loss_d_cv"] == pytest.approx(loss.std(ddof=1) / abs(loss.mean()))
  assert "late_frac_below_margin" in (tmp_path / "l2" / "sweep_results.md").read_text()
  # Why the scaled l2 energy: with the per-pixel mse (about 0.03 here) every fake is under
  # margins 16 and 32 at every step, the hinge's gradient does not depend on m, and the two
  # members are the same run.
  mse = sweep.run_sweep(fig9(energy_norm="mse", energy_scale=1.0),
                        sweep.parse_sweep(["margin=16,32"]), str(tmp_path / "mse"), progress=False)
  assert [r["late_frac_below_margin"] for r in mse] == [1.0, 1.0]
  assert mse[0]["loss_g"] == mse[1]["loss_g"] and mse[0]["energy_real"] == mse[1]["energy_real"]


def test_energy_scale_multiplies_the_energy():
  from ebgan_jax import algorithms
  rng = np.random.default_rng(0)
  x, x_rec = rng.uniform(-1, 1, (2, 5, 8, 8, 1)).astype(np.float32)
  plain = algorithms.EBGAN(energy_norm="l2").energy(x, (x_rec, None))
  scaled = algorithms.EBGAN(energy_norm="l2", energy_scale=3.5).energy(x, (x_rec, None))
  np.testing.assert_allclose(plain, np.sqrt(((x_rec - x) ** 2).reshape(5, -1).sum(1)), rtol=1e-6)
  np.testing.assert_allclose(scaled, 3.5 * np.asarray(plain), rtol=1e-6)


def test_bench_times_the_sweep_program_of_packed_seeds(capsys):
  """``make bench --members N``: the program that trains N seeds at once, on packed batches
  (batch x pack rows per update); each member's update rate is the program's over N."""
  import json
  from ebgan_jax.tools import bench
  small = ["--config.model.size_g=8", "--config.model.size_d=8", "--config.model.n_layers_g=1",
           "--config.model.n_layers_d=1", "--config.batch_size=4", "--config.pack=2",
           "--config.data.train_points=64"]
  assert bench.main(["--config", "toy_ring_gan", "--members", "2", "--windows", "1",
                     "--steps", "2", *small]) == 0
  line = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
  assert line["members"] == 2 and line["member_layout"] in ("vmap", "unrolled")
  assert line["updates_per_sec"] == pytest.approx(line["images_per_sec"] / 4 / 2, rel=1e-2)
  with pytest.raises(SystemExit, match="--members takes a count of seeds >= 1"):
    bench.main(["--config", "toy_ring_gan", "--members", "-1", *small])
