"""The shared training step and the runner, on small embedded data."""

import json
import os

import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from ebgan_jax import (configs, data, losses, main, models, rundir, state as state_lib, step as step_lib, train)


def tiny_config(**overrides):
  return configs.with_values(configs.load_config("digits_ebgan_pt"), **{
      "data.image_size": 0, "model.arch": "mlp", "model.size_g": 32, "model.size_d": 16,
      "model.n_layers_g": 2, "latent_dim": 8, "batch_size": 16, "num_steps": 4, "log_every": 2,
      "sample_every": 2, "num_samples": 16, **overrides})


def build(config):
  ds = data.make_dataset(config.data, batch_size=config.batch_size * config.d_steps,
                         seed=config.seed)
  g, d = models.make_models(config.model, ds.shape)
  return ds, g, d, step_lib.create_state(config, g, d, ds.shape)


def test_step_changes_parameters_and_is_deterministic():
  config = tiny_config()
  ds, g, d, state = build(config)
  step = jax.jit(step_lib.make_train_step(config))
  batch = jnp.asarray(ds.batch(0))
  new1, metrics1 = step(state, batch)
  new2, metrics2 = step(state, batch)
  chex.assert_trees_all_equal(new1, new2)
  chex.assert_trees_all_equal(metrics1, metrics2)
  for before, after in ((state.g.params, new1.g.params), (state.d.params, new1.d.params)):
    changed = jax.tree.map(lambda a, b: bool(jnp.any(a != b)), before, after)
    assert all(jax.tree.leaves(changed))
  assert int(new1.step) == 1
  expected = {"loss_d", "loss_g", "energy_real", "energy_fake", "pt", "frac_fake_below_margin",
              "grad_norm_d", "grad_norm_g"}
  assert expected <= set(metrics1)
  chex.assert_tree_all_finite(metrics1)
  # a different seed gives a different step
  other = step_lib.create_state(tiny_config(seed=1), g, d, ds.shape)
  assert not np.allclose(step(other, batch)[1]["loss_g"], metrics1["loss_g"])


@pytest.mark.parametrize("g_steps", [1, 2])
def test_step_is_the_textbook_ebgan_pt_update(g_steps):
  """The step's fused form (one G forward reused through its VJP, D held fixed in the G
  update) equals the plain formulation written with jax.grad over the composed losses; with
  ``g_steps=2`` the generator's update is made twice on the same z."""
  # SGD: Adam would magnify float noise in gradients that are zero in exact arithmetic (the
  # bias before a BatchNorm) into full-size steps.
  config = tiny_config(pt_weight=0.3, margin=2.0, g_steps=g_steps, **{"optimizer.name": "sgd"})
  ds, g, d, state = build(config)
  batch = jnp.asarray(ds.batch(0))
  new, metrics = jax.jit(step_lib.make_train_step(config))(state, batch)

  key = jax.random.fold_in(state.key, state.step)
  k_z, k_real, k_fake, k_g = jax.random.split(jax.random.fold_in(key, 0), 4)
  z = state_lib.sample_latent(k_z, 16, config.latent_dim, config.latent_dist)
  fake = g.apply({"params": state.g.params, "batch_stats": state.g.batch_stats}, z, train=True,
                 mutable=["batch_stats"])[0]

  def energy(params, stats, x, k):
    (rec, code), new_stats = d.apply({"params": params, "batch_stats": stats}, x, train=True,
                                     mutable=["batch_stats"], rngs={"dropout": k})
    return losses.reconstruction_energy(x, rec), code

  def d_loss(params):
    e_real, _ = energy(params, state.d.batch_stats, batch, k_real)
    e_fake, _ = energy(params, state.d.batch_stats, fake, k_fake)
    return jnp.mean(e_real + jnp.maximum(0.0, 2.0 - e_fake))

  d_grads = jax.grad(d_loss)(state.d.params)
  d_params = state.d.apply_gradients(grads=d_grads).params
  chex.assert_trees_all_close(new.d.params, d_params, rtol=1e-5, atol=1e-6)

  def g_loss(params):
    x = g.apply({"params": params, "batch_stats": state.g.batch_stats}, z, train=True,
                mutable=["batch_stats"])[0]
    e, code = energy(d_params, state.d.batch_stats, x, k_g)
    return jnp.mean(e) + 0.3 * losses.pulling_away_term(code)

  g_state = state.g
  for _ in range(g_steps):
    before = g_state.params
    g_state = g_state.apply_gradients(grads=jax.grad(g_loss)(before))
  chex.assert_trees_all_close(new.g.params, g_state.params, rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(metrics["loss_g"], g_loss(before), rtol=1e-5)


@pytest.mark.parametrize("unroll", [True, False])
def test_several_steps_per_dispatch_equal_single_steps(unroll):
  config = tiny_config(steps_per_dispatch=2, unroll_dispatch=unroll, **{"optimizer.name": "sgd"})
  ds, _, _, state = build(config)
  batches = jnp.asarray(np.stack([ds.batch(0), ds.batch(1)]))
  multi, _ = jax.jit(step_lib.make_multi_step(config))(state, batches)
  single = jax.jit(step_lib.make_train_step(config))
  s = state
  for i in range(2):
    s, _ = single(s, batches[i])
  chex.assert_trees_all_close(multi, s, rtol=1e-5, atol=1e-6)


def test_several_discriminator_steps():
  config = tiny_config(d_steps=2)
  ds, _, _, state = build(config)
  batch = jnp.asarray(ds.batch(0))
  assert batch.shape[0] == 32
  new, metrics = jax.jit(step_lib.make_train_step(config))(state, batch)
  chex.assert_tree_all_finite(metrics)
  # Every step count in each optimizer state (optax's public tree lookup, whatever its layout).
  counts = lambda opt_state: {int(v) for _, v in optax.tree_utils.tree_get_all_with_path(
      opt_state, "count")}
  assert counts(new.d.opt_state) == {2} and counts(new.g.opt_state) == {1}


def test_toy_ring_covers_most_modes(tmp_path):
  # The short MLP recipe of `make results` (the experiment is PacGAN's 400,000-update set-up).
  config = configs.toy_config("ring", "ebgan")
  summary = train.train_and_evaluate(config, str(tmp_path), progress=False)
  assert summary["modes_covered"] >= 6, summary
  assert os.path.exists(tmp_path / "samples_final.png")


def test_command_line_end_to_end(tmp_path, capsys):
  workdir = tmp_path / "run"
  rc = main.main(["--config", "experiments/digits_ebgan_pt.py", "--workdir", str(workdir),
                  "--no_progress", "--config.num_steps=4", "--config.log_every=2",
                  "--config.sample_every=2", "--config.model.size_g=32",
                  "--config.model.size_d=16", "--config.batch_size=16",
                  "--config.data.image_size=0"])
  assert rc == 0
  files = set(os.listdir(workdir))
  assert {"config.json", "metrics.jsonl", "summary.json", "loss_curves.png",
          "samples_000002.png", "samples_final.png", "tensorboard"} <= files
  rows = [json.loads(l) for l in open(workdir / "metrics.jsonl")]
  # the training logs at 2 and 4, and the final evaluation beside the last (the summary's)
  assert [(r["step"], "images_per_sec" in r) for r in rows] == [(2, True), (4, True), (4, False)]
  summary = json.load(open(workdir / "summary.json"))
  assert all(summary[k] == v for k, v in rows[-1].items() if k != "step")
  assert json.load(open(workdir / "config.json"))["num_steps"] == 4
  assert "summary:" in capsys.readouterr().out


@pytest.mark.parametrize("args,message", [
    (["--config", "no_such_experiment"], "unknown experiment 'no_such_experiment'"),
    (["--config", "digits_ebgan_pt", "--config.marginn=3"], "unknown config key 'marginn'"),
    (["--config", "digits_ebgan_pt", "--config.margin=-1"], "config.margin must be >= 0"),
    (["--config", "digits_ebgan_pt", "--config.optimizer.lr_d=-0.1"],
     "config.optimizer.lr_d must be positive"),
    (["--config", "digits_ebgan_pt", "--config.num_steps=abc"], "bad value for config key"),
    (["--config", "digits_ebgan_pt", "--config.model.arch=small_conv",
      "--config.data.image_size=10"], "cannot take data of shape"),
])
def test_bad_configuration_is_one_clear_line(tmp_path, capsys, args, message):
  rc = main.main(args + ["--workdir", str(tmp_path / "w"), "--no_progress"])
  err = capsys.readouterr().err
  assert rc == 2
  assert message in err
  assert err.count("\n") == 1 and "Traceback" not in err


def test_unwritable_workdir_is_a_clear_error(tmp_path):
  blocker = tmp_path / "file"
  blocker.write_text("")
  with pytest.raises(ValueError, match="cannot be written"):
    train.train_and_evaluate(tiny_config(), str(blocker / "sub"), progress=False)


def test_bfloat16_compute_keeps_float32_state_and_follows_the_float32_step():
  import jax.numpy as jnp
  from ebgan_jax import configs, step as step_lib
  base = configs.with_values(configs.load_config("digits_ebgan_pt"), **{
      "model.size_g": 32, "model.size_d": 16, "batch_size": 16})
  low = configs.with_values(base.copy_and_resolve_references(), compute_dtype="bfloat16")
  batch = jnp.asarray(np.random.default_rng(0).uniform(-1, 1, (1, 16, 8, 8, 1)), jnp.float32)
  out = {}
  for name, config in (("f32", base), ("bf16", low)):
    g, d = step_lib.build_models(config, (8, 8, 1))
    state = step_lib.create_state(config, g, d, (8, 8, 1))
    step = step_lib.make_multi_step(config)
    jaxpr = str(jax.make_jaxpr(step)(state, batch))
    assert ("bf16" in jaxpr) == (name == "bf16")
    new_state, metrics = jax.jit(step)(state, batch)
    assert all(leaf.dtype == jnp.float32 for leaf in jax.tree.leaves(new_state.g.params))
    assert all(leaf.dtype == jnp.float32 for leaf in jax.tree.leaves(new_state.d.opt_state)
               if hasattr(leaf, "dtype") and jnp.issubdtype(leaf.dtype, jnp.floating))
    out[name] = metrics
  for key in ("loss_d", "loss_g", "energy_real", "energy_fake"):
    # bfloat16 keeps 8 bits of mantissa: the same step to about 1 %
    assert float(out["bf16"][key]) == pytest.approx(float(out["f32"][key]), rel=3e-2), key


def test_metrics_keep_infinite_values_and_tensorboard_skips_them(tmp_path, caplog):
  writer = rundir.MetricWriter(str(tmp_path))
  writer.write(3, {"reverse_kl": float("inf"), "modes_covered": 0.0}, member="seed=0")
  writer.close()
  assert "NaN or Inf" not in caplog.text  # tensorboardX logs this for every such scalar
  (row,) = rundir.read_metrics(str(tmp_path))
  assert row == {"step": 3, "member": "seed=0", "reverse_kl": float("inf"), "modes_covered": 0.0}
