"""Data parallelism: N devices and N processes compute the single-device math."""

import json
import os
import pathlib
import re
import signal
import socket
import subprocess
import sys
import time

import jax
import numpy as np
import pytest

from ebgan_jax import data, parallel, trained
from conftest import SUITE_XLA_FLAGS

REPO = pathlib.Path(__file__).resolve().parent.parent


def _env(devices: int | None = None) -> dict:
  # The suite's flags, without any device count of the caller's.
  env = dict(os.environ)
  flags = SUITE_XLA_FLAGS
  if devices:
    flags += f" --xla_force_host_platform_device_count={devices}"
  env["XLA_FLAGS"] = flags
  return env


def test_eight_devices_equal_one_device():
  out = subprocess.run([sys.executable, str(REPO / "tests" / "parallel_worker.py")], cwd=REPO,
                       env=_env(), capture_output=True, text=True, timeout=600)
  assert out.returncode == 0, out.stderr
  r = json.loads(out.stdout.strip().splitlines()[-1])
  assert r["devices"] == 8 and r["batch_sharded_over"] == 8
  assert r["rel_err_g"] < 1e-5 and r["rel_err_d"] < 1e-5 and r["rel_err_batch_stats"] < 1e-5, r
  assert r["rel_err_population"] < 1e-5, r  # a vmapped sweep inside the data-parallel step
  # ... with experience replay: the same updates and buffers, and the replay mattered
  assert r["rel_err_replay"] < 1e-5 and r["replay_changes_d"] > 1e-4, r
  assert r["replay_rows_per_device"] == [8], r  # 64 buffered examples, 8 on each device
  assert r["rel_err_bihm"] < 1e-5, r
  # The same check fails for a pulling-away term computed per device and averaged.
  assert r["rel_err_g_per_device_pt"] > 1e-5, r


def _free_port() -> int:
  with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    return s.getsockname()[1]


@pytest.mark.slow  # two processes launch and agree in the signal test below; 8 devices = 1 above
def test_two_processes_equal_one_process(tmp_path):
  args = ["--config", "digits_ebgan_pt", "--no_progress", "--config.num_steps=6",
          "--config.batch_size=16", "--config.log_every=3", "--config.checkpoint_every=3",
          "--config.sample_every=1000", "--config.model.size_g=32", "--config.model.size_d=16",
          "--config.optimizer.name=sgd", "--config.async_checkpoints=false"]
  cli = [sys.executable, "-m", "ebgan_jax.main"]
  port = _free_port()
  multi = [subprocess.Popen(cli + args + ["--workdir", str(tmp_path / "two"),
                                          "--coordinator_address", f"127.0.0.1:{port}",
                                          "--num_processes", "2", "--process_id", str(i)],
                            cwd=REPO, env=_env(devices=2), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True) for i in range(2)]
  single = subprocess.run(cli + args + ["--workdir", str(tmp_path / "one")], cwd=REPO,
                          env=_env(), capture_output=True, text=True, timeout=600)
  assert single.returncode == 0, single.stderr
  outs = [p.communicate(timeout=600) for p in multi]
  assert all(p.returncode == 0 for p in multi), [o[1][-2000:] for o in outs]
  assert "devices: 4 x cpu, processes: 2" in outs[0][0]
  assert "summary:" in outs[0][0] and "summary:" not in outs[1][0]  # only process 0 writes

  one, two = trained.load(str(tmp_path / "one")), trained.load(str(tmp_path / "two"))
  assert one.step == two.step == 6
  for x, y in zip(jax.tree.leaves(one.state), jax.tree.leaves(two.state)):
    x, y = np.asarray(x), np.asarray(y)
    assert np.max(np.abs(x - y)) <= 1e-5 * max(np.max(np.abs(x)), 1e-6)
  rows = [json.loads(l) for l in open(tmp_path / "two" / "metrics.jsonl")]
  # the training logs at 3 and 6 and the final evaluation, written once by process 0
  assert [(r["step"], "images_per_sec" in r) for r in rows] == [(3, True), (6, True), (6, False)]


def test_a_signal_to_one_process_stops_all_at_the_same_step(tmp_path):
  """A preemption notice may reach one host only: every process stops at the same step and
  they save one checkpoint together."""
  workdir = tmp_path / "two"
  args = ["--config", "digits_ebgan_pt", "--no_progress", "--config.num_steps=100000",
          "--config.batch_size=16", "--config.log_every=5", "--config.checkpoint_every=100000",
          "--config.sample_every=100000", "--config.model.size_g=32", "--config.model.size_d=16",
          "--config.async_checkpoints=false", "--workdir", str(workdir)]
  port = _free_port()
  procs = [subprocess.Popen([sys.executable, "-m", "ebgan_jax.main", *args,
                             "--coordinator_address", f"127.0.0.1:{port}", "--num_processes",
                             "2", "--process_id", str(i)], cwd=REPO, env=_env(devices=2),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
           for i in range(2)]
  try:
    deadline = time.time() + 300
    while not (workdir / "metrics.jsonl").exists() or not (workdir / "metrics.jsonl").read_text():
      assert time.time() < deadline and all(p.poll() is None for p in procs)
      time.sleep(0.2)
    procs[1].send_signal(signal.SIGTERM)  # process 1 only
    outs = [p.communicate(timeout=300) for p in procs]
  finally:
    for p in procs:
      p.kill()
  assert [p.returncode for p in procs] == [3, 3], [o[1][-2000:] for o in outs]
  stops = [re.search(r"stopped by SIGTERM at step (\d+)", o[0]) for o in outs]
  assert all(stops), [o[0][-500:] for o in outs]
  step = int(stops[0].group(1))
  assert int(stops[1].group(1)) == step and step % 5 == 0
  assert trained.load(str(workdir)).step == step


def test_processes_read_disjoint_slices_that_cover_the_data(monkeypatch):
  ds = data.array_dataset("x", np.arange(100, dtype=np.float32)[:, None], batch_size=20, seed=1)
  seen = []
  for process in range(4):
    monkeypatch.setattr(parallel.jax, "process_count", lambda: 4)
    monkeypatch.setattr(parallel.jax, "process_index", lambda p=process: p)
    rows = parallel.process_slice(20)
    seen.append(np.concatenate([ds.batch(s, rows) for s in range(ds.steps_per_epoch)]).ravel())
  union = np.concatenate(seen)
  assert len(union) == 100 and set(union.tolist()) == set(range(100))
  # and each process's rows are the matching rows of the global batch
  np.testing.assert_array_equal(np.concatenate([s[:5] for s in seen]), ds.batch(0).ravel())
