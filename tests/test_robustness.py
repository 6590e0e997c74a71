"""Nothing a user does to a live or finished run loses or corrupts it: read-only readers,
refused resumes, damaged files, skipped updates, bad values, a full disk, a second process."""

import errno
import json
import os
import pathlib
import re
import shutil
import signal
import subprocess
import sys
import textwrap
import time
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ebgan_jax import (algorithms, checkpoint, configs, evaluate, losses, main, rundir, sample, sweep, train, trained)

from conftest import copy_of, tiny

REPO = pathlib.Path(__file__).resolve().parent.parent


def snapshot(workdir):
  return {p: p.read_bytes() for p in pathlib.Path(workdir).rglob("*") if p.is_file()}


def steps_on_disk(workdir):
  d = pathlib.Path(workdir) / "checkpoints"
  return sorted(int(p.name) for p in d.iterdir() if p.name.isdigit())


# ----------------------------------------------------------------------------------------------
# 1. Readers are read-only
# ----------------------------------------------------------------------------------------------

def test_reading_a_live_run_leaves_the_training_untouched(tmp_path, capsys):
  workdir = tmp_path / "live"
  cmd = [sys.executable, "-m", "ebgan_jax.main", "--config", "toy_ring_ebgan", "--workdir",
         str(workdir), "--no_progress", "--config.num_steps=1000000",
         "--config.checkpoint_every=50", "--config.log_every=50", "--config.sample_every=1000000",
         "--config.model.size_g=32", "--config.model.size_d=32"]
  trainer = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)
  try:
    deadline = time.time() + 120
    while not (workdir / "checkpoints").exists() or not steps_on_disk(workdir):
      assert trainer.poll() is None and time.time() < deadline, trainer.communicate()
      time.sleep(0.05)
    reads, seen_steps = 0, set()
    for i in range(12):  # the library, make sample and make eval, in turn
      if i % 3 == 0:
        run = trained.load(str(workdir))
        assert run.sample(4).shape == (4, 2)
        seen_steps.add(run.step)
      elif i % 3 == 1:
        assert sample.main(["--workdir", str(workdir), "--n", "8"]) == 0
      else:
        assert evaluate.main(["--workdir", str(workdir)]) == 0
      reads += 1
      assert trainer.poll() is None, trainer.communicate()
    assert reads == 12 and len(seen_steps) > 1  # it went on training while being read
  finally:
    trainer.send_signal(signal.SIGTERM)
    out, err = trainer.communicate(timeout=120)
  assert trainer.returncode == 3, err
  assert "stopped by SIGTERM" in out and "Traceback" not in err
  assert not (workdir / "corrupt_checkpoints").exists()
  assert trained.load(str(workdir)).step == steps_on_disk(workdir)[-1]


def test_a_reader_moves_nothing_and_reads_the_previous_checkpoint(finished_run, tmp_path):
  workdir = copy_of(finished_run, tmp_path)
  for f in (workdir / "checkpoints" / "20").rglob("*"):
    if f.is_file():
      f.write_bytes(f.read_bytes()[: len(f.read_bytes()) // 3])
  before = snapshot(workdir)
  with pytest.warns(UserWarning, match=r"checkpoint 20 .* cannot be read .*nothing was moved"):
    run = trained.load(str(workdir))
  assert run.step == 10
  assert snapshot(workdir) == before and not (workdir / "corrupt_checkpoints").exists()


def test_a_transient_error_never_moves_a_good_checkpoint(finished_run, tmp_path, monkeypatch):
  workdir = copy_of(finished_run, tmp_path)
  manager_restore = checkpoint.ocp.CheckpointManager.restore

  def failing(self, step, args=None):
    if "state" in (args.keys() if args is not None else ()):
      raise OSError(errno.EIO, "Input/output error")
    return manager_restore(self, step, args=args)

  monkeypatch.setattr(checkpoint.ocp.CheckpointManager, "restore", failing)
  with pytest.raises(OSError, match="Input/output error"):
    train.train_and_evaluate(tiny(num_steps=30), str(workdir), progress=False)
  assert steps_on_disk(workdir) == [10, 20] and not (workdir / "corrupt_checkpoints").exists()
  assert not checkpoint._is_corruption(MemoryError())
  assert checkpoint._is_corruption(ValueError("DATA_LOSS: checksum mismatch"))
  assert not checkpoint._is_corruption(ValueError("RESOURCE_EXHAUSTED: out of memory"))


# ----------------------------------------------------------------------------------------------
# 2. Resuming refuses another run
# ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("key,value", [("seed", 1), ("energy_norm", "l2"),
                                       ("latent_dist", "uniform"), ("pack", 2),
                                       ("algorithm", "gan")])
def test_resuming_with_a_value_that_changes_the_run_is_refused(finished_run, tmp_path, key, value):
  workdir = copy_of(finished_run, tmp_path)
  before = snapshot(workdir)
  old = configs.get_key(tiny(), key)
  with pytest.raises(ValueError, match=rf"resuming: {key} was {old!r} when the run started and "
                                       rf"is {value!r} now; .*use a new --workdir"):
    train.train_and_evaluate(tiny(num_steps=30, **{key: value}), str(workdir), progress=False)
  assert snapshot(workdir) == before


def test_resuming_with_fewer_steps_than_the_checkpoint_is_refused(finished_run, tmp_path,
                                                                 capsys):
  workdir = copy_of(finished_run, tmp_path)
  before = snapshot(workdir)
  args = ["--config", "toy_ring_ebgan", "--workdir", str(workdir), "--no_progress",
          *[f"--config.{k}={v}" for k, v in configs.flatten(tiny().to_dict()).items()
            if k in ("model.size_g", "model.size_d", "margin", "log_every", "checkpoint_every",
                     "sample_every", "async_checkpoints")], "--config.num_steps=10"]
  assert main.main(args) == 2
  err = capsys.readouterr().err.strip().splitlines()
  assert len(err) == 1 and "is at step 20, past num_steps=10" in err[0], err
  assert snapshot(workdir) == before


def test_resuming_keeps_the_values_in_force_in_config_json(finished_run, tmp_path):
  workdir = copy_of(finished_run, tmp_path)
  with pytest.warns(UserWarning, match="margin was 0.5 when the run started and is 2 in the config"):
    train.train_and_evaluate(tiny(num_steps=30, margin=2.0), str(workdir), progress=False)
  written = json.loads((workdir / "config.json").read_text())
  assert written["margin"] == 0.5 and written["num_steps"] == 30  # what the run ran with
  assert float(trained.load(str(workdir)).state.controller["margin"]) == 0.5


def test_resuming_a_sweep_with_other_members_is_refused(tmp_path):
  config = tiny()
  sweep.run_sweep(config, {"margin": ["0.5", "1"]}, str(tmp_path), progress=False)
  before = snapshot(tmp_path)
  config = tiny(num_steps=30)
  with pytest.raises(ValueError, match=r"has members \['margin=0.5', 'margin=1'\], not "
                                       r"\['margin=4', 'margin=8'\]"):
    sweep.run_sweep(config, {"margin": ["4", "8"]}, str(tmp_path), progress=False)
  assert snapshot(tmp_path) == before
  # A value added to the sweep names both member lists, not the shapes they change.
  with pytest.raises(ValueError, match=r"has members \['margin=0.5', 'margin=1'\], not "
                                       r"\['margin=0.5', 'margin=1', 'margin=2'\]"):
    sweep.run_sweep(config, {"margin": ["0.5", "1", "2"]}, str(tmp_path), progress=False)
  with pytest.raises(ValueError, match=r"holds a sweep \(members \['margin=0.5', 'margin=1'\]\), "
                                       r"not a single run"):
    train.train_and_evaluate(config, str(tmp_path), progress=False)
  assert snapshot(tmp_path) == before
  # (Resuming with the same members: tests/test_sweep.py.)
  run = trained.load(str(tmp_path))
  assert run.step == 20 and run.members == ["margin=0.5", "margin=1"]
  np.testing.assert_array_equal(run.state.controller["margin"], [0.5, 1.0])


def test_a_sweep_in_a_single_runs_workdir_is_refused(finished_run, tmp_path):
  workdir = copy_of(finished_run, tmp_path)
  before = snapshot(workdir)
  with pytest.raises(ValueError, match=r"holds a single run of 'toy_ring_ebgan', not a sweep; "
                                       r"use a new --workdir"):
    sweep.run_sweep(tiny(num_steps=30), {"margin": ["0.5", "1"]}, str(workdir), progress=False)
  assert snapshot(workdir) == before


def _cli_refusal(capsys, command, args) -> str:
  """Runs a command's ``main``; asserts exit 2 and one line on stderr, which it returns."""
  code = command.main(args)
  err = capsys.readouterr().err.strip().splitlines()
  assert code == 2 and len(err) == 1, (code, err)
  return err[0]


def _train_args(workdir, *extra):
  return ["--config", "toy_ring_ebgan", "--workdir", str(workdir), "--no_progress",
          *[f"--config.{k}={v}" for k, v in configs.flatten(tiny().to_dict()).items()
            if k in ("model.size_g", "model.size_d", "margin", "log_every", "checkpoint_every",
                     "sample_every", "async_checkpoints")], *extra]


@pytest.mark.parametrize("damage", ["checkpoints_is_a_file", "config_json_is_a_folder",
                                    "metrics_not_writable"])
def test_a_damaged_workdir_is_refused_before_any_file_changes(finished_run, tmp_path, capsys,
                                                              monkeypatch, damage):
  """Check, then act: the trainer used to warn, cut metrics.jsonl to one row, rewrite
  config.json and only then fail at its first checkpoint when ``checkpoints`` was a file."""
  workdir = copy_of(finished_run, tmp_path)
  if damage == "checkpoints_is_a_file":
    shutil.rmtree(workdir / "checkpoints")
    (workdir / "checkpoints").write_text("not a folder\n")
    expected = f"{workdir / 'checkpoints'} is not a folder, where the run keeps its checkpoints"
  elif damage == "config_json_is_a_folder":
    (workdir / "config.json").unlink()
    (workdir / "config.json").mkdir()
    expected = f"{workdir / 'config.json'} is a folder, where the run keeps its config.json file"
  else:
    metrics = str(workdir / "metrics.jsonl")
    real_access = os.access  # as root, a mode never denies writing: the check is simulated
    monkeypatch.setattr(rundir.os, "access", lambda p, mode: (
        False if str(p) == metrics and mode & os.W_OK else real_access(p, mode)))
    expected = f"{metrics} is not writable; make it writable"
  before = snapshot(workdir)
  line = _cli_refusal(capsys, main, _train_args(workdir, "--config.num_steps=30"))
  assert expected in line, line
  assert snapshot(workdir) == before and (workdir / "config.json").exists()
  if damage == "config_json_is_a_folder":  # the readers say the same
    assert expected in _cli_refusal(capsys, sample, ["--workdir", str(workdir)])


def test_sample_on_an_edited_config_names_the_file_and_the_key(finished_run, tmp_path, capsys):
  workdir = copy_of(finished_run, tmp_path)
  settings = json.loads((workdir / "config.json").read_text())
  settings["latent_dim"] = 7
  settings["eval_samples"] = 100  # an evaluation setting may be edited
  (workdir / "config.json").write_text(json.dumps(settings))
  before = snapshot(workdir)
  line = _cli_refusal(capsys, sample, ["--workdir", str(workdir)])
  assert line == (f"error: {workdir / 'config.json'} says latent_dim=7, but the checkpoint at "
                  "step 20 was written with latent_dim=2; put 2 back in the file (or delete "
                  "the file: the checkpoint's own record is then used).")
  assert snapshot(workdir) == before


@pytest.mark.parametrize("override,message", [
    ("latent_dim=100000000000", "error: config.latent_dim=100000000000 makes one step's batch "
     "40000.0 GB"),
    ("model.size_g=100000000", "error: config.model's sizes make the training state"),
])
def test_sizes_beyond_the_hosts_memory_are_one_line(tmp_path, capsys, override, message):
  line = _cli_refusal(capsys, main, _train_args(tmp_path / "run", f"--config.{override}"))
  assert line.startswith(message) and "more than this host's" in line, line
  assert not (tmp_path / "run").exists()  # a refused run leaves no workdir behind


def test_an_image_size_beyond_the_hosts_memory_is_one_line(tmp_path, capsys):
  line = _cli_refusal(capsys, main, ["--config", "digits_ebgan_pt", "--workdir",
                                     str(tmp_path / "run"), "--config.data.image_size=100000"])
  assert line.startswith("error: config.data.image_size=100000 makes one step's batch 2560.0 GB")
  assert not (tmp_path / "run").exists()


def test_too_many_samples_is_one_line(finished_run, capsys):
  before = snapshot(finished_run)
  line = _cli_refusal(capsys, sample, ["--workdir", str(finished_run), "--n", str(10**13)])
  assert line.startswith("error: 10,000,000,000,000 samples would take 240000.0 GB"), line
  assert "draw at most" in line and snapshot(finished_run) == before


def test_more_samples_than_one_chunk_are_drawn_in_chunks(finished_run, monkeypatch):
  run = trained.load(str(finished_run))
  whole = run.sample(10, seed=3)
  monkeypatch.setattr(trained, "SAMPLE_CHUNK", 4)
  np.testing.assert_allclose(run.sample(10, seed=3), whole, rtol=1e-6, atol=1e-6)


@pytest.fixture
def read_only_run(finished_run, tmp_path):
  """A copy of the finished run on a read-only mount (root), or without write permission."""
  workdir = copy_of(finished_run, tmp_path)
  mounted = os.geteuid() == 0 and shutil.which("mount") and subprocess.run(
      ["mount", "--bind", str(workdir), str(workdir)], capture_output=True).returncode == 0
  if mounted:
    subprocess.run(["mount", "-o", "remount,bind,ro", str(workdir)], check=True)
  elif os.geteuid() != 0:
    for p in [workdir, *workdir.rglob("*")]:
      p.chmod(p.stat().st_mode & ~0o222)
  else:
    pytest.skip("cannot make a read-only folder here")
  yield workdir
  if mounted:
    subprocess.run(["umount", str(workdir)], check=True)
  else:
    for p in [workdir, *workdir.rglob("*")]:
      p.chmod(p.stat().st_mode | 0o200)


def test_sample_and_eval_on_a_read_only_run_say_so_first_and_write_elsewhere(
    read_only_run, tmp_path, capsys):
  before = snapshot(read_only_run)
  line = _cli_refusal(capsys, sample, ["--workdir", str(read_only_run)])
  assert line.startswith(f"error: {read_only_run} is not writable (a read-only run?); pass "
                         "--out (make sample ARGS=\"--out DIR\") DIR"), line
  line = _cli_refusal(capsys, evaluate, ["--workdir", str(read_only_run)])
  assert "--out (make eval ARGS=" in line, line
  out = tmp_path / "elsewhere"
  assert sample.main(["--workdir", str(read_only_run), "--n", "8", "--out", str(out)]) == 0
  assert evaluate.main(["--workdir", str(read_only_run), "--out", str(out)]) == 0
  assert {p.name for p in out.iterdir()} == {"generated_step20_n8.png", "generated_step20_n8.npz",
                                             "eval.json"}
  assert snapshot(read_only_run) == before


# ----------------------------------------------------------------------------------------------
# 3. Inception weights are checked before training
# ----------------------------------------------------------------------------------------------

def test_unreadable_inception_weights_stop_the_run_before_the_first_step(tmp_path, capsys):
  import tensorflow_datasets as tfds
  garbage = tmp_path / "weights.pth"
  garbage.write_bytes(os.urandom(4096))
  run = tmp_path / "run"
  with tfds.testing.mock_data(num_examples=8):
    code = main.main(["--config", "mnist_ebgan", "--workdir", str(run), "--no_progress",
                      f"--config.data.data_dir={tmp_path}", "--config.batch_size=4",
                      f"--config.inception_weights={garbage}"])
  err = capsys.readouterr().err.strip().splitlines()
  assert code == 2 and len(err) == 1
  assert err[0].startswith(f"error: Inception weights {garbage} cannot be used")
  assert not (run / "checkpoints").exists() and not (run / "metrics.jsonl").exists()


# ----------------------------------------------------------------------------------------------
# 4, 5, 6. Finished runs, damaged files, bit rot
# ----------------------------------------------------------------------------------------------

def test_rerunning_a_finished_run_keeps_its_summary(finished_run, tmp_path):
  workdir = copy_of(finished_run, tmp_path)
  first = rundir.loads((workdir / "summary.json").read_text())
  again = train.train_and_evaluate(tiny(), str(workdir), progress=False)
  second = rundir.loads((workdir / "summary.json").read_text())
  assert {"loss_d", "loss_g", "energy_real"} <= set(second)
  first.pop("seconds"), second.pop("seconds"), again.pop("seconds")
  assert second == first == again


def test_a_cut_off_metrics_line_is_dropped_on_resume(finished_run, tmp_path):
  workdir = copy_of(finished_run, tmp_path)
  with open(workdir / "metrics.jsonl", "a") as f:
    f.write('{"step": 30, "loss_d": 0.4')  # killed mid-write
  with pytest.warns(UserWarning, match=r"metrics.jsonl: dropped a cut-off last line"):
    train.train_and_evaluate(tiny(num_steps=30), str(workdir), progress=False)
  rows = rundir.read_metrics(str(workdir))
  assert [r["step"] for r in rows if "images_per_sec" in r] == [10, 20, 30]
  # the final evaluations of the first end and of this one; nothing of the cut-off line
  assert [r["step"] for r in rows if "modes_covered" in r] == [20, 30]
  assert len(rows) == 5


def test_a_damaged_metrics_line_names_the_file_and_line(finished_run, tmp_path):
  workdir = copy_of(finished_run, tmp_path)
  lines = (workdir / "metrics.jsonl").read_text().splitlines()
  (workdir / "metrics.jsonl").write_text("\n".join(["{garbage"] + lines) + "\n")
  with pytest.raises(ValueError, match=r"metrics.jsonl line 1 is not valid JSON; delete that line"):
    train.train_and_evaluate(tiny(num_steps=30), str(workdir), progress=False)


def test_a_corrupt_config_json_is_recovered_from_the_checkpoint(finished_run, tmp_path):
  workdir = copy_of(finished_run, tmp_path)
  (workdir / "config.json").write_text('{"name": "toy_ring_eb')
  assert trained.load(str(workdir)).step == 20  # reads the checkpoint's record
  train.train_and_evaluate(tiny(num_steps=30), str(workdir), progress=False)
  assert json.loads((workdir / "config.json").read_text())["num_steps"] == 30


def test_a_checkpoint_restoring_non_finite_values_is_treated_as_corrupt(finished_run, tmp_path):
  workdir = copy_of(finished_run, tmp_path)
  run = trained.load(str(workdir))
  # What flipped bytes did: Adam's second moment restored as NaN, saved as the newest step.
  nu = run.state.d.opt_state.inner_state[0].nu
  poisoned_nu = jax.tree.map(lambda x: jnp.full_like(x, jnp.nan), nu)
  inner = (run.state.d.opt_state.inner_state[0]._replace(nu=poisoned_nu),
           *run.state.d.opt_state.inner_state[1:])
  opt_state = run.state.d.opt_state._replace(inner_state=inner)
  state = run.state.replace(step=jnp.asarray(30, jnp.int32),
                            d=run.state.d.replace(opt_state=opt_state))
  writer = checkpoint.Checkpointer(str(workdir), async_save=False)
  meta = writer.read_meta(20)
  writer.save(30, state, {k: v for k, v in meta.items() if k not in ("step", "shapes")})
  writer.close()
  with pytest.warns(UserWarning, match=r"checkpoint 30 .*non-finite values restored in "
                                       r"\['d'\]\.opt_state.*nu.*nothing was moved"):
    assert trained.load(str(workdir)).step == 20
  with pytest.warns(UserWarning, match=r"checkpoint 30 .*moved to"):
    summary = train.train_and_evaluate(tiny(num_steps=40), str(workdir), progress=False)
  assert summary["steps"] == 40 and (workdir / "corrupt_checkpoints" / "30").exists()


# ----------------------------------------------------------------------------------------------
# 7. on_nonfinite=skip does not train on nothing
# ----------------------------------------------------------------------------------------------

def test_skip_mode_warns_and_stops_when_no_update_is_applied(tmp_path):
  config = tiny(on_nonfinite="skip", num_steps=300, max_consecutive_skips=50,
                **{"optimizer.lr_g": 1e30, "optimizer.lr_d": 1e30})
  with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    with pytest.raises(train.TrainingStopped, match=r"no update was applied in the last \d+ "
                                                     r"steps .*max_consecutive_skips=50"):
      train.train_and_evaluate(config, str(tmp_path), progress=False)
  skips = [str(w.message) for w in caught if "updates skipped so far" in str(w.message)]
  assert skips and "10 of 10 updates skipped" in skips[0]


# ----------------------------------------------------------------------------------------------
# 8. Validation
# ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("override,message", [
    ("margin=nan", "config.margin must be a finite number, got nan"),
    ("optimizer.lr_g=inf", "config.optimizer.lr_g must be a finite number, got inf"),
    ("pt_weight=-inf", "config.pt_weight must be a finite number"),
    ("seed=-1", "config.seed must be >= 0, got -1"),
    ("seed=100000000000000000000", "config.seed must be below 4294967296, the range of "
     "jax.random's seeds; got 100000000000000000000, pass e.g. --config.seed="),
    ("data.image_size=-8", "config.data.image_size must be >= 0, got -8"),
])
def test_bad_values_name_their_key(override, message):
  config = configs.load_config("toy_ring_ebgan")
  configs.apply_overrides(config, [override])
  with pytest.raises(ValueError, match=message.replace(".", r"\.")):
    configs.validate(config)


@pytest.mark.parametrize("name,text,message", [
    ("mine.py", "def config():\n  return None\n", "defines no get_config()"),
    ("notpy.txt", "not python\n", "notpy.txt is not an experiment file"),
    ("syntax.py", "def get_config(:\n  pass\n", "syntax.py, line 1: "),
    ("raises.py", "import nonexistent_module_xyz\n", "raised ModuleNotFoundError"),
    ("broken.py", "def get_config():\n  return {}['x']\n", "broken.py raised KeyError: 'x'; fix the experiment file"),
    ("partial.py", "import ml_collections\n\ndef get_config():\n  from ebgan_jax import "
     "configs\n  c = configs.base_config()\n  with c.unlocked():\n    del c['energy_scale']\n"
     "  return c\n", "has no 'energy_scale'; start from ebgan_jax.configs.base_config()"),
])
def test_a_bad_experiment_file_is_one_line_and_writes_nothing(tmp_path, capsys, name, text,
                                                               message):
  bad = tmp_path / name
  bad.write_text(text)
  before = snapshot(tmp_path)
  assert main.main(["--config", str(bad), "--workdir", str(tmp_path / "run")]) == 2
  err = capsys.readouterr().err.strip().splitlines()
  assert len(err) == 1 and message in err[0], err
  assert snapshot(tmp_path) == before and not (tmp_path / "run").exists()


def test_pulling_away_term_traces_for_very_large_batches():
  # N (N - 1) > 2^31 - 1; traced only (the B x B matrix would need 8.6 GB).
  out = jax.eval_shape(losses.pulling_away_term, jax.ShapeDtypeStruct((46342, 4), jnp.float32))
  assert out.shape == () and out.dtype == jnp.float32


def test_pulling_away_term_is_skipped_when_its_weight_is_zero():
  algorithm = algorithms.EBGAN()
  rng = np.random.default_rng(0)
  x = jnp.asarray(rng.normal(size=(6, 4)), jnp.float32)
  out = (x * 0.9, jnp.asarray(rng.normal(size=(6, 3)), jnp.float32))
  loss = lambda w: algorithm.generator_loss(x, out, {"pt_weight": jnp.float32(w)})
  off, on = jax.jit(loss)(0.0), jax.jit(loss)(0.5)
  assert float(off[1]["pt"]) == 0.0
  np.testing.assert_allclose(off[0], off[1]["energy_fake_g"])
  np.testing.assert_allclose(on[1]["pt"], losses.pulling_away_term(out[1]), rtol=1e-6)
  np.testing.assert_allclose(on[0], on[1]["energy_fake_g"] + 0.5 * on[1]["pt"], rtol=1e-6)
  assert "cond" in str(jax.make_jaxpr(loss)(0.0))  # one branch runs, not both


# ----------------------------------------------------------------------------------------------
# 9. A full disk
# ----------------------------------------------------------------------------------------------

def test_a_full_disk_is_one_line_naming_what_was_saved(finished_run, tmp_path, monkeypatch,
                                                       capsys):
  workdir = copy_of(finished_run, tmp_path)

  def full(self, step, metrics, member=None):
    raise OSError(errno.ENOSPC, "No space left on device", str(workdir / "metrics.jsonl"))

  monkeypatch.setattr(rundir.MetricWriter, "write", full)
  code = main.main(["--config", "toy_ring_ebgan", "--workdir", str(workdir),
                    "--config.num_steps=40", "--config.log_every=10",
                    "--config.checkpoint_every=10", "--config.sample_every=1000",
                    "--config.model.size_g=32", "--config.model.size_d=32",
                    "--config.async_checkpoints=false"])
  err = capsys.readouterr().err.strip().splitlines()
  assert code == 1 and re.fullmatch(
      rf"error: the disk holding {workdir} is full \([\d.]+ [kMG]?B free, a checkpoint of this "
      r"run takes about [\d.]+ [kMG]?B\); the last complete checkpoint is step 20; rerun the "
      r"same command to resume once space is freed\.", err[-1]), err[-1]


def _mount_small_tmpfs(path, size):
  if os.geteuid() != 0 or shutil.which("mount") is None:
    return False
  path.mkdir()
  return subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                        capture_output=True).returncode == 0


@pytest.mark.slow  # a subprocess; the first checkpoint's cases run in-process on a tmpfs below
def test_a_really_full_disk(tmp_path):
  """On a 2 MB file system (needs root and mount; skipped elsewhere)."""
  small = tmp_path / "small"
  if not _mount_small_tmpfs(small, "2m"):
    pytest.skip("cannot mount a small tmpfs here")
  try:
    proc = subprocess.run(
        [sys.executable, "-m", "ebgan_jax.main", "--config", "toy_ring_ebgan", "--workdir",
         str(small / "run"), "--config.num_steps=5000", "--config.log_every=10",
         "--config.checkpoint_every=10", "--config.keep_checkpoints=1000",
         "--config.sample_every=1000000", "--config.model.size_g=32",
         "--config.model.size_d=32"], cwd=REPO, capture_output=True, text=True, timeout=300)
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 1, proc.stderr[-3000:]
    assert lines[-1].startswith(f"error: the disk holding {small / 'run'} is full"), lines[-5:]
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
  finally:
    subprocess.run(["umount", str(small)], capture_output=True)


@pytest.fixture
def small_disk(tmp_path):
  """A 5 MB file system (needs root and mount; skipped elsewhere)."""
  small = tmp_path / "small"
  if not _mount_small_tmpfs(small, "5m"):
    pytest.skip("cannot mount a small tmpfs here")
  yield small
  subprocess.run(["umount", str(small)], capture_output=True)


_FULL_SIZE_RING = ["--config", "toy_ring_ebgan", "--no_progress", "--config.num_steps=20",
                   "--config.log_every=10", "--config.checkpoint_every=10"]


def test_a_disk_too_small_for_the_first_checkpoint_is_said_before_training(small_disk, capfd):
  # The ring's default networks: a checkpoint of about 9 MB, on a 5 MB disk.
  code = main.main([*_FULL_SIZE_RING, "--workdir", str(small_disk / "run")])
  err = capfd.readouterr().err.strip().splitlines()
  assert code == 1 and len(err) == 1, err
  assert re.fullmatch(rf"error: the disk holding {small_disk / 'run'} is full \([\d.]+ MB free, a "
                      r"checkpoint of this run takes about [\d.]+ MB and two must fit\); no "
                      r"checkpoint was written; rerun the same command once space is freed\.",
                      err[0]), err[0]
  assert list(small_disk.iterdir()) == []  # nothing written, not even the workdir


def test_a_disk_that_fills_during_the_first_checkpoint_leaves_one_line_and_no_temporary_files(
    small_disk, capfd, monkeypatch):
  # As if another process filled the disk after the trainer checked it: Orbax's writer fails
  # half-way, in its threads.
  monkeypatch.setattr(checkpoint.Checkpointer, "check_space", lambda self, state: None)
  code = main.main([*_FULL_SIZE_RING, "--workdir", str(small_disk / "run")])
  err = capfd.readouterr().err.strip().splitlines()
  assert code == 1 and len(err) == 1, err[-20:]  # no tracebacks from Orbax's threads
  assert err[0].startswith(f"error: the disk holding {small_disk / 'run'} is full (")
  assert err[0].endswith("no checkpoint was written; rerun the same command once space is freed.")
  assert os.listdir(small_disk / "run" / "checkpoints") == []  # no temporary checkpoint left


# ----------------------------------------------------------------------------------------------
# 10. Strict JSON
# ----------------------------------------------------------------------------------------------

def _strict(text: str):
  def refuse(constant):
    raise ValueError(f"{constant} is not JSON")
  return json.loads(text, parse_constant=refuse)


def test_non_finite_numbers_are_written_as_strict_json_and_read_back(tmp_path):
  value = {"reverse_kl": float("inf"), "low": float("-inf"), "nan": float("nan"), "ok": 1.5,
           "members": [{"reverse_kl": float("inf")}], "curve": [1.0, float("inf")]}
  path = str(tmp_path / "v.json")
  rundir.write_json_atomically(path, value)
  parsed = _strict(pathlib.Path(path).read_text())
  assert parsed["reverse_kl"] is None and parsed["reverse_kl_nonfinite"] == "inf"
  assert parsed["low_nonfinite"] == "-inf" and parsed["nan_nonfinite"] == "nan"
  assert parsed["curve"] == [1.0, {"nonfinite": "inf"}]
  back = rundir.read_json(str(tmp_path), "v.json")
  assert back["reverse_kl"] == float("inf") and back["low"] == float("-inf")
  assert np.isnan(back["nan"]) and back["members"][0]["reverse_kl"] == float("inf")
  assert back["curve"] == [1.0, float("inf")] and set(back) == set(value)
  writer = rundir.MetricWriter(str(tmp_path))
  writer.write(10, {"reverse_kl": float("inf")})
  writer.close()
  [line] = (tmp_path / "metrics.jsonl").read_text().splitlines()
  assert _strict(line) == {"step": 10, "reverse_kl": None, "reverse_kl_nonfinite": "inf"}
  assert rundir.read_metrics(str(tmp_path)) == [{"step": 10, "reverse_kl": float("inf")}]


def test_every_json_file_of_a_run_and_of_the_results_is_strict(finished_run, tmp_path):
  workdir = copy_of(finished_run, tmp_path)
  assert evaluate.main(["--workdir", str(workdir)]) == 0
  files = [p for p in workdir.rglob("*") if p.suffix in (".json", ".jsonl")]
  files += list((REPO / "results").rglob("*.json"))
  assert any(p.name == "eval.json" for p in files) and len(files) > 10
  for p in files:
    for text in (p.read_text().splitlines() if p.suffix == ".jsonl" else [p.read_text()]):
      _strict(text)


# ----------------------------------------------------------------------------------------------
# 11. Outputs without a checkpoint
# ----------------------------------------------------------------------------------------------

def test_outputs_without_checkpoints_are_not_replaced_silently(finished_run, tmp_path):
  workdir = copy_of(finished_run, tmp_path)
  shutil.rmtree(workdir / "checkpoints")
  (workdir / "checkpoints").mkdir()
  with pytest.warns(UserWarning, match=r"holds outputs of an earlier run \(metrics.jsonl, "
                                       r"summary.json.*\) but no checkpoint"):
    train.train_and_evaluate(tiny(), str(workdir), progress=False)


# ----------------------------------------------------------------------------------------------
# 12. One training process per workdir
# ----------------------------------------------------------------------------------------------

def test_a_second_training_process_on_a_workdir_is_refused_and_touches_nothing(
    finished_run, tmp_path, capsys):
  workdir = copy_of(finished_run, tmp_path)
  before = snapshot(workdir)
  with train.WorkdirLock(str(workdir)):  # a run that is training there (this process)
    code = main.main(["--config", "toy_ring_ebgan", "--workdir", str(workdir), "--no_progress",
                      "--config.num_steps=40"])
  err = capsys.readouterr().err.strip().splitlines()
  assert code == 2 and len(err) == 1
  assert "is in use by another training process (pid " in err[0] and str(os.getpid()) in err[0]
  after = snapshot(workdir)
  assert {p: v for p, v in after.items() if p.name != ".lock"} == {
      p: v for p, v in before.items() if p.name != ".lock"}


def test_a_killed_run_leaves_no_lock_behind(tmp_path):
  # A process that holds the lock dies by SIGKILL (no cleanup of any kind runs).
  holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
      import sys, time
      from ebgan_jax import train
      lock = train.WorkdirLock({str(tmp_path)!r}).__enter__()
      print("locked", flush=True)
      time.sleep(60)""")], stdout=subprocess.PIPE, text=True)
  try:
    assert holder.stdout.readline().strip() == "locked"
    with pytest.raises(ValueError, match=f"pid {holder.pid}"):
      train.WorkdirLock(str(tmp_path)).__enter__()
  finally:
    holder.kill()
    holder.wait()
  with train.WorkdirLock(str(tmp_path)):
    assert (tmp_path / ".lock").read_text().strip() == str(os.getpid())
