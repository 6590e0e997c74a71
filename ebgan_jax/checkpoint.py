"""Checkpoints with Orbax: the whole training state, its metadata, and a safe restore.

A checkpoint holds the complete :class:`~ebgan_jax.state.GANState`: both networks, both
optimizers (with their learning rates), BatchNorm statistics, the step, the base key and every
controller value. Data batches are a pure function of ``(seed, step)``, so the step is also
the data position. Each checkpoint carries a small JSON record of the experiment name, the data
shape, the state's shapes and the resolved config, checked before anything is restored.

The trainer opens the directory for writing. Everything else (``make sample``, ``make eval``,
``ebgan_jax.load``) opens it read-only: a reader never deletes, moves or cleans anything, so
it cannot disturb a run that is writing checkpoints at the same time, and it reads the newest
*finished* checkpoint (Orbax writes into a temporary directory and renames it when done).
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import logging
import os
import shutil
import time
import warnings
from typing import Any, Callable

import jax
import numpy as np
import orbax.checkpoint as ocp

from ebgan_jax import rundir


def shape_signature(state: Any) -> dict[str, list[int]]:
  """``{tree path: shape}`` of every array in ``state``."""
  flat = jax.tree_util.tree_flatten_with_path(state)[0]
  return {jax.tree_util.keystr(path): list(np.shape(leaf)) for path, leaf in flat}


def first_nonfinite(tree: Any) -> str | None:
  """The path of the first floating-point array of ``tree`` holding NaN or inf, or None."""
  for path, leaf in jax.tree_util.tree_flatten_with_path(tree)[0]:
    leaf = np.asarray(leaf)
    if np.issubdtype(leaf.dtype, np.floating) and not np.all(np.isfinite(leaf)):
      return jax.tree_util.keystr(path)
  return None


def _size(n: int) -> str:
  """Bytes as people read them: 512 B, 4.4 MB, 1.2 GB."""
  for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
    if n >= scale:
      return f"{n / scale:.1f} {unit}"
  return f"{n} B"


def _on_disk(state: Any) -> Any:
  """What is written for ``state``: a dataclass state as the dict of its fields, leaving out
  an optional field that is None (the replay buffer of a run without replay), so that a state
  without it has the layout of checkpoints written before the field existed."""
  if dataclasses.is_dataclass(state) and not isinstance(state, type):
    return {f.name: getattr(state, f.name) for f in dataclasses.fields(state)
            if getattr(state, f.name) is not None}
  return state


def _from_disk(restored: Any, template: Any) -> Any:
  """The inverse of :func:`_on_disk`, into ``template``'s type."""
  if dataclasses.is_dataclass(template) and not isinstance(template, type):
    return template.replace(**restored)
  return restored


class IncompatibleCheckpointError(ValueError):
  pass


def check_experiment(workdir: str, meta: dict[str, Any], experiment: str) -> None:
  """Refuses checkpoints (their record ``meta``) of another experiment than ``experiment``."""
  if meta.get("experiment") != experiment:
    raise IncompatibleCheckpointError(
        f"{workdir} holds checkpoints of experiment {meta.get('experiment')!r}, not "
        f"{experiment!r}; use another --workdir for this experiment.")


class UnreadableCheckpointError(ValueError):
  """A checkpoint that exists and is finished, but cannot be restored as a valid state."""


# The errors that say a checkpoint's own files are damaged: unparsable JSON records, and
# TensorStore's ValueErrors (OUT_OF_RANGE for a truncated chunk, DATA_LOSS for a garbled one,
# ...), which Orbax wraps in a bare Exception. A read that failed for a reason outside the
# checkpoint (out of memory, an I/O error, an interrupted or exhausted resource) is not
# corruption: it propagates, and a good checkpoint is never moved aside because of it.
_CORRUPTION_ERRORS = (ValueError, KeyError, EOFError, FileNotFoundError, IsADirectoryError,
                      NotADirectoryError)
_TRANSIENT_STATUS = ("RESOURCE_EXHAUSTED", "UNAVAILABLE", "CANCELLED", "DEADLINE_EXCEEDED",
                     "ABORTED")


def exception_chain(error: BaseException):
  """``error``, then its causes and contexts, innermost last."""
  seen = set()
  while error is not None and id(error) not in seen:
    seen.add(id(error))
    yield error
    error = error.__cause__ or error.__context__


def _is_corruption(error: BaseException) -> bool:
  chain = list(exception_chain(error))
  for e in chain:
    if isinstance(e, MemoryError) or str(e).startswith(_TRANSIENT_STATUS):
      return False
    if isinstance(e, OSError) and not isinstance(e, _CORRUPTION_ERRORS):
      return False  # ENOSPC, EIO, EINTR, EACCES: the storage, not the checkpoint
  return any(isinstance(e, _CORRUPTION_ERRORS) for e in chain)


@contextlib.contextmanager
def _quiet_orbax():
  """Orbax logs a traceback for each failed read; the failure is handled (and explained in
  one warning) by the caller, so those logs only bury the line that matters."""
  loggers = [logging.getLogger(name) for name in ("absl", "orbax")]
  levels = [lg.level for lg in loggers]
  for lg in loggers:
    lg.setLevel(logging.CRITICAL)
  try:
    yield
  finally:
    for lg, level in zip(loggers, levels):
      lg.setLevel(level)


class Checkpointer:
  """Saves into ``<workdir>/checkpoints`` and keeps the last ``keep``; or, with
  ``read_only=True``, only reads them."""

  def __init__(self, workdir: str, *, keep: int = 3, async_save: bool = True,
               read_only: bool = False):
    self.directory = os.path.abspath(rundir.path(workdir, rundir.CHECKPOINTS))
    self.workdir = workdir
    self.read_only = read_only
    self._async = async_save and not read_only
    self._keep = keep
    self._size: tuple[int, int] | None = None  # (step, bytes) of the last measured checkpoint
    self.last_need = 0  # the bytes a checkpoint needed at the last check of the space
    self._manager = self._open()

  def _open(self) -> ocp.CheckpointManager:
    if self.read_only:
      options = ocp.CheckpointManagerOptions(read_only=True, create=False,
                                             cleanup_tmp_directories=False, max_to_keep=None,
                                             save_interval_steps=0,
                                             enable_async_checkpointing=False)
    else:
      options = ocp.CheckpointManagerOptions(
          max_to_keep=self._keep, create=True, cleanup_tmp_directories=True,
          enable_async_checkpointing=self._async)
    # A read-only manager warns that it is read-only.
    return self._listing(lambda: ocp.CheckpointManager(self.directory, options=options,
                                                       item_names=("state", "meta")))

  def _listing(self, read):
    """``read()``, which lists the checkpoints and looks into each, again if a live trainer
    removed one of them in between (its clean-up of old checkpoints)."""
    for _ in range(100):
      try:
        with _quiet_orbax():  # a damaged record is logged with its contents; restore explains
          return read()
      except FileNotFoundError:
        time.sleep(0.01)
    raise RuntimeError(f"checkpoints in {self.directory} kept changing while being listed.")

  def steps(self) -> list[int]:
    """The finished checkpoints, read afresh from the directory."""
    if not os.path.isdir(self.directory):
      return []
    return self._listing(lambda: (self._manager.reload(), sorted(self._manager.all_steps()))[1])

  def save(self, step: int, state: Any, meta: dict[str, Any]) -> None:
    """Starts writing checkpoint ``step``. Raises ``OSError(ENOSPC)`` before writing anything
    when the disk cannot hold it (:meth:`check_space`): a write that fails half-way leaves
    partial files and a flood of errors from Orbax's writer threads."""
    if self.read_only:
      raise RuntimeError("a read-only Checkpointer cannot save.")
    if step in self._manager.all_steps():
      return
    self.check_space(state)
    meta = {**meta, "step": int(step), "shapes": shape_signature(state)}
    # The copy keeps the saved arrays alive while the next (donating) step runs.
    state = jax.tree.map(lambda x: x.copy() if isinstance(x, jax.Array) else x, state)
    self._manager.save(step, args=ocp.args.Composite(
        state=ocp.args.StandardSave(_on_disk(state)), meta=ocp.args.JsonSave(meta)), force=True)

  def needed_bytes(self, state: Any) -> int:
    """What one checkpoint of ``state`` takes on disk: the size of the newest finished one,
    or before the first, the state's bytes and Orbax's records, 64 KiB and 2 KiB per array (an
    upper bound: a 10.7 MB state of 95 arrays writes 8.9 MB, a 150 kB one 276 kB)."""
    measured = self._checkpoint_bytes()
    if measured:
      return measured
    leaves = jax.tree.leaves(state)
    return sum(int(np.prod(np.shape(x))) * np.dtype(getattr(x, "dtype", np.float32)).itemsize
               for x in leaves) + (64 << 10) + (2 << 10) * len(leaves)

  def check_space(self, state: Any) -> None:
    """Raises ``OSError(ENOSPC)`` naming what is free and what is needed when the disk cannot
    hold two more checkpoints of ``state`` (one being written while the next starts), plus
    1 MiB for the logs. The trainer calls it before writing anything, then before each save."""
    need = self.needed_bytes(state)
    self.last_need = need
    free = self.free_bytes()
    if free < 2 * need + (1 << 20):
      raise OSError(errno.ENOSPC, f"No space left on device: {_size(free)} free, a checkpoint "
                    f"of this run takes about {_size(need)} and two must fit", self.directory)

  def free_bytes(self) -> int:
    """The free space of the disk holding the checkpoints."""
    where = self.directory if os.path.isdir(self.directory) else self.workdir
    return shutil.disk_usage(where).free

  def space_text(self) -> str:
    """What is free and what a checkpoint takes, for a message about a full disk."""
    free = _size(self.free_bytes())
    return (f"{free} free, a checkpoint of this run takes about {_size(self.last_need)}"
            if self.last_need else f"{free} free")

  def remove_unfinished(self) -> list[str]:
    """Deletes the temporary folders of saves that did not finish (a full disk, a crash);
    returns their names. Only the trainer, which holds the workdir's lock, calls it."""
    if self.read_only or not os.path.isdir(self.directory):
      return []
    removed = []
    for name in os.listdir(self.directory):
      if ".orbax-checkpoint-tmp" in name:
        shutil.rmtree(os.path.join(self.directory, name), ignore_errors=True)
        removed.append(name)
    return removed

  def _checkpoint_bytes(self) -> int:
    """The size of the newest finished checkpoint (0 before the first one). Orbax lists a
    step as soon as its save starts; only a directory named by the bare step is finished."""
    if not os.path.isdir(self.directory):
      return 0
    finished = [int(n) for n in os.listdir(self.directory) if n.isdigit()]
    if not finished:
      return 0
    if self._size is None or self._size[0] != max(finished):
      root = os.path.join(self.directory, str(max(finished)))
      size = sum(os.path.getsize(os.path.join(d, f)) for d, _, files in os.walk(root)
                 for f in files)
      self._size = (max(finished), size)
    return self._size[1]

  def wait(self) -> None:
    self._manager.wait_until_finished()

  def close(self) -> None:
    self._manager.wait_until_finished()
    self._manager.close()

  def read_meta(self, step: int) -> dict[str, Any]:
    return self._manager.restore(step, args=ocp.args.Composite(meta=ocp.args.JsonRestore()))["meta"]

  def latest_meta(self) -> tuple[int, dict[str, Any]] | None:
    """``(step, meta)`` of the newest checkpoint whose record can be read, or None."""
    for step in reversed(self.steps()):
      try:
        with _quiet_orbax():
          return step, self.read_meta(step)
      except Exception as e:  # noqa: BLE001 - sorted by _is_corruption below
        if not (_is_corruption(e) or step not in self.steps()):
          raise
    return None

  def restore_latest(self, template: Any, *, experiment: str,
                     finite: Callable[[Any], Any] = lambda state: state
                     ) -> tuple[Any, int, dict[str, Any]] | None:
    """The newest valid checkpoint restored into ``template``'s structure, as
    ``(state, step, meta)``, or ``None`` when there is none.

    A checkpoint that cannot be read (truncated, corrupt) or whose ``finite(state)`` part
    restores with non-finite values (bit rot) is skipped with a warning and the previous one is tried; the trainer also
    moves it to ``<workdir>/corrupt_checkpoints/``, a read-only reader leaves it where it is.
    A checkpoint deleted by a live trainer while it was being read is skipped silently. Other
    errors (a full disk, out of memory) propagate and nothing is moved. A checkpoint of another
    experiment or with other shapes is an :class:`IncompatibleCheckpointError`, and nothing is
    touched.
    """
    expected = shape_signature(template)
    tried: set[int] = set()
    for _ in range(100):  # a live trainer can delete what we are about to read: list again
      candidates = [s for s in self.steps() if s not in tried]
      if not candidates:
        return None
      step = candidates[-1]
      tried.add(step)
      try:
        with _quiet_orbax():
          meta = self.read_meta(step)
        self._check_compatible(step, meta, experiment, expected)
        with _quiet_orbax():
          restored = _from_disk(self._manager.restore(step, args=ocp.args.Composite(
              state=ocp.args.StandardRestore(_on_disk(template))))["state"], template)
          jax.block_until_ready(restored)
        bad = first_nonfinite(finite(restored))
        if bad is not None:
          raise UnreadableCheckpointError(f"non-finite values restored in {bad}")
      except IncompatibleCheckpointError:
        raise
      except Exception as e:  # noqa: BLE001 - sorted by _is_corruption below
        if step not in self.steps():
          continue  # removed by the trainer's clean-up while we read it: take the next newest
        if not _is_corruption(e):
          raise
        self._set_aside(step, e)
        continue
      return restored, step, meta
    raise RuntimeError(f"checkpoints in {self.directory} kept changing while being read.")

  def _check_compatible(self, step: int, meta: dict[str, Any], experiment: str,
                        expected: dict[str, list[int]]) -> None:
    check_experiment(self.workdir, meta, experiment)
    if meta.get("shapes") != expected:
      saved = meta.get("shapes", {})
      diff = next((f"{k}: {saved[k] if k in saved else 'absent'} saved vs {v} now"
                   for k, v in expected.items() if saved.get(k) != v),
                  f"{next(iter(set(saved) - set(expected)), 'the structure')} saved, absent now")
      raise IncompatibleCheckpointError(
          f"the checkpoint at step {step} in {self.workdir} has other shapes than this config "
          f"({diff}); resume with the config it was written with, or use another --workdir.")

  def _set_aside(self, step: int, error: Exception) -> None:
    root = list(exception_chain(error))[-1]  # Orbax's wrapper hides the telling message
    reason = f"{type(root).__name__}: {str(root).splitlines()[0][:200] if str(root) else ''}"
    if self.read_only:
      warnings.warn(f"checkpoint {step} in {self.directory} cannot be read ({reason}); "
                    "reading the previous one (nothing was moved).", stacklevel=3)
      return
    target = os.path.join(self.workdir, rundir.CORRUPT_CHECKPOINTS, str(step))
    warnings.warn(f"checkpoint {step} in {self.directory} cannot be read ({reason}); "
                  f"moved to {target}, trying the previous one.", stacklevel=3)
    self._manager.close()
    os.makedirs(os.path.dirname(target), exist_ok=True)
    if os.path.exists(target):
      shutil.rmtree(target)
    shutil.move(os.path.join(self.directory, str(step)), target)
    self._manager = self._open()

