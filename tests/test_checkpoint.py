"""Checkpoints, exact resume after SIGKILL, the divergence guard, and bad input."""

import pathlib
import signal
import subprocess
import sys
import time

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ebgan_jax import configs, data, sample, step as step_lib, train, trained

from conftest import copy_of, tiny

REPO = pathlib.Path(__file__).resolve().parent.parent
FAST = ["--config.num_steps=400", "--config.checkpoint_every=40", "--config.log_every=40",
        "--config.sample_every=1000", "--config.model.size_g=64", "--config.model.size_d=64"]


def run_cli(workdir, *extra, config="toy_ring_ebgan"):
  cmd = [sys.executable, "-m", "ebgan_jax.main", "--config", config, "--workdir", str(workdir),
         "--no_progress", *FAST, *extra]
  return subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True)


def saved_steps(workdir):
  d = pathlib.Path(workdir) / "checkpoints"
  return sorted(int(p.name) for p in d.iterdir() if p.name.isdigit()) if d.exists() else []


def kill_and_resume_matches(tmp_path, kill_after_checkpoints: int) -> bool:
  reference, interrupted = tmp_path / "reference", tmp_path / "interrupted"
  ref = run_cli(reference)
  proc = run_cli(interrupted)
  deadline = time.time() + 120
  while len(saved_steps(interrupted)) < kill_after_checkpoints and proc.poll() is None:
    assert time.time() < deadline, "no checkpoint appeared"
    time.sleep(0.02)
  proc.send_signal(signal.SIGKILL)
  proc.wait()
  assert proc.returncode == -signal.SIGKILL, "the run finished before it could be killed"
  killed_at = saved_steps(interrupted)
  resumed = run_cli(interrupted)
  out, err = resumed.communicate(timeout=300)
  assert resumed.returncode == 0, err
  assert "resuming from step" in out, (out, killed_at)
  assert ref.wait(timeout=300) == 0
  a, b = trained.load(str(reference)), trained.load(str(interrupted))
  assert a.step == b.step == 400
  leaves_a, leaves_b = jax.tree.leaves(a.state), jax.tree.leaves(b.state)
  return all(np.array_equal(np.asarray(x), np.asarray(y)) for x, y in zip(leaves_a, leaves_b))


# Resuming bitwise is tested fast in-process (test_bihm, test_replay, test_loader), a signalled
# subprocess by test_sigterm_saves_and_exits.
@pytest.mark.slow
def test_sigkill_then_resume_is_bitwise_identical(tmp_path):
  assert kill_and_resume_matches(tmp_path, kill_after_checkpoints=2)


@pytest.mark.slow
@pytest.mark.parametrize("trial", range(5))
def test_sigkill_trials(tmp_path, trial):
  assert kill_and_resume_matches(tmp_path, kill_after_checkpoints=1 + trial % 4)


def test_sigterm_saves_and_exits(tmp_path):
  proc = run_cli(tmp_path, "--config.num_steps=200000", "--config.checkpoint_every=100000")
  deadline = time.time() + 120
  while not (tmp_path / "metrics.jsonl").exists():
    assert proc.poll() is None and time.time() < deadline
    time.sleep(0.05)
  proc.send_signal(signal.SIGTERM)
  out, _ = proc.communicate(timeout=120)
  assert proc.returncode == 3
  assert "stopped by SIGTERM" in out
  steps = saved_steps(tmp_path)
  assert len(steps) == 1 and steps[0] > 0 and trained.load(str(tmp_path)).step == steps[0]


@pytest.mark.parametrize("mode", ["stop", "skip"])
def test_divergence_guard(tmp_path, mode, capsys):
  config = tiny(on_nonfinite=mode, num_steps=40, **{"optimizer.lr_g": 1e30, "optimizer.lr_d": 1e30})
  if mode == "stop":
    with pytest.raises(train.TrainingStopped, match=r"non-finite .* at step \d+; no checkpoint"):
      train.train_and_evaluate(config, str(tmp_path), progress=False)
    assert saved_steps(tmp_path) == []
  else:
    summary = train.train_and_evaluate(config, str(tmp_path), progress=False)
    assert summary["skipped_steps"] > 0
    run = trained.load(str(tmp_path))
    chex.assert_tree_all_finite(run.state.g.params)
    chex.assert_tree_all_finite(run.state.d.params)


def test_guard_keeps_the_last_good_checkpoint(tmp_path, monkeypatch):
  train.train_and_evaluate(tiny(num_steps=20), str(tmp_path), progress=False)
  before = trained.load(str(tmp_path))
  # Finite data so large that the energies overflow from step 25 on.
  clean = data.MixtureDataset.batch
  monkeypatch.setattr(data.MixtureDataset, "batch",
                      lambda self, step, rows=slice(None):
                      clean(self, step, rows) * (1e30 if step >= 25 else 1.0))
  with pytest.raises(train.TrainingStopped,
                     match=r"non-finite discriminator loss at step 25; the last good checkpoint \(step 20\)"):
    train.train_and_evaluate(tiny(num_steps=40), str(tmp_path), progress=False)
  after = trained.load(str(tmp_path))
  assert after.step == 20
  chex.assert_trees_all_equal(jax.tree.leaves(before.state), jax.tree.leaves(after.state))


def test_step_with_a_poisoned_batch_changes_nothing():
  config = tiny(on_nonfinite="skip")
  ds = data.make_dataset(config.data, batch_size=config.batch_size, seed=0)
  from ebgan_jax import models
  g, d = models.make_models(config.model, ds.shape)
  state = step_lib.create_state(config, g, d, ds.shape)
  batch = np.array(ds.batch(0))
  batch[3, 0] = np.nan
  new, metrics = jax.jit(step_lib.make_train_step(config))(state, jnp.asarray(batch))
  chex.assert_trees_all_equal(new.g.params, state.g.params)
  chex.assert_trees_all_equal(new.d.params, state.d.params)
  assert int(metrics["skipped_steps"]) == 1 and int(new.guard["bad_step"]) == 0
  assert train.GUARDED[int(new.guard["bad_what"]) - 1] == "discriminator loss"


def test_a_restored_state_has_the_types_of_a_new_one(finished_run):
  # Shapes, dtypes and weak types alike: a resumed run then traces the program a new run
  # compiled and finds it in the compilation cache, instead of compiling another.
  config = tiny()
  shape = data.example_shape(config.data)
  fresh = step_lib.create_state(config, *step_lib.build_models(config, shape), shape)
  restored = trained.load(str(finished_run)).state
  types = lambda state: [(jax.tree_util.keystr(path), x.shape, x.dtype, x.weak_type)
                         for path, x in jax.tree_util.tree_leaves_with_path(state)]
  assert types(restored) == types(fresh)


def test_truncated_latest_checkpoint_falls_back(tmp_path):
  train.train_and_evaluate(tiny(num_steps=20), str(tmp_path), progress=False)
  assert saved_steps(tmp_path) == [10, 20]
  for f in (tmp_path / "checkpoints" / "20").rglob("*"):
    if f.is_file():
      f.write_bytes(f.read_bytes()[: len(f.read_bytes()) // 3])
  with pytest.warns(UserWarning, match="checkpoint 20 .* cannot be read"):
    summary = train.train_and_evaluate(tiny(num_steps=30), str(tmp_path), progress=False)
  assert summary["steps"] == 30
  assert (tmp_path / "corrupt_checkpoints" / "20").exists()
  assert saved_steps(tmp_path) == [10, 20, 30]


def test_incompatible_config_is_refused_and_nothing_overwritten(finished_run, tmp_path,
                                                                monkeypatch):
  tmp_path = copy_of(finished_run, tmp_path)
  before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
  with pytest.raises(ValueError, match=r"resuming: model.size_g was 32 when the run started and "
                                       r"is 48 now"):
    train.train_and_evaluate(tiny(**{"model.size_g": 48}), str(tmp_path), progress=False)
  # The shapes are the last resort, for a difference the stored config cannot name.
  with monkeypatch.context() as m:
    m.setattr(configs, "resume_check", lambda before, config: [])
    with pytest.raises(ValueError, match=r"other shapes than this config \(.*BatchNorm_0.*\[32\] "
                                         r"saved vs \[48\] now"):
      train.train_and_evaluate(tiny(**{"model.size_g": 48}), str(tmp_path), progress=False)
  other = configs.load_config("toy_grid_ebgan")
  with pytest.raises(ValueError, match="checkpoints of experiment 'toy_ring_ebgan', not 'toy_grid_ebgan'"):
    train.train_and_evaluate(other, str(tmp_path), progress=False)
  after = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
  assert before == after


def test_sample_command_writes_png_and_npz(finished_run, tmp_path, capsys):
  tmp_path = copy_of(finished_run, tmp_path)
  assert sample.main(["--workdir", str(tmp_path), "--n", "16"]) == 0
  npz = np.load(tmp_path / "generated_step20_n16.npz")
  assert npz["samples"].shape == (16, 2)
  np.testing.assert_array_equal(npz["samples"], trained.load(str(tmp_path)).sample(16))
  assert (tmp_path / "generated_step20_n16.png").exists()
  assert sample.main(["--workdir", str(tmp_path / "nothing")]) == 2
  assert "holds no run" in capsys.readouterr().err


def test_nan_in_the_data_is_a_clear_error(tmp_path, monkeypatch):
  images, labels = data.load_digits()
  images[5] = np.nan
  monkeypatch.setattr(data, "load_digits", lambda size=0: (images, labels))
  config = configs.load_config("digits_ebgan_pt")
  with config.unlocked():
    config.num_steps, config.batch_size = 200, 64
  with pytest.raises(ValueError, match=r"data batch of step \d+ from 'digits' holds NaN"):
    train.train_and_evaluate(config, str(tmp_path), progress=False)


def test_batch_that_devices_do_not_divide(tmp_path, monkeypatch):
  monkeypatch.setattr(train.jax, "device_count", lambda: 8)
  with pytest.raises(ValueError, match=r"batch_size=20 does not divide over 8 devices; .*=16"):
    train.train_and_evaluate(tiny(batch_size=20), str(tmp_path), progress=False)
