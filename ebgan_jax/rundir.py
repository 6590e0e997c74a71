"""The run directory: the one module that knows the names of a run's files, writes them
atomically and reads them safely while a trainer may still be writing.

A run's workdir holds:

- ``config.json``: the config in force (:data:`CONFIG`);
- ``metrics.jsonl``: one JSON object per logged step, and ``tensorboard/`` events (:data:`METRICS`);
- ``samples_<step>.png`` every ``sample_every`` steps and ``samples_final.png`` (:func:`samples`);
- ``loss_curves.png`` and ``summary.json`` at the end (:data:`LOSS_CURVES`, :data:`SUMMARY`);
- ``checkpoints/`` (Orbax), and ``corrupt_checkpoints/`` for those found damaged;
- ``eval.json`` from ``make eval`` and ``generated_step<step>_n<N>.png`` / ``.npz`` from
  ``make sample``; a sweep adds ``sweep_results.md`` / ``.json`` and ``wall_time.json``;
- ``.lock``, held by the training process.

Every JSON file is strict JSON (RFC 8259), which has no ``Infinity`` or ``NaN``: a non-finite
number (the reverse KL of a sample that covers no mode is infinite by definition) is written as
``null`` with its value in a sibling key, ``"reverse_kl": null, "reverse_kl_nonfinite": "inf"``
(``"-inf"``, ``"nan"``), or as ``{"nonfinite": "inf"}`` inside a list. :func:`loads` and the
readers here turn both back into floats.
"""

from __future__ import annotations

import glob
import json
import math
import os
import stat
import warnings
from typing import Any, Mapping

import numpy as np

CONFIG = "config.json"
METRICS = "metrics.jsonl"
SUMMARY = "summary.json"
LOSS_CURVES = "loss_curves.png"
TENSORBOARD = "tensorboard"
CHECKPOINTS = "checkpoints"
CORRUPT_CHECKPOINTS = "corrupt_checkpoints"
EVAL = "eval.json"
EVAL_HR = "eval_hr.json"  # make eval HR_DIR=: a super-resolution run on a folder of HR images
SWEEP_RESULTS = "sweep_results"  # .md and .json
WALL_TIME = "wall_time.json"
LOCK = ".lock"
SAMPLES_FINAL = "samples_final.png"
# What a finished run leaves that an earlier run's outputs would be recognised by.
OUTPUTS = (METRICS, SUMMARY, SAMPLES_FINAL)
# The entries a run writes, and whether each is a folder; anything else of those names is
# refused before a run starts or is read (a file where the checkpoints go, a folder named
# config.json).
FOLDERS = (CHECKPOINTS, CORRUPT_CHECKPOINTS, TENSORBOARD)
FILES = (CONFIG, METRICS, SUMMARY, LOSS_CURVES, EVAL, SWEEP_RESULTS + ".json",
         SWEEP_RESULTS + ".md", WALL_TIME, LOCK, SAMPLES_FINAL)
NONFINITE = "_nonfinite"  # the suffix of the key that holds a non-finite value's text


def path(workdir: str, name: str) -> str:
  """``<workdir>/<name>`` for one of the names above."""
  return os.path.join(workdir, name)


def samples(workdir: str, step: int | None = None) -> str:
  """The sample picture of ``step``, or the final one (``step`` None)."""
  return os.path.join(workdir, SAMPLES_FINAL if step is None else f"samples_{step:06d}.png")


def generated(workdir: str, step: int, n: int) -> str:
  """The stem (without ``.png`` / ``.npz``) of what ``make sample`` writes."""
  return os.path.join(workdir, f"generated_step{step}_n{n}")


def write_text_atomically(path: str, text: str) -> None:
  """A file that is either the old one or the new one, never half of each."""
  tmp = f"{path}.tmp{os.getpid()}"
  try:
    with open(tmp, "w") as f:
      f.write(text)
    os.replace(tmp, path)
  finally:
    if os.path.exists(tmp):
      os.remove(tmp)


def _nonfinite_text(x: float) -> str:
  return "nan" if math.isnan(x) else ("inf" if x > 0 else "-inf")


def strict(value: Any) -> Any:
  """``value`` with every non-finite float replaced as the module docstring says."""
  if isinstance(value, float) and not math.isfinite(value):
    return {"nonfinite": _nonfinite_text(value)}
  if isinstance(value, dict):
    out = {}
    for key, v in value.items():
      if isinstance(v, float) and not math.isfinite(v):
        out[key], out[f"{key}{NONFINITE}"] = None, _nonfinite_text(v)
      else:
        out[key] = strict(v)
    return out
  if isinstance(value, (list, tuple)):
    return [strict(v) for v in value]
  return value


def _restore(obj: dict) -> Any:
  """``json``'s object hook: the inverse of :func:`strict`."""
  if len(obj) == 1 and isinstance(obj.get("nonfinite"), str):
    return float(obj["nonfinite"])
  for key in [k for k in obj if k.endswith(NONFINITE)]:
    base = key[:-len(NONFINITE)]
    if base in obj and obj[base] is None and isinstance(obj[key], str):
      obj[base] = float(obj.pop(key))
  return obj


def dumps(value: Any, indent: int | None = None) -> str:
  """Strict JSON text of ``value`` (non-finite numbers as the module docstring says)."""
  return json.dumps(strict(value), indent=indent, allow_nan=False)


def loads(text: str) -> Any:
  """Parses what :func:`dumps` wrote (and older files with ``Infinity``) back to floats."""
  return json.loads(text, object_hook=_restore)


def load(path: str) -> Any:
  """:func:`loads` of the file at ``path``."""
  with open(path) as f:
    return loads(f.read())


def write_json_atomically(path: str, value: Any, indent: int | None = 2) -> None:
  """A strict JSON file that is either the old one or the new one, never half of each."""
  write_text_atomically(path, dumps(value, indent=indent))


def check_entries(workdir: str, writing: bool) -> None:
  """Refuses, in one line, a workdir where one of a run's entries is of the wrong kind (a file
  named ``checkpoints``, a folder named ``config.json``) or, when ``writing``, a file the run
  would append to or replace that cannot be written. Called before anything is written, so a
  refusal changes nothing."""
  for name in FOLDERS + FILES:
    entry = os.path.join(workdir, name)
    try:
      mode = os.stat(entry).st_mode
    except FileNotFoundError:
      continue
    folder = name in FOLDERS
    if stat.S_ISDIR(mode) != folder:
      what = "a folder" if stat.S_ISDIR(mode) else "not a folder"
      raise ValueError(f"{entry} is {what}, where the run keeps its {name} "
                       f"{'folder' if folder else 'file'}; move it out of the workdir (or use "
                       "another --workdir).")
    if writing and not os.access(entry, os.W_OK | (os.X_OK if folder else 0)):
      raise ValueError(f"{entry} is not writable; make it writable (chmod u+w) or use another "
                       "--workdir.")


def check_writable(folder: str, what: str, option: str) -> None:
  """Refuses, in one line, to compute ``what`` when ``folder`` cannot take the result (a
  read-only run, say), naming ``option`` to write elsewhere."""
  if os.path.isdir(folder) and not os.access(folder, os.W_OK | os.X_OK):
    raise ValueError(f"{folder} is not writable (a read-only run?); pass {option} DIR to write "
                     f"{what} elsewhere.")


def finished(summary: dict | None, num_steps: int) -> bool:
  """Whether ``summary.json``'s contents say the run reached ``num_steps`` and was not stopped
  early (a stopped run writes ``interrupted``)."""
  return bool(summary) and summary.get("steps", 0) >= num_steps and not summary.get("interrupted")


def read_json(workdir: str, name: str) -> Any | None:
  """``<workdir>/<name>`` parsed; None when it is missing or cannot be parsed."""
  try:
    return load(os.path.join(workdir, name))
  except (FileNotFoundError, NotADirectoryError, IsADirectoryError, json.JSONDecodeError,
          UnicodeDecodeError, ValueError):
    return None


def read_config(workdir: str) -> dict | None:
  """``config.json`` as a dict; None when it is missing or cannot be parsed."""
  return read_json(workdir, CONFIG)


def summaries_under(workdir: str) -> list[str]:
  """The ``summary.json`` of every run under ``workdir`` (a sweep's program groups)."""
  return glob.glob(os.path.join(workdir, "**", SUMMARY), recursive=True)


# ----------------------------------------------------------------------------------------------
# Metrics: JSON lines (the record) and TensorBoard
# ----------------------------------------------------------------------------------------------

class MetricWriter:
  """Appends ``{"step": s, ...}`` lines to ``metrics.jsonl`` and scalars to TensorBoard."""

  def __init__(self, workdir: str):
    self.path = os.path.join(workdir, METRICS)
    try:
      from tensorboardX import SummaryWriter
      self._tb = SummaryWriter(os.path.join(workdir, TENSORBOARD))
    except ImportError:  # TensorBoard events are optional; the JSON lines are the record
      self._tb = None

  def write(self, step: int, metrics: Mapping[str, float], member: str | None = None) -> None:
    """One row; in a sweep each member's rows carry its label (``"member"``)."""
    row = {"step": int(step), **({"member": member} if member is not None else {}),
           **{k: float(v) for k, v in metrics.items()}}
    with open(self.path, "a") as f:
      f.write(dumps(row) + "\n")
    if self._tb is not None:
      prefix = f"{member}/" if member is not None else ""
      for k, v in metrics.items():
        # A metric can be infinite by definition (the reverse KL of a sample that covers no
        # mode); the JSON line keeps it, TensorBoard's writer would warn at every step.
        if np.isfinite(float(v)):
          self._tb.add_scalar(prefix + k, float(v), int(step))

  def close(self) -> None:
    if self._tb is not None:
      self._tb.close()


def _read_rows(path: str) -> tuple[list[dict], bool]:
  """The rows of a metrics file, and whether a cut-off last line was dropped.

  A run killed in the middle of a write leaves a last line without its end; that line is
  dropped with a warning. A damaged line anywhere else is an error naming the file and line.
  """
  if not os.path.exists(path):
    return [], False
  with open(path, "rb") as f:
    lines = f.read().decode("utf-8", errors="replace").split("\n")
  rows, dropped = [], False
  for number, line in enumerate(lines, 1):
    if not line.strip():
      continue
    try:
      rows.append(loads(line))
    except json.JSONDecodeError:
      if number == len(lines):  # the last line, with no newline after it: cut off mid-write
        warnings.warn(f"{path}: dropped a cut-off last line (the run stopped while writing "
                      "it).", stacklevel=3)
        dropped = True
        continue
      raise ValueError(f"{path} line {number} is not valid JSON; delete that line (or move the "
                       "file aside to start the log afresh) and rerun.") from None
  return rows, dropped


def read_metrics(workdir: str) -> list[dict]:
  return _read_rows(os.path.join(workdir, METRICS))[0]


def truncate_metrics(workdir: str, after_step: int) -> None:
  """Drops logged rows past ``after_step`` (a resumed run logs those steps again) and a
  cut-off last line."""
  path = os.path.join(workdir, METRICS)
  rows, dropped = _read_rows(path)
  keep = [r for r in rows if r["step"] <= after_step]
  if len(keep) != len(rows) or dropped:
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
      f.writelines(dumps(r) + "\n" for r in keep)
    os.replace(tmp, path)


def last_training_rows(workdir: str, members: list[str] | None, upto: int) -> list[dict]:
  """Per member (one row for a single run), the last logged training metrics at or before
  step ``upto``, without ``step`` and ``member``; ``{}`` where none were logged."""
  rows = [r for r in read_metrics(workdir) if r["step"] <= upto and "images_per_sec" in r]
  out = []
  for member in (members or [None]):
    mine = [r for r in rows if r.get("member") == member]
    out.append({k: v for k, v in mine[-1].items() if k not in ("step", "member")} if mine else {})
  return out
