"""PacGAN's set-up: its networks, packing for any discriminator, simultaneous updates, the
fixed training set."""

import dataclasses
import json

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ebgan_jax import (configs, data, losses, main, models, rundir, state as state_lib, step as step_lib, trained)
from ebgan_jax.studies import pacgan


def test_pacgan_networks_match_the_released_code():
  config = configs.load_config("toy_ring_gan")
  g, d = step_lib.build_models(config, (2,))
  g_vars = g.init(jax.random.PRNGKey(0), jnp.zeros((3, 2)), train=False)
  d_vars = d.init(jax.random.PRNGKey(1), jnp.zeros((3, 2)), train=False)
  shapes = jax.tree.map(np.shape, g_vars["params"])
  # 2 -> 400 x 4 -> 2: no biases in the hidden layers (BatchNorm has scale and shift), a bias on
  # the output layer (the released code's decoder.linear_transformations[-1].use_bias = True)
  assert [shapes[f"Dense_{i}"]["kernel"] for i in range(5)] == [(2, 400), (400, 400), (400, 400),
                                                                (400, 400), (400, 2)]
  assert all("bias" not in shapes[f"Dense_{i}"] for i in range(4))
  assert shapes["Dense_4"]["bias"] == (2,)
  assert len([k for k in shapes if k.startswith("BatchNorm")]) == 4
  # population statistics updated as 0.95 * population + 0.05 * batch (the released code's)
  z = jax.random.normal(jax.random.PRNGKey(2), (16, 2))
  _, updated = g.apply(g_vars, z, train=True, mutable=["batch_stats"])
  h = np.asarray(z) @ np.asarray(g_vars["params"]["Dense_0"]["kernel"])
  np.testing.assert_allclose(updated["batch_stats"]["BatchNorm_0"]["mean"],
                             0.95 * 0 + 0.05 * h.mean(0), rtol=1e-5, atol=1e-7)
  np.testing.assert_allclose(updated["batch_stats"]["BatchNorm_0"]["var"],
                             0.95 * 1 + 0.05 * h.var(0), rtol=1e-5, atol=1e-7)
  # the generator of the earlier rows: no biases anywhere, momentum 0.9
  earlier, _ = step_lib.build_models(
      configs.with_values(configs.load_config("toy_ring_gan"),
                          **{"model.pacgan_generator": "bias_free"}), (2,))
  e_vars = earlier.init(jax.random.PRNGKey(0), jnp.zeros((3, 2)), train=False)
  assert all("bias" not in e_vars["params"][f"Dense_{i}"] for i in range(5))
  _, updated = earlier.apply(e_vars, z, train=True, mutable=["batch_stats"])
  np.testing.assert_allclose(updated["batch_stats"]["BatchNorm_0"]["mean"],
                             0.1 * (np.asarray(z) @ np.asarray(e_vars["params"]["Dense_0"]["kernel"])
                                    ).mean(0), rtol=1e-5, atol=1e-7)
  # three maxout layers of 200 units x 5 pieces, then a logit
  d_shapes = jax.tree.map(np.shape, d_vars["params"])
  assert [d_shapes[f"Maxout_{i}"]["Dense_0"]["kernel"] for i in range(3)] == [
      (2, 1000), (200, 1000), (200, 1000)]
  assert d_shapes["Dense_0"]["kernel"] == (200, 1)
  kernel = np.asarray(d_vars["params"]["Maxout_1"]["Dense_0"]["kernel"])
  assert abs(kernel.std() - 0.02) < 0.001 and np.all(d_vars["params"]["Maxout_1"]["Dense_0"]["bias"] == 0)
  # the settings of PacGAN's Table 1
  assert (config.batch_size, config.num_steps, config.optimizer.lr_d, config.optimizer.b1,
          config.data.train_points, config.latent_dim, config.simultaneous_updates) == (
              100, 400000, 1e-4, 0.8, 100000, 2, True)


def test_maxout_is_the_maximum_over_pieces():
  layer = models.Maxout(3, pieces=4)
  x = jnp.asarray(np.random.default_rng(0).normal(size=(5, 2)), jnp.float32)
  variables = layer.init(jax.random.PRNGKey(0), x)
  w, b = variables["params"]["Dense_0"]["kernel"], variables["params"]["Dense_0"]["bias"]
  expected = (np.asarray(x) @ np.asarray(w) + np.asarray(b)).reshape(5, 3, 4).max(-1)
  np.testing.assert_allclose(layer.apply(variables, x), expected, rtol=1e-6)


def test_packing_groups_consecutive_samples():
  x = jnp.arange(12.0).reshape(6, 2)  # six 2-D points
  np.testing.assert_array_equal(models.pack_examples(x, 3),
                                [[0, 1, 2, 3, 4, 5], [6, 7, 8, 9, 10, 11]])
  images = jnp.arange(4 * 2 * 2 * 3.0).reshape(4, 2, 2, 3)
  packed = models.pack_examples(images, 2)
  chex.assert_shape(packed, (2, 2, 2, 6))
  np.testing.assert_array_equal(packed[1, ..., :3], images[2])  # slot 0 of the second pack
  np.testing.assert_array_equal(packed[1, ..., 3:], images[3])
  assert models.packed_shape((2,), 4) == (8,) and models.packed_shape((8, 8, 3), 2) == (8, 8, 6)
  assert models.pack_examples(x, 1) is x


@pytest.mark.parametrize("algorithm", ["gan", "ebgan"])
def test_packed_step_is_the_textbook_simultaneous_update(algorithm):
  """A packed, simultaneous step equals jax.grad of the composed losses, with G judged by D
  before D's update and D seeing pairs of samples."""
  config = configs.with_values(configs.pacgan_config("ring", algorithm, pack=2), **{
      "model.size_g": 16, "model.size_d": 8, "batch_size": 6, "margin": 0.5, "pt_weight": 0.0,
      "optimizer.name": "sgd"})
  ds = data.make_dataset(config.data, batch_size=12, seed=0)
  g, d = step_lib.build_models(config, ds.shape)
  state = step_lib.create_state(config, g, d, ds.shape)
  batch = jnp.asarray(ds.batch(0))
  new, _ = jax.jit(step_lib.make_train_step(config))(state, batch)

  key = jax.random.fold_in(state.key, state.step)
  k_z, k_real, k_fake, k_g = jax.random.split(jax.random.fold_in(key, 0), 4)
  z = state_lib.sample_latent(k_z, 12, 2, "normal")
  apply_g = lambda p: g.apply({"params": p, "batch_stats": state.g.batch_stats}, z, train=True,
                              mutable=["batch_stats"])[0]
  pairs = lambda x: x.reshape(6, 4)  # [x_2i, x_2i+1] side by side

  def d_out(params, x):
    return d.apply({"params": params, "batch_stats": {}}, pairs(x), train=True)

  def d_loss(params):
    real, fake = d_out(params, batch), d_out(params, apply_g(state.g.params))
    if algorithm == "gan":
      return jnp.mean(losses.gan_discriminator_loss(real, fake))
    e_real = losses.reconstruction_energy(pairs(batch), real[0])
    e_fake = losses.reconstruction_energy(pairs(apply_g(state.g.params)), fake[0])
    return jnp.mean(e_real + jnp.maximum(0.0, 0.5 - e_fake))

  def g_loss(params):  # judged by D before its update: simultaneous
    out = d_out(state.d.params, apply_g(params))
    if algorithm == "gan":
      return jnp.mean(losses.gan_generator_loss(out))
    return jnp.mean(losses.reconstruction_energy(pairs(apply_g(params)), out[0]))

  d_params = state.d.apply_gradients(grads=jax.grad(d_loss)(state.d.params)).params
  g_params = state.g.apply_gradients(grads=jax.grad(g_loss)(state.g.params)).params
  chex.assert_trees_all_close(new.d.params, d_params, rtol=1e-5, atol=1e-6)
  chex.assert_trees_all_close(new.g.params, g_params, rtol=1e-5, atol=1e-6)


def test_fixed_training_set_is_walked_in_epochs():
  cfg = configs.pacgan_config("grid").data
  cfg.train_points = 50
  ds = data.make_dataset(cfg, batch_size=10, seed=3)
  epoch = np.concatenate([ds.batch(s) for s in range(5)])
  assert len(np.unique(epoch, axis=0)) == 50  # every point once per epoch
  np.testing.assert_array_equal(np.sort(epoch, axis=0),
                                np.sort(np.concatenate([ds.batch(s) for s in range(5, 10)]), axis=0))
  again = data.make_dataset(cfg, batch_size=10, seed=3)
  np.testing.assert_array_equal(again.batch(7), ds.batch(7))
  assert not np.array_equal(data.make_dataset(cfg, batch_size=10, seed=4).batch(0), ds.batch(0))


def test_packed_ebgan_runs_from_the_command_line(tmp_path):
  assert main.main(["--config", "toy_grid_gan", "--workdir", str(tmp_path), "--no_progress",
                    "--config.algorithm=ebgan", "--config.pack=3", "--config.num_steps=4",
                    "--config.log_every=2", "--config.eval_every=0", "--config.batch_size=8",
                    "--config.model.size_g=16", "--config.model.size_d=8",
                    "--config.data.train_points=64"]) == 0
  assert (tmp_path / "samples_final.png").exists()
  assert trained.load(str(tmp_path)).sample(5).shape == (5, 2)


def test_settings_that_cannot_go_together_are_one_line():
  config = configs.with_values(configs.pacgan_config("ring"), d_steps=2)
  with pytest.raises(ValueError, match="simultaneous_updates needs config.d_steps=1"):
    configs.validate(config)
  vae = configs.with_values(configs.load_config("digits_vae"), pack=2)
  with pytest.raises(ValueError, match="the VAE has none"):
    configs.validate(vae)


@pytest.mark.slow  # the page is checked from its JSON by test_report
def test_the_protocol_command_reports_beside_table_1_and_resumes(tmp_path, capsys):
  args = ["--steps", "40", "--seeds", "2", "--datasets", "ring", "--models", "GAN,PacGAN2",
          "--out", str(tmp_path / "out"), "--workdir", str(tmp_path / "runs"), "--no_progress",
          "--config.model.size_g=16", "--config.model.size_d=8", "--config.batch_size=10",
          "--config.data.train_points=200"]
  assert pacgan.main(args) == 0
  report = (tmp_path / "out" / "README.md").read_text()
  assert "| GAN (Lin et al. 2018) | their code | 400,000 | 10 | 6.3 ± 0.5 | 98.2 ± 0.2 | 0.45 ± 0.09 |" in report
  assert "| PacGAN2 (ours) | released | 40 | 2 |" in report and (tmp_path / "out" / "curves.png").exists()
  hours = pacgan.hours_per_100k(str(tmp_path / "runs" / "ring" / "PacGAN2"))
  row = next(line for line in report.splitlines() if line.startswith("| PacGAN2 (ours)"))
  assert hours > 0 and row.endswith(f" | {hours:.2g} |")  # the cost column
  rows = json.loads((tmp_path / "out" / "results.json").read_text())
  assert [(r["model"], r["member"]) for r in rows] == [
      ("GAN", "seed=0"), ("GAN", "seed=1"), ("PacGAN2", "seed=0"), ("PacGAN2", "seed=1")]
  logged = pacgan.curves(str(tmp_path / "runs" / "ring" / "GAN"))
  # every 2 steps, and the final evaluation at 40, logged once beside the others
  assert sorted(logged) == ["seed=0", "seed=1"] and [r["step"] for r in logged["seed=0"]] == \
      list(range(2, 42, 2))
  assert logged["seed=0"][-1]["high_quality"] == rows[0]["high_quality"]
  final = [r for r in rundir.read_metrics(str(tmp_path / "runs" / "ring" / "GAN"))
           if r["step"] == 40 and "high_quality" in r]
  assert sorted(r["member"] for r in final) == ["seed=0", "seed=1"]
  # Rerunning resumes: nothing is trained again and the rows are the same; a command naming
  # one row still reports every row trained in the workdir.
  capsys.readouterr()
  assert pacgan.main([a if a != "GAN,PacGAN2" else "GAN" for a in args]) == 0
  again = json.loads((tmp_path / "out" / "results.json").read_text())
  assert again[0]["high_quality"] == rows[0]["high_quality"]
  assert [r["model"] for r in again] == ["GAN", "GAN", "PacGAN2", "PacGAN2"]
  assert "| PacGAN2 (ours) | released | 40 | 2 |" in (tmp_path / "out" / "README.md").read_text()
  # ... and the finished run started again logged its final evaluation once
  assert len([r for r in rundir.read_metrics(str(tmp_path / "runs" / "ring" / "GAN"))
              if r["step"] == 40 and "high_quality" in r]) == 2
  assert pacgan.main(args[:-1] + ["--models", "GAN,Nope"]) == 2
  # The report of a table still training: each seed's last evaluation, against the target.
  assert pacgan.main(args[:-1] + ["--report", "--steps", "400000"]) == 0
  report = (tmp_path / "out" / "README.md").read_text()
  assert "**Still training** (target 400,000 updates, the published budget)" in report
  assert "| GAN (ours) | released | 40 | 2 |" in report
  # A finished run trained on and stopped: its evaluations since its end are the row, not the
  # summary of the earlier end.
  later = {"step": 50, "member": "seed=1", "modes_covered": 3.0, "high_quality": 0.25}
  with open(tmp_path / "runs" / "ring" / "GAN" / "metrics.jsonl", "a") as f:
    f.write(json.dumps(later) + "\n")
  table = pacgan.collect(str(tmp_path / "runs"), str(tmp_path / "out"))
  now = {r["member"]: r for r in pacgan.rows_so_far(table) if r["model"] == "GAN"}
  assert (now["seed=0"]["steps"], now["seed=1"]["steps"]) == (40, 50)
  assert now["seed=1"]["modes_covered"] == 3.0
  assert pacgan.main(["--report", "--workdir", str(tmp_path / "none"),
                      "--out", str(tmp_path / "o2")]) == 2
  (tmp_path / "o2").mkdir()
  (tmp_path / "o2" / "curves.json").write_text('{"ring/GAN": ')
  capsys.readouterr()
  assert pacgan.main(["--report", "--workdir", str(tmp_path / "none"),
                      "--out", str(tmp_path / "o2")]) == 2
  assert "curves.json is not valid JSON" in capsys.readouterr().err
  # The report is its own record: from a fresh workdir it is written again the same, and a run
  # started again from scratch replaces a row only once it has trained further.
  before = (tmp_path / "out" / "README.md").read_text()
  assert pacgan.main(["--report", "--steps", "400000", "--workdir", str(tmp_path / "none"),
                      "--out", str(tmp_path / "out")]) == 0
  assert (tmp_path / "out" / "README.md").read_text() == before
  fresh = [a if a not in ("40", str(tmp_path / "runs")) else
           {"40": "20", str(tmp_path / "runs"): str(tmp_path / "again")}[a] for a in args]
  fresh = [a if a != "GAN,PacGAN2" else "PacGAN2" for a in fresh]
  assert pacgan.main(fresh) == 0
  assert "the report's row (40 updates) is kept" in capsys.readouterr().err
  assert "| PacGAN2 (ours) | released | 40 | 2 |" in (tmp_path / "out" / "README.md").read_text()
  assert pacgan.main([a if a != "20" else "60" for a in fresh]) == 0
  report = (tmp_path / "out" / "README.md").read_text()
  assert "| PacGAN2 (ours) | released | 60 | 2 |" in report and "| GAN (ours) | released | 40 | 2 |" in report


def test_first_step_at_the_published_numbers():
  published = ((6.3, 0.5), (98.2, 0.2), (0.45, 0.09))
  row = lambda step, modes, hq: {"step": step, "modes_covered": modes, "high_quality": hq}
  logged = {"seed=0": [row(1, 2, 0.50), row(2, 6, 0.97), row(3, 6, 0.982)],
            "seed=1": [row(1, 3, 0.40), row(2, 7, 0.99), row(3, 7, 0.982)]}
  # step 2: modes 6.5 ± 0.5 (fine), quality 98.0 ± 1.0 (|98.0 - 98.2| <= 2 hypot(1, 0.2)): met
  assert pacgan.first_step_at_published(logged, published) == 2
  logged["seed=0"][1]["high_quality"] = logged["seed=1"][1]["high_quality"] = 0.95
  # step 2 now: quality 95.0 ± 0: 3.2 off, over 2 x hypot(0, 0.2) = 0.4; step 3 is the first
  assert pacgan.first_step_at_published(logged, published) == 3
  logged["seed=0"][2]["modes_covered"] = 1  # modes 4 ± 3 at step 3: within 2 x 3.04; still met
  assert pacgan.first_step_at_published(logged, published) == 3
  for rs in logged.values():
    rs[2]["high_quality"] = 0.5
  assert pacgan.first_step_at_published(logged, published) is None


def test_stacked_mnist_rows_are_the_published_set_up_and_report_beside_table_2(tmp_path):
  protocol = pacgan.PROTOCOLS["stacked_mnist"]
  config = pacgan.model_config("stacked_mnist", "PacGAN2", protocol.budget)
  assert (config.data.name, config.data.train_points, config.pack, config.num_steps,
          config.g_steps, config.model.arch, config.eval_every) == (
      "stacked_mnist", 128000, 2, 100000, 2, "dcgan_tf", 5000)  # 20 points per curve
  rows = [{"dataset": "stacked_mnist", "model": "GAN", "generator": "dcgan_tf", "steps": 100000,
           "member": f"seed={i}",
           "modes_covered": m, "kl_to_uniform": kl} for i, (m, kl) in enumerate([(80, 4.4),
                                                                                 (90, 4.2)])]
  table = {("stacked_mnist", "GAN", "dcgan_tf"): {"hours_per_100k": None, "members": {
      r["member"]: [{"step": r["steps"], "modes_covered": r["modes_covered"],
                     "kl_to_uniform": r["kl_to_uniform"]}] for r in rows}}}
  pacgan.write_report(table, str(tmp_path / "out"))
  assert json.loads((tmp_path / "out" / "results.json").read_text()) == rows
  report = (tmp_path / "out" / "README.md").read_text()
  assert "## stacked_mnist (Table 2)" in report
  assert ("| model | generator | updates | seeds | modes (of 1,000) | KL to uniform | recall | "
          "coverage |") in report
  # mean ± standard error: 85 ± 5 modes, KL 4.3 ± 0.1; both within two standard errors of the
  # published row (|85 - 78.9| <= 2 hypot(5, 6.46), |4.3 - 4.5| <= 2 hypot(0.1, 0.127)) at the
  # row's only evaluation
  assert ("| GAN (ours) | TF DCGAN | 100,000 | 2 | 85 ± 5 | 4.3 ± 0.1 | — | — | 100,000 (the last "
          "evaluation) |") in report
  assert ("| GAN (Lin et al. 2018) | their code | 100,000 | 10 | 78.9 ± 6.46 | 4.5 ± 0.127 | — | "
          "— | — |") in report


def test_rows_of_both_generators_are_kept_labelled_and_compared_at_one_budget(tmp_path):
  evals = lambda modes, hq: {f"seed={i}": [
      {"step": step, "modes_covered": m + step / 10, "high_quality": q, "reverse_kl": 0.1}
      for step in (10, 20)] for i, (m, q) in enumerate(zip(modes, hq))}
  table = {("ring", "GAN", "bias_free"): {"hours_per_100k": 3.0, "members": evals(
               [5, 6, 7], [0.8, 0.9, 0.7])},
           ("ring", "GAN", "released"): {"hours_per_100k": 3.0, "members": evals(
               [6, 8, 7], [0.9, 0.9, 0.9])}}
  table[("ring", "GAN", "bias_free")]["members"]["seed=0"].append(
      {"step": 30, "modes_covered": 1.0, "high_quality": 0.1, "reverse_kl": 2.0})
  pacgan.write_report(table, str(tmp_path))
  report = (tmp_path / "README.md").read_text()
  assert "| GAN (ours) | released | 20 | 3 |" in report
  assert "| GAN (ours) | bias-free (earlier) | 20 | 3 |" in report  # the last update all reached
  # at update 20, the last both rows evaluated for every seed: modes +1 +2 +0, quality +0.1 +0
  # +0.2 (percent x 100), paired by seed
  modes = np.array([1.0, 2.0, 0.0])
  line = next(l for l in report.splitlines() if l.startswith("- ring GAN at 20 updates"))
  assert f"modes +{modes.mean():.3g} ± {modes.std(ddof=1) / np.sqrt(3):.2g}" in line
  assert "n = 3 seeds" in line and "no difference measured at n = 3" in line
  again = pacgan.read_table(str(tmp_path))
  assert set(again) == set(table)
  # a released row not yet evaluated where the earlier one was: said, not compared
  for rows in table[("ring", "GAN", "released")]["members"].values():
    for r in rows:
      r["step"] += 5
  assert pacgan.generator_comparison(table, "ring", "GAN") == (
      "- ring GAN: no update at which every seed of both rows was evaluated yet.")


def test_the_margin_rule_weighs_coverage_and_quality_together():
  row = lambda margin, modes, hq: {"margin": margin, "modes_covered": modes, "high_quality": hq}
  rows = [row("0.1", 8, 0.50), row("0.1", 6, 0.70),   # (1.0 * 0.5 + 0.75 * 0.7) / 2 = 0.5125
          row("0.3", 8, 0.60), row("0.3", 7, 0.55),   # (0.6 + 0.48125) / 2 = 0.540625
          row("1.0", 4, 1.00), row("1.0", 4, 1.00)]   # 0.5: full quality, half the modes
  assert pacgan.choose(rows, "margin", 8) == 0.3
  # a tie goes to the smaller margin
  assert pacgan.choose([row("0.1", 8, 0.5), row("0.3", 8, 0.5)], "margin", 8) == 0.1
  # and to the narrower code, "no code" (0) being the widest
  code = lambda width, modes, hq: {"code": width, "modes_covered": modes, "high_quality": hq}
  assert pacgan.choose([code("0", 8, 0.5), code("4", 8, 0.5), code("2", 4, 0.5)], "code", 8) == 4


def test_the_code_sweep_trains_held_out_seeds_and_reports_its_choice(tmp_path, monkeypatch):
  monkeypatch.setattr(pacgan, "SWEEP_STEPS", 20)
  monkeypatch.setattr(pacgan, "SWEEP_SEEDS", (100,))
  monkeypatch.setitem(pacgan.HELD_OUT_SWEEPS, "code", dataclasses.replace(
      pacgan.HELD_OUT_SWEEPS["code"], values={"ring": (1, 0)}, models=("BEGAN",)))
  args = ["--sweep", "code", "--datasets", "ring,grid", "--out", str(tmp_path / "out"),
          "--workdir", str(tmp_path / "runs"), "--no_progress", "--config.model.size_g=16",
          "--config.model.size_d=8", "--config.batch_size=10", "--config.data.train_points=200"]
  assert pacgan.main(args) == 2  # the grid's values are not swept here: said, nothing trained
  assert pacgan.main(args[:3] + ["ring"] + args[4:]) == 0
  report = (tmp_path / "out" / "codes.md").read_text()
  model = "BEGAN"
  summary = json.loads((tmp_path / "runs" / "codes" / "ring" / model
                        / "sweep_results.json").read_text())
  # each width trained its own program on the held-out seed, with the row's settings
  assert sorted(r["member"] for r in summary) == [
      "model.bottleneck_d=0,seed=100", "model.bottleneck_d=1,seed=100"]
  scores = {r["member"][len("model.bottleneck_d="):][0]: r["modes_covered"] / 8
            * r["high_quality"] for r in summary}
  best = max(scores, key=lambda w: (scores[w], -(float("inf") if w == "0" else float(w))))
  assert f"## ring (8 modes): {model}" in report
  assert f"| {best} | {scores[best]:.3f} **chosen** |" in report
  held = str(pacgan.MODELS[model]["model.bottleneck_d"])
  holds = f"`pacgan.MODELS['{model}']` holds model.bottleneck_d {held} for ring"
  assert holds + ("." if best == held else f": **not** the sweep's choice ({best}); "
                  "update it.") in report
  assert "| k_t off clip |" in report and "MAGAN" not in report.split("\n## ")[1]
  # the widths swept here are 1 and 0 (no code, the widest): either choice is at an edge
  edge = {"1": "lower", "0": "upper"}[best]
  assert f"The choice is at the {edge} edge of the swept range" in report


def test_a_choice_at_the_end_of_the_swept_range_is_said_to_be():
  assert pacgan.edge_of_range(0.1, (0.1, 0.3, 1.0)) == "lower"
  assert pacgan.edge_of_range(1.0, (0.3, 1.0, 0.1)) == "upper"
  assert pacgan.edge_of_range(0.3, (0.1, 0.3, 1.0)) == ""
  assert pacgan.edge_of_range(0, (1, 2, 4, 0)) == "upper"  # no code is the widest
  assert pacgan.edge_of_range(2, (1, 2, 4, 0)) == ""


def test_the_energy_based_experiments_are_the_protocol_with_the_swept_margin():
  for mixture in ("ring", "grid"):
    config = configs.load_config(f"toy_{mixture}_ebgan")
    gan = configs.load_config(f"toy_{mixture}_gan")
    assert (config.algorithm, config.pt_weight, config.margin) == (
        "ebgan", 0.1, configs.PACGAN_MARGINS[mixture])
    assert config.margin in pacgan.MARGIN_SWEEP[mixture]
    # everything else is PacGAN's set-up, as the GAN experiment has it
    differ = {k for k, v in configs.flatten(config.to_dict()).items()
              if configs.flatten(gan.to_dict())[k] != v}
    assert differ == {"name", "algorithm", "pt_weight"}
    swept = pacgan.margin_sweep_config(mixture)
    assert (swept.algorithm, swept.pt_weight, swept.num_steps) == ("ebgan", 0.1, 10000)


def test_began_magan_and_lsgan_rows_are_the_protocol_with_their_named_changes():
  gan = configs.flatten(pacgan.model_config("ring", "GAN", 400000).to_dict())
  for model, named in (("BEGAN", {"algorithm", "model.bottleneck_d", "began.lr_window"}),
                       ("MAGAN", {"algorithm", "model.bottleneck_d", "magan.steps_per_epoch",
                                  "magan.pretrain_steps"})):
    config = pacgan.model_config("ring", model, 400000)
    differ = {k for k, v in configs.flatten(config.to_dict()).items() if gan[k] != v}
    assert differ == named, model
    # the maxout auto-encoder with a linear code (the code sweep's width) between encoder and
    # decoder
    width = config.model.bottleneck_d
    assert width in pacgan.CODE_SWEEP["ring"] and width > 0
    _, d = step_lib.build_models(config, (2,))
    variables = d.init(jax.random.PRNGKey(0), jnp.zeros((3, 2)), train=False)
    rec, code = d.apply(variables, jnp.ones((3, 2)), train=False)
    chex.assert_shape((rec, code), ((3, 2), (3, width)))
    shapes = jax.tree.map(np.shape, variables["params"])
    assert [shapes[f"Maxout_{i}"]["Dense_0"]["kernel"] for i in range(3)] == [
        (2, 1000), (200, 1000), (width, 1000)]
    assert (shapes["Dense_0"]["kernel"], shapes["Dense_1"]["kernel"]) == (
        (200, width), (200, 2))
  # the Loss-Sensitive GAN: the EBGAN rows' auto-encoder, its Lipschitz control named
  config = pacgan.model_config("ring", "LS-GAN", 400000)
  assert {k for k, v in configs.flatten(config.to_dict()).items() if gan[k] != v} == {
      "algorithm", "lsgan.gradient_penalty"}
  assert config.lsgan.gradient_penalty in pacgan.PENALTY_SWEEP["ring"]


@pytest.mark.slow
def test_began_magan_and_lsgan_rows_train_and_report_through_the_protocol_command(tmp_path):
  # all three train and report through the protocol command (MAGAN's epochs shortened to fit)
  args = ["--steps", "24", "--seeds", "2", "--datasets", "ring", "--models", "BEGAN,MAGAN,LS-GAN",
          "--out", str(tmp_path / "out"), "--workdir", str(tmp_path / "runs"), "--no_progress",
          "--config.model.size_g=16", "--config.model.size_d=8", "--config.batch_size=10",
          "--config.data.train_points=200", "--config.magan.steps_per_epoch=4",
          "--config.magan.pretrain_steps=8"]
  assert pacgan.main(args) == 0
  report = (tmp_path / "out" / "README.md").read_text()
  for model in ("BEGAN", "MAGAN", "LS-GAN"):
    assert f"| {model} (ours) | released | 24 | 2 |" in report
    summary = json.loads((tmp_path / "runs" / "ring" / model / "summary.json").read_text())
    assert all(np.isfinite(m["high_quality"]) for m in summary["members"])


def test_hours_per_100k_updates_is_the_median_logged_window(tmp_path):
  """The report's cost column: rate = images/s of all seeds (batch x pack each), so 100,000
  updates take 1e5 x batch x pack x seeds / rate seconds; the median over the logged windows."""
  assert pacgan.hours_per_100k(str(tmp_path)) is None  # nothing trained
  (tmp_path / "config.json").write_text(json.dumps({"batch_size": 100, "pack": 2}))
  rows = [{"step": step, "member": f"seed={i}", "images_per_sec": rate, "loss_d": 1.0}
          for step, rate in ((1000, 4000.0), (2000, 1000.0), (3000, 2000.0)) for i in range(2)]
  rows.append({"step": 3000, "member": "seed=0", "modes_covered": 8.0})  # an evaluation row
  (tmp_path / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
  seconds = 1e5 * 100 * 2 * 2 / np.median([4000.0, 1000.0, 2000.0])
  assert pacgan.hours_per_100k(str(tmp_path)) == pytest.approx(seconds / 3600)
