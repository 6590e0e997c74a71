"""The runner every algorithm and every sweep shares: ``train_and_evaluate``.

It loads the data, builds the members' states, resumes from the latest checkpoint, runs the
jitted data-parallel step (:mod:`ebgan_jax.step`), logs metrics, draws pictures
(:mod:`ebgan_jax.pictures`), evaluates by the dataset's protocol (:mod:`ebgan_jax.evaluators`)
and checkpoints, for a single run (a population of one) and a sweep alike.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import logging
import os
import signal
import sys
import threading
import time
import warnings
from typing import Any, Sequence

import jax
import ml_collections
import numpy as np
from jax.experimental import multihost_utils
from tqdm import tqdm

from ebgan_jax import (algorithms, checkpoint, configs, data, parallel, pictures, rundir,
                       step as step_lib, trained)
from ebgan_jax.data import loader
from ebgan_jax.evaluators import Evaluator
from ebgan_jax.state import GANState, member, stack_states
from ebgan_jax.step import GUARDED


class TrainingStopped(RuntimeError):
  """Training stopped on purpose: a non-finite value under ``on_nonfinite="stop"``."""


def train_and_evaluate(config: ml_collections.ConfigDict, workdir: str, progress: bool = True,
                       members: Sequence[ml_collections.ConfigDict] | None = None,
                       labels: Sequence[str] | None = None) -> dict[str, Any]:
  """Trains ``config`` in ``workdir``, resuming from its latest checkpoint if there is one.

  With ``members`` (configs that differ from ``config`` only in traced values: seed, margin,
  PT weight, learning rates; see :mod:`ebgan_jax.sweep`), trains all of them at once in one
  vmapped program; ``labels`` name them in the outputs. A single run is a population of one
  member: the same loop, step, pictures, metrics and checkpoints.

  Returns the summary that is also written to ``summary.json``. Raises ``ValueError`` for bad
  input (before anything in ``workdir`` is overwritten), including a workdir that another
  training process is using, and :class:`TrainingStopped` when the divergence guard stops the
  run.
  """
  sweep = members is not None
  members = list(members) if sweep else [config]
  for m in members:
    configs.validate(m)
  _check_devices(config)
  created = _prepare_workdir(workdir)
  # Member labels in the outputs: None for a single run, whose outputs are not per member.
  out_labels = (list(labels) if labels is not None else [str(i) for i in range(len(members))]
                ) if sweep else None
  try:
    with WorkdirLock(workdir), _quiet_checkpoint_failures():
      return _train(config, workdir, progress, members, out_labels)
  except (ValueError, DiskFull):
    if created:  # a refused run leaves no empty workdir behind
      _remove_if_untouched(workdir)
    raise


def _train(config, workdir, progress, members, labels) -> dict[str, Any]:
  n = len(members)
  is_writer = jax.process_index() == 0  # only process 0 writes metrics, samples and plots

  # ----------------------------------------------------------------------------------------------
  # Data, networks, the state of every member (stacked on a leading axis), the evaluation.
  # ----------------------------------------------------------------------------------------------
  global_batch_size = config.batch_size * config.pack * config.d_steps
  # Sizes that would not fit in memory are refused before anything is allocated.
  shape = data.example_shape(config.data)
  _check_memory(config, n, shape, global_batch_size,
                lambda: step_lib.create_state(config, *step_lib.build_models(config, shape),
                                              shape))
  datasets = {}
  for m in members:  # one data stream per seed, as each member would read alone
    if m.seed not in datasets:
      datasets[m.seed] = data.make_dataset(m.data, batch_size=global_batch_size, seed=m.seed)
  dataset = datasets[members[0].seed]
  generator, discriminator = step_lib.build_models(config, dataset.shape)
  algorithm = algorithms.make_algorithm(config)
  mesh = parallel.make_mesh()
  state = stack_states([step_lib.create_state(m, generator, discriminator, dataset.shape)
                        for m in members])
  # A single run's checkpoints hold its state without the member axis.
  to_disk = (lambda s: s) if labels else (lambda s: member(s, 0))
  from_disk = (lambda s: s) if labels else (lambda s: stack_states([s]))
  # Created now: unusable Inception weights must stop the run before it trains.
  evaluator = Evaluator(config, dataset, progress and is_writer) if algorithm.generative else None

  # ----------------------------------------------------------------------------------------------
  # Resume from the latest checkpoint, refusing one that would be another run.
  # ----------------------------------------------------------------------------------------------
  ckpt = checkpoint.Checkpointer(workdir, keep=config.keep_checkpoints,
                                 async_save=config.async_checkpoints)
  try:
    # The configs are compared first, so that a changed key is named (not the shapes it
    # changes), then the newest valid checkpoint is restored.
    # (A checkpoint is restored only where a record could be read: latest is then not None.)
    latest = ckpt.latest_meta()
    settings = _check_resume(workdir, config, latest[1], labels) if latest else None
    restored = ckpt.restore_latest(to_disk(state), experiment=config.name,
                                   finite=trained.networks)
    if restored is not None:
      saved, start, _ = restored
      state = from_disk(saved)
      if start > config.num_steps:
        # Resuming would rewrite config.json with a budget the checkpoint has already passed.
        raise ValueError(f"resuming: the checkpoint in {workdir} is at step {start}, past "
                         f"num_steps={config.num_steps}; pass --config.num_steps={start} or "
                         "more to go on, read it with make sample / make eval, or use a new "
                         "--workdir.")
    else:
      start, settings = 0, json.loads(config.to_json_best_effort())
      _warn_on_outputs_without_checkpoint(workdir)
    # Nothing has been written yet: a disk that cannot hold a checkpoint is said now.
    ckpt.check_space(to_disk(state))
  except (checkpoint.IncompatibleCheckpointError, ValueError) as e:
    ckpt.close()
    raise ValueError(str(e)) from None
  except OSError as e:
    _raise_if_disk_full(e, workdir, ckpt)
    raise
  program = step_lib.MemberProgram(config, mesh, algorithm, n)
  state = program.hold(state)  # the form the step keeps it in; program.stacked(state) stacked
  meta = {"experiment": config.name, "data_shape": list(dataset.shape),
          "population": labels is not None, "members": labels or [config.name],
          "config": settings}
  if is_writer:
    # What the run runs with: on resume, the values it started with but for the schedule.
    rundir.write_json_atomically(rundir.path(workdir, rundir.CONFIG), settings)
    rundir.truncate_metrics(workdir, after_step=start)

  # ----------------------------------------------------------------------------------------------
  # The compiled programs: the step, the sampler and the energy landscape, over the members.
  # ----------------------------------------------------------------------------------------------
  k = config.steps_per_dispatch
  batch_sharding = parallel.batch_sharding(mesh, 2)
  rows = parallel.process_slice(global_batch_size)
  sampler = pictures.make_sampler(generator, algorithm, n, discriminator, program.layout)
  energy_fn = pictures.make_energy_fn(discriminator, algorithm, n, config.pack, program.layout)
  generate = lambda z: sampler(program.stacked(state), z)
  writer = rundir.MetricWriter(workdir) if is_writer else None

  # The local batches of a dispatch, [members, steps_per_dispatch, rows, ...], read ahead by
  # data.workers processes and put on the devices data.prefetch dispatches ahead.
  feed = loader.feed(config.data, [(m.data, m.seed) for m in members], datasets,
                     global_batch_size, k, rows, range(start, config.num_steps, k),
                     program.put(batch_sharding))

  def write(step: int, rows: list[dict[str, float]]) -> None:
    for i, row in enumerate(rows):
      if writer:
        writer.write(step, row, member=labels[i] if labels else None)

  resumed = f", resuming from step {start}" if start else ""
  sweep_text = (f", a sweep of {n} members {_LAYOUT_TEXT[program.layout]}"
                if labels and n > 1 else f", a sweep of {n} member" if labels else "")
  print(f"{config.name}: {config.algorithm} on {dataset.name} {dataset.shape}, "
        f"model {config.model.arch}, {config.num_steps} steps of batch {config.batch_size}"
        f"{sweep_text}, devices: {jax.device_count()} x {jax.devices()[0].platform}, "
        f"processes: {jax.process_count()}{resumed}", flush=True)

  # ----------------------------------------------------------------------------------------------
  # The loop.
  # ----------------------------------------------------------------------------------------------
  t_start = t_window = time.perf_counter()
  images_window, interrupted, reported = 0, None, set()
  # Until this process logs, the summary's training metrics are the last ones logged before.
  last_logged = rundir.last_training_rows(workdir, labels, start)
  skips_seen = [int(v) for v in
                np.atleast_1d(jax.device_get(program.counters(state).guard["skipped"]))]
  check_guard = lambda: _check_guard(program.counters(state), config, ckpt, labels, reported,
                                     skips_seen)
  # A terminal gets a progress bar; a log file, CI or a notebook's captured stream gets one
  # plain line per logging interval instead of thousands of carriage-return redraws.
  show = progress and is_writer
  interactive = show and sys.stderr.isatty()
  bar = tqdm(total=config.num_steps, initial=start, disable=not interactive, unit="step",
             dynamic_ncols=True)
  step = start
  # A multiple of ``every`` within the dispatch that ends at ``end``.
  at_step = lambda end, every: end % every < k
  # Steps after which the loop logs, saves, draws or evaluates: a round of dispatches ends there.
  events = [config.log_every, config.checkpoint_every] + (
      [config.sample_every] + ([config.eval_every] if config.eval_every else [])
      if evaluator else [])
  pending = []
  try:
    with _StopSignals() as signals, feed:
      for _, batch in feed:
        pending.append(batch)
        end = step + k * len(pending)
        if (len(pending) < program.round and end < config.num_steps
            and not any(at_step(end, every) for every in events)):
          continue
        state, metrics = program.run(state, pending)
        images_window += (end - step) * config.batch_size * config.pack * n
        bar.update(end - step)
        step, pending = end, []
        at = lambda every: at_step(step, every)
        if at(config.log_every) or step >= config.num_steps:
          check_guard()
          now = time.perf_counter()
          rate = images_window / max(now - t_window, 1e-9)
          t_window, images_window = now, 0
          fetched = program.fetch(metrics)
          last_logged = [{**{name: float(v[i]) for name, v in fetched.items()},
                          "images_per_sec": rate} for i in range(n)]
          write(step, last_logged)
          shown = {**{m: f"{last_logged[0][m]:.3g}" for m in algorithm.progress_metrics},
                   "img_s": f"{rate:.0f}"}
          bar.set_postfix(shown)
          if show and not interactive:
            print(f"step {step}/{config.num_steps}: "
                  + ", ".join(f"{k} {v}" for k, v in shown.items()), flush=True)
        if at(config.checkpoint_every) or step >= config.num_steps:
          check_guard()
          ckpt.save(step, to_disk(program.stacked(state)), meta)
        if evaluator and at(config.sample_every) and step < config.num_steps:
          pictures.write_samples(rundir.samples(workdir, step), config,
                                 f"{step:06d}", sampler, energy_fn, program.stacked(state),
                                 dataset, labels,
                                 is_writer)
        if evaluator and config.eval_every and at(config.eval_every) and step < config.num_steps:
          write(step, evaluator.evaluate(generate))
        interrupted = _stop_requested(signals, at(config.log_every))
        if interrupted is not None:
          break
      if interrupted is not None:
        check_guard()
        ckpt.save(step, to_disk(program.stacked(state)), meta)
      ckpt.close()
  except Exception as e:  # noqa: BLE001 - only a full disk is handled; the rest re-raised
    _raise_if_disk_full(e, workdir, ckpt)
    raise
  finally:
    # Closed before any error propagates: the error must be the last line on the terminal,
    # not a progress bar redrawn after it.
    bar.close()
    if writer:
      writer.close()
  if interrupted is not None:
    print(f"stopped by {signal.Signals(interrupted).name} at step {step}; checkpoint saved in "
          f"{ckpt.directory}; rerun the same command to resume.", flush=True)
    return {"experiment": config.name, "steps": step, "interrupted": True}

  # ----------------------------------------------------------------------------------------------
  # The final pictures, metrics and summary.
  # ----------------------------------------------------------------------------------------------
  state = program.stacked(state)
  generate = lambda z: sampler(state, z)
  try:
    scores = []
    if evaluator:
      pictures.write_samples(rundir.samples(workdir), config, "final",
                             sampler, energy_fn, state, dataset, labels, is_writer)
      scores = evaluator.evaluate(generate)
      if is_writer:
        _log_final_evaluation(workdir, step, scores, labels)
    scores = scores or [{} for _ in members]
    per_member = []
    for i, (m, row, score) in enumerate(zip(members, last_logged, scores)):
      extra = algorithm.evaluate(m, (generator, discriminator), member(state, i), dataset)
      per_member.append({**{k_: round(v, 5) for k_, v in row.items()}, **score, **extra})
    summary = {"experiment": config.name, "steps": int(np.max(jax.device_get(state.step))),
               "seconds": round(time.perf_counter() - t_start, 2)}
    if labels:
      # The layout the members ran in ("auto" resolved), kept with the run.
      summary["member_layout"] = program.layout
      summary["members"] = [{"member": label, **row} for label, row in zip(labels, per_member)]
    else:
      summary.update(per_member[0])
    if is_writer:
      logged = rundir.read_metrics(workdir)
      if logged:
        pictures.save_loss_curves(rundir.path(workdir, rundir.LOSS_CURVES), logged,
                                  config.name)
      rundir.write_json_atomically(rundir.path(workdir, rundir.SUMMARY), summary)
  except Exception as e:  # noqa: BLE001 - only a full disk is handled; the rest re-raised
    _raise_if_disk_full(e, workdir, ckpt)
    raise
  if is_writer and not labels:
    print("summary: " + rundir.dumps(summary), flush=True)
  return summary


# How the start line describes a sweep's layout (step.member_layout).
_LAYOUT_TEXT = {"vmap": "in one program (vmap)", "unrolled": "in one program (unrolled)",
                "sequential": "one after another through one compiled program (sequential)"}


def _log_final_evaluation(workdir: str, step: int, scores: list[dict], labels) -> None:
  """Appends the final evaluation to ``metrics.jsonl`` beside the ones logged during training,
  so that a run trained on past its end (whose ``summary.json`` is then rewritten) keeps it in
  its curves. A finished run started again evaluates the same state: its rows are not written
  twice."""
  logged = {(r.get("member"), r["step"]) for r in rundir.read_metrics(workdir)
            if "images_per_sec" not in r}  # the evaluations' rows, not the training logs'
  writer = rundir.MetricWriter(workdir)
  try:
    for i, score in enumerate(scores):
      member = labels[i] if labels else None
      if score and (member, step) not in logged:
        writer.write(step, score, member=member)
  finally:
    writer.close()


def _stop_requested(signals: "_StopSignals", at_log_step: bool) -> int | None:
  """The signal that stops the run after this step, or None.

  Several processes must stop at the same step and save together: a signal that reached one
  of them is shared at the next logging step (one small all-gather), and all stop there.
  """
  if jax.process_count() == 1:
    return signals.received
  if not at_log_step:
    return None
  received = multihost_utils.process_allgather(np.int32(signals.received or 0))
  return int(np.max(received)) or None


class WorkdirLock:
  """Refuses a second training process on a workdir that one is using.

  An exclusive ``flock`` on ``<workdir>/.lock``, held by process 0 of the run for as long as it
  trains. The kernel releases it when the process ends, however it ends, so a crashed run never
  leaves a workdir locked.
  """

  def __init__(self, workdir: str):
    self.workdir = workdir
    self.path = rundir.path(workdir, rundir.LOCK)
    self._fd: int | None = None

  def __enter__(self) -> "WorkdirLock":
    if jax.process_index() != 0:  # one lock per run: process 0 holds it for all
      return self
    fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
      fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
      holder = os.read(fd, 32).decode(errors="replace").strip() or "unknown"
      os.close(fd)
      raise ValueError(f"{self.workdir} is in use by another training process (pid {holder}); "
                       "wait for it to finish or stop it, or use a new --workdir.") from None
    os.ftruncate(fd, 0)
    os.write(fd, f"{os.getpid()}\n".encode())
    self._fd = fd
    return self

  def __exit__(self, *exc) -> None:
    if self._fd is not None:
      fcntl.flock(self._fd, fcntl.LOCK_UN)
      os.close(self._fd)
      self._fd = None


def _prepare_workdir(workdir: str) -> bool:
  """Creates ``workdir`` if needed (returns whether it did) and refuses, before anything is
  written, one that cannot be written or whose entries are of the wrong kind."""
  created = not os.path.exists(workdir)
  try:
    os.makedirs(workdir, exist_ok=True)
    probe = os.path.join(workdir, f".write_test_{os.getpid()}")  # one per process
    with open(probe, "w"):
      pass
    os.remove(probe)
  except OSError as e:
    raise ValueError(f"workdir {workdir!r} cannot be written ({e.strerror}); "
                     "pass a writable --workdir.") from None
  rundir.check_entries(workdir, writing=True)
  return created


def _remove_if_untouched(workdir: str) -> None:
  """Removes a workdir this run created when it holds nothing but the lock and empty
  folders (the run was refused before writing anything)."""
  with contextlib.suppress(OSError):
    for root, folders, files in os.walk(workdir, topdown=False):
      if any(f != rundir.LOCK or root != workdir for f in files):
        return
    for root, folders, files in os.walk(workdir, topdown=False):
      for f in files:
        os.remove(os.path.join(root, f))
      os.rmdir(root)


def _check_memory(config: ml_collections.ConfigDict, members: int, shape: tuple[int, ...],
                  batch_rows: int, create_state) -> None:
  """Refuses, in one line naming the key, sizes whose arrays could not fit in this host's
  memory: one step's batch (``batch_size``, ``pack``, ``data.image_size``) and the training
  state (``latent_dim`` and the networks' sizes), measured on shapes alone (nothing is
  allocated)."""
  limit = parallel.host_memory()
  gb = lambda n: f"{n / 1e9:.1f} GB"
  example = int(np.prod(shape)) * 4
  batch = members * batch_rows * (example + 4 * config.latent_dim)
  if batch > limit:
    key = ("data.image_size" if config.data.image_size and example > 4 * config.latent_dim
           else "latent_dim" if 4 * config.latent_dim > example else "batch_size")
    raise ValueError(f"config.{key}={configs.get_key(config, key)} makes one step's batch "
                     f"{gb(batch)} ({members} x {batch_rows} examples of shape {list(shape)}"
                     f" and latent_dim={config.latent_dim}), more than this host's "
                     f"{gb(limit)} of memory; lower config.{key}.")
  leaves = jax.tree_util.tree_flatten_with_path(jax.eval_shape(create_state))[0]
  sizes = [(int(np.prod(x.shape)) * x.dtype.itemsize, path, x.shape) for path, x in leaves]
  total = members * sum(size for size, _, _ in sizes)
  if total > limit:
    _, path, big = max(sizes, key=lambda t: t[0])
    culprit = (f"config.latent_dim={config.latent_dim} makes" if config.latent_dim in big
               and config.latent_dim > 1 else "config.model's sizes make")
    fix = "config.latent_dim" if culprit.startswith("config.latent_dim") else "them"
    raise ValueError(f"{culprit} the training state {gb(total)} (its largest array "
                     f"{jax.tree_util.keystr(path)}: {list(big)}), more than this host's "
                     f"{gb(limit)} of memory; lower {fix}.")


def _check_devices(config: ml_collections.ConfigDict) -> None:
  n = jax.device_count()
  if config.batch_size * config.pack % n:
    raise ValueError(f"config.batch_size={config.batch_size} does not divide over {n} devices; "
                     f"use a multiple of {n}, e.g. --config.batch_size={n * max(1, config.batch_size // n)}.")


def _check_guard(state: GANState, config: ml_collections.ConfigDict,
                 ckpt: checkpoint.Checkpointer, labels: Sequence[str] | None = None,
                 reported: set[int] | None = None, skips_seen: list[int] | None = None) -> None:
  """Raises :class:`TrainingStopped` when the step found a non-finite value (one host sync).

  In a sweep (``labels`` given, one per member) a diverged member stays frozen at its last
  finite state while the others go on; it is reported once instead. Under
  ``on_nonfinite="skip"``, warns when updates were skipped since the last check
  (``skips_seen`` holds the counts already reported), and stops a run (or a sweep whose members
  all are) in which no update was applied for ``max_consecutive_skips`` steps.
  """
  if config.on_nonfinite != "stop":
    _check_skips(state, config, ckpt, labels, skips_seen)
    return
  bad_step, bad_what = (np.atleast_1d(v) for v in jax.device_get(
      (state.guard["bad_step"], state.guard["bad_what"])))
  for i in np.flatnonzero(bad_step >= 0):
    what = f"non-finite {GUARDED[int(bad_what[i]) - 1]} at step {int(bad_step[i])}"
    if labels is not None:
      if i not in reported:
        reported.add(i)
        warnings.warn(f"sweep member {labels[i]}: {what}; it is frozen at its last finite "
                      "state, the other members go on.", stacklevel=2)
      continue
    ckpt.wait()
    last = ckpt.steps()
    kept = f"the last good checkpoint (step {last[-1]}) is intact" if last else "no checkpoint was written"
    raise TrainingStopped(f"{what}; {kept}. Lower the learning rate, or pass "
                          "--config.on_nonfinite=skip to skip such updates.")


def _check_skips(state, config, ckpt, labels, skips_seen) -> None:
  skipped, consecutive, step = (np.atleast_1d(v) for v in jax.device_get(
      (state.guard["skipped"], state.guard["consecutive"], state.step)))
  names = labels or [config.name]
  for i, name in enumerate(names):
    if skips_seen is not None and skipped[i] > skips_seen[i]:
      warnings.warn(f"{'sweep member ' if labels else ''}{name}: {int(skipped[i])} of "
                    f"{int(step[i])} updates skipped so far (non-finite values, "
                    "on_nonfinite=skip).", stacklevel=3)
      skips_seen[i] = int(skipped[i])
  if np.all(consecutive >= config.max_consecutive_skips):
    ckpt.wait()
    last = ckpt.steps()
    kept = f"the last checkpoint is step {last[-1]}" if last else "no checkpoint was written"
    raise TrainingStopped(
        f"no update was applied in the last {int(consecutive.min())} steps (every one had a "
        f"non-finite value; limit config.max_consecutive_skips={config.max_consecutive_skips}); "
        f"{kept}. Lower the learning rate.")


class _StopSignals:
  """Turns SIGTERM/SIGINT (a preemption, Ctrl-C) into a flag the loop checks between steps."""

  def __init__(self):
    self.received: int | None = None
    self._previous = {}

  def __enter__(self):
    if threading.current_thread() is threading.main_thread():
      for sig in (signal.SIGTERM, signal.SIGINT):
        self._previous[sig] = signal.signal(sig, self._handle)
    return self

  def _handle(self, signum, frame):
    self.received = signum

  def __exit__(self, *exc):
    for sig, handler in self._previous.items():
      signal.signal(sig, handler)


def _config_before(workdir: str, meta: dict) -> dict:
  """The config a run was started with: from its checkpoint's record, else the run's config
  file."""
  if "config" in meta:
    return meta["config"]
  before = rundir.read_config(workdir)
  if before is None:
    raise ValueError(f"{rundir.path(workdir, rundir.CONFIG)} is missing or not valid JSON, and "
                     "the checkpoint predates the config record; restore the file or use a new "
                     "--workdir.")
  return before


def _check_resume(workdir: str, config: ml_collections.ConfigDict, meta: dict,
                  labels: Sequence[str] | None) -> dict:
  """Refuses a resume that would silently be another run; returns the config in force.

  Margins, weights and learning rates are training state: a resumed run keeps the
  checkpoint's values, with a warning when the config asks for others. A sweep must be resumed
  with the members it was started with.
  """
  checkpoint.check_experiment(workdir, meta, config.name)
  before = _config_before(workdir, meta)
  population = bool(meta.get("population"))
  if population and labels is None:
    raise ValueError(f"resuming: {workdir} holds a sweep (members {meta.get('members')}), not a "
                     "single run; resume it with the same make sweep command, or use a new "
                     "--workdir.")
  if labels is not None and not population:
    raise ValueError(f"resuming: {workdir} holds a single run of {meta.get('experiment')!r}, "
                     "not a sweep; use a new --workdir for the sweep.")
  if labels is not None and meta.get("members") != list(labels):
    raise ValueError(f"resuming: the sweep in {workdir} has members {meta.get('members')}, not "
                     f"{list(labels)}; use a new --workdir for other values (or resume with "
                     "the same --sweep).")
  for key in configs.resume_check(before, config):
    old, new = configs.get_key(ml_collections.ConfigDict(before), key), configs.get_key(config, key)
    warnings.warn(f"resuming: {key} was {old:g} when the run started and is {new:g} in the "
                  "config; the checkpoint's value is kept (use a new --workdir to start over).",
                  stacklevel=3)
  return configs.in_force(before, config)


class DiskFull(RuntimeError):
  """The disk holding the workdir filled up; what was saved is said in the message."""


def _raise_if_disk_full(error: BaseException, workdir: str, ckpt: checkpoint.Checkpointer
                        ) -> None:
  """Turns "no space left on device" (however deep Orbax or TensorStore wrapped it: they
  report it as a ValueError) into one :class:`DiskFull` line: where, and what is safe."""
  chain = list(checkpoint.exception_chain(error))
  if not any(getattr(e, "errno", None) == errno.ENOSPC or _about_full_disk(str(e))
             for e in chain):
    return
  with contextlib.suppress(Exception), warnings.catch_warnings():
    warnings.simplefilter("ignore")
    ckpt.close()  # let the writes in flight settle (and fail) before the process exits
  with contextlib.suppress(Exception):
    ckpt.remove_unfinished()  # the temporary folder of the save that failed
  try:
    saved = ckpt.steps()
  except Exception:  # noqa: BLE001 - listing may fail on a full disk too; the message says so
    saved = []
  ours = next((e for e in chain if isinstance(e, OSError) and "a checkpoint of this run" in
               str(e.strerror)), None)
  try:
    detail = (ours.strerror.replace("No space left on device: ", "") if ours
              else ckpt.space_text())
  except OSError:
    detail = "no space left on device"
  kept = (f"the last complete checkpoint is step {saved[-1]}; rerun the same command to resume"
          if saved else "no checkpoint was written; rerun the same command")
  raise DiskFull(f"the disk holding {os.path.abspath(workdir)} is full ({detail}); {kept} "
                 "once space is freed.") from None


def _about_full_disk(text: str) -> bool:
  return "No space left on device" in text or "os_error_code='28'" in text


class _DiskFullNoise(logging.Filter):
  """Drops the log records of Orbax's writer threads about a full disk: each carries a
  traceback, and the trainer says the same in one line (:class:`DiskFull`)."""

  def filter(self, record: logging.LogRecord) -> bool:
    text = record.getMessage()
    if record.exc_info and record.exc_info[1] is not None:
      text += " ".join(str(e) for e in checkpoint.exception_chain(record.exc_info[1]))
    return not _about_full_disk(text)


@contextlib.contextmanager
def _quiet_checkpoint_failures():
  """While training: Orbax's writer threads report a failed save (a full disk) in log records
  with tracebacks, and TensorStore's callbacks then find Orbax's event loop closed, once per
  write in flight ("Event loop is closed", through ``sys.unraisablehook``). The failure itself
  reaches the trainer, which says it in one line; this noise is dropped, nothing else."""
  noise = _DiskFullNoise()
  loggers = [logging.getLogger(name) for name in ("absl", "orbax")]
  for lg in loggers:
    lg.addFilter(noise)
  previous = sys.unraisablehook

  def hook(unraisable):
    if not (isinstance(unraisable.exc_value, RuntimeError)
            and str(unraisable.exc_value) == "Event loop is closed"):
      previous(unraisable)

  sys.unraisablehook = hook
  try:
    yield
  finally:
    sys.unraisablehook = previous
    for lg in loggers:
      lg.removeFilter(noise)


def _warn_on_outputs_without_checkpoint(workdir: str) -> None:
  earlier = [name for name in rundir.OUTPUTS if os.path.exists(rundir.path(workdir, name))]
  if earlier:
    warnings.warn(f"{workdir} holds outputs of an earlier run ({', '.join(earlier)}) but no "
                  "checkpoint to resume from; training starts at step 0 and replaces them (use "
                  "a new --workdir to keep them).", stacklevel=3)
