"""Checkpoints with Orbax: the whole training state, its metadata, and a safe restore.

A checkpoint holds the complete :class:`~ebgan_jax.train.GANState`: both networks, both
optimizers (with their learning rates), BatchNorm statistics, the step, the base key and every
controller value. Data batches are a pure function of ``(seed, step)``, so the step is also
the data position. Each checkpoint carries a small JSON record of the experiment name, the data
shape and the state's shapes, checked before anything is restored.
"""

from __future__ import annotations

import os
import shutil
import warnings
from typing import Any

import jax
import numpy as np
import orbax.checkpoint as ocp


def shape_signature(state: Any) -> dict[str, list[int]]:
  """``{tree path: shape}`` of every array in ``state``."""
  flat = jax.tree_util.tree_flatten_with_path(state)[0]
  return {jax.tree_util.keystr(path): list(np.shape(leaf)) for path, leaf in flat}


class IncompatibleCheckpointError(ValueError):
  pass


class Checkpointer:
  """Saves every ``every`` steps into ``<workdir>/checkpoints``, keeps the last ``keep``."""

  def __init__(self, workdir: str, *, keep: int = 3, async_save: bool = True):
    self.directory = os.path.abspath(os.path.join(workdir, "checkpoints"))
    self.workdir = workdir
    self._async = async_save
    self._keep = keep
    self._manager = self._open()

  def _open(self) -> ocp.CheckpointManager:
    options = ocp.CheckpointManagerOptions(
        max_to_keep=self._keep, create=True, cleanup_tmp_directories=True,
        enable_async_checkpointing=self._async)
    return ocp.CheckpointManager(self.directory, options=options, item_names=("state", "meta"))

  def steps(self) -> list[int]:
    return sorted(self._manager.all_steps())

  def save(self, step: int, state: Any, meta: dict[str, Any]) -> None:
    if step in self._manager.all_steps():
      return
    meta = {**meta, "step": int(step), "shapes": shape_signature(state)}
    # The copy keeps the saved arrays alive while the next (donating) step runs.
    state = jax.tree.map(lambda x: x.copy() if isinstance(x, jax.Array) else x, state)
    self._manager.save(step, args=ocp.args.Composite(state=ocp.args.StandardSave(state),
                                                     meta=ocp.args.JsonSave(meta)), force=True)

  def wait(self) -> None:
    self._manager.wait_until_finished()

  def close(self) -> None:
    self._manager.wait_until_finished()
    self._manager.close()

  def read_meta(self, step: int) -> dict[str, Any]:
    return self._manager.restore(step, args=ocp.args.Composite(meta=ocp.args.JsonRestore()))["meta"]

  def restore_latest(self, template: Any, *, experiment: str) -> tuple[Any, int] | None:
    """The newest readable checkpoint restored into ``template``'s structure, or ``None``.

    A checkpoint that cannot be read (truncated, corrupt) is moved to
    ``<workdir>/corrupt_checkpoints/`` with a warning, and the previous one is tried. A
    checkpoint of another experiment or with other shapes is an
    :class:`IncompatibleCheckpointError`, and nothing is touched.
    """
    expected = shape_signature(template)
    for step in reversed(self.steps()):
      try:
        meta = self.read_meta(step)
      except Exception as e:  # unreadable metadata: a broken checkpoint, not a config error
        self._set_aside(step, e)
        continue
      if meta.get("experiment") != experiment:
        raise IncompatibleCheckpointError(
            f"{self.workdir} holds checkpoints of experiment {meta.get('experiment')!r}, not "
            f"{experiment!r}; use another --workdir for this experiment.")
      if meta.get("shapes") != expected:
        saved = meta.get("shapes", {})
        diff = next((f"{k}: {saved[k] if k in saved else 'absent'} saved vs {v} now"
                     for k, v in expected.items() if saved.get(k) != v),
                    f"{next(iter(set(saved) - set(expected)), 'the structure')} saved, absent now")
        raise IncompatibleCheckpointError(
            f"the checkpoint at step {step} in {self.workdir} has other shapes than this config "
            f"({diff}); resume with the config it was written with, or use another --workdir.")
      try:
        restored = self._manager.restore(step, args=ocp.args.Composite(
            state=ocp.args.StandardRestore(template)))["state"]
        jax.block_until_ready(restored)
      except Exception as e:
        self._set_aside(step, e)
        continue
      return restored, step
    return None

  def _set_aside(self, step: int, error: Exception) -> None:
    target = os.path.join(self.workdir, "corrupt_checkpoints", str(step))
    warnings.warn(f"checkpoint {step} in {self.directory} cannot be read "
                  f"({type(error).__name__}); moved to {target}, trying the previous one.",
                  stacklevel=2)
    self._manager.close()
    os.makedirs(os.path.dirname(target), exist_ok=True)
    if os.path.exists(target):
      shutil.rmtree(target)
    shutil.move(os.path.join(self.directory, str(step)), target)
    self._manager = self._open()
