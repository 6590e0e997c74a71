"""Sweeps: one program per group, each member its own single run."""

import json

import jax
import numpy as np
import pytest

from ebgan_jax import configs, step as step_lib, sweep, train, trained


def tiny(**overrides):
  return configs.with_values(configs.load_config("digits_ebgan_pt"), **{
      "model.size_g": 32, "model.size_d": 16, "model.n_layers_g": 2, "latent_dim": 8,
      "batch_size": 16, "num_steps": 8, "log_every": 4, "checkpoint_every": 4,
      "sample_every": 1000, "num_samples": 16, "async_checkpoints": False, **overrides})


def _leaves(state, i=None):
  return [np.asarray(x) if i is None else np.asarray(x)[i] for x in jax.tree.leaves(state)]


def test_each_member_equals_its_single_run(tmp_path, capsys):
  """The layouts change how the members run, not what they compute: "sequential" (the CPU's
  default) and "unrolled" give each member bit for bit its single run; "vmap" rounds its
  batched matmuls differently."""
  # Two members that differ in a traced value, both on a seed other than the default.
  spec = sweep.parse_sweep(["margin=0.5,2", "seed=1", "pt_weight=0.3"])
  runs = {layout: sweep.run_sweep(tiny(member_layout=layout), spec, str(tmp_path / layout),
                                  progress=False)
          for layout in ("auto", "unrolled", "vmap")}
  out = capsys.readouterr().out
  assert [r["member"] for r in runs["auto"]] == [
      "margin=0.5,seed=1,pt_weight=0.3", "margin=2,seed=1,pt_weight=0.3"]
  # On a CPU "auto" is "sequential", and the choice is kept with the run.
  assert {r["member_layout"] for r in runs["auto"]} == {"sequential"}
  assert json.load(open(tmp_path / "auto" / "summary.json"))["member_layout"] == "sequential"
  assert "a sweep of 2 members one after another through one compiled program (sequential)" in out
  assert "a sweep of 2 members in one program (vmap)" in out
  assert "a sweep of 2 members in one program (unrolled)" in out
  states = {layout: trained.load(str(tmp_path / layout)).state for layout in runs}
  for i, (margin, seed) in enumerate([(0.5, 1), (2.0, 1)]):
    single_dir = tmp_path / f"single{i}"
    summary = train.train_and_evaluate(tiny(margin=margin, seed=seed, pt_weight=0.3),
                                       str(single_dir), progress=False)
    single = _leaves(trained.load(str(single_dir)).state)
    for layout in ("auto", "unrolled"):
      for x, y in zip(_leaves(states[layout], i), single):
        np.testing.assert_array_equal(x, y)
      assert runs[layout][i]["loss_d"] == summary["loss_d"]
    for x, y in zip(_leaves(states["vmap"], i), single):
      np.testing.assert_allclose(x, y, rtol=1e-4, atol=1e-6)
    assert runs["vmap"][i]["loss_d"] == pytest.approx(summary["loss_d"], rel=1e-3)
    # The sweep's samples are drawn from the first member's seed's noise, which is both
    # members' seed here: every score equals the single run's.
    scores = {k: v for k, v in summary.items() if k in runs["auto"][i] and k != "images_per_sec"}
    assert {k: runs["auto"][i][k] for k in scores} == scores
  assert float(states["auto"].controller["margin"][1]) == 2.0
  files = {p.name for p in (tmp_path / "auto").iterdir()}
  assert {"sweep_results.md", "sweep_results.json", "samples_final.png", "loss_curves.png"} <= files
  rows = [json.loads(l) for l in open(tmp_path / "auto" / "metrics.jsonl")]
  assert {r["member"] for r in rows} == {r["member"] for r in runs["auto"]}


def test_sequential_rounds_do_not_change_the_members(tmp_path, monkeypatch):
  """A round of the sequential layout runs each member for several dispatches in turn; how
  many changes nothing a member computes, and a stop between rounds resumes to the same."""
  spec = sweep.parse_sweep(["margin=0.5,2"])
  config = tiny(member_layout="sequential", num_steps=12, log_every=6, checkpoint_every=12)
  monkeypatch.setattr(step_lib.MemberProgram, "ROUND_SECONDS", 1e-9)  # one dispatch a round
  sweep.run_sweep(config, spec, str(tmp_path / "short"), progress=False)
  monkeypatch.setattr(step_lib.MemberProgram, "ROUND_SECONDS", 1e9)  # every dispatch up to a log
  sweep.run_sweep(config, spec, str(tmp_path / "long"), progress=False)
  rows = lambda d: [(r["member"], r["step"], r["loss_d"]) for r in
                    map(json.loads, open(tmp_path / d / "metrics.jsonl")) if "loss_d" in r]
  assert rows("short") == rows("long") and len(rows("long")) == 4
  for x, y in zip(_leaves(trained.load(str(tmp_path / "short")).state),
                  _leaves(trained.load(str(tmp_path / "long")).state)):
    np.testing.assert_array_equal(x, y)


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
  assert line["members"] == 2 and line["member_layout"] == "sequential"  # auto, on a CPU
  assert line["updates_per_sec"] == pytest.approx(line["images_per_sec"] / 4 / 2, rel=1e-2)
  # against one run alone, timed in the windows between the sweep's
  assert line["speedup_vs_sequential"] == pytest.approx(
      line["updates_per_sec"] / line["sequential_updates_per_sec"], rel=1e-2)
  with pytest.raises(SystemExit, match="--members takes a count of seeds >= 1"):
    bench.main(["--config", "toy_ring_gan", "--members", "-1", *small])


@pytest.mark.parametrize("name,family", [
    ("convolution.3", "convolution"), ("conv_general_dilated.25", "convolution"),
    ("dot.12", "matmul (dot)"), ("dot_general.4", "matmul (dot)"),
    ("wrapped_reduce-window.2", "reduce-window (XLA's tree reductions)"),
    ("transpose_copy_fusion.1", "copies and layout"), ("multiply_add_fusion", "elementwise fusions"),
    ("ThunkExecutor::Execute", None), ("$api.py:2479 block_until_ready", None),
])
def test_the_profile_sorts_xla_ops_by_family(name, family):
  from ebgan_jax.tools import bench
  assert bench.op_family(name) == family
