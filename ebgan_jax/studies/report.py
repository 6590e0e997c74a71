"""What every study shares: its seed loop, its statistics, its tables and the page it writes.

A study's command trains, writes its numbers as JSON in its ``results/`` folder, then writes
the folder's ``README.md`` with ``render(out)``: a pure function of the JSON files in ``out``.
A page therefore never says what its JSON does not carry, and ``tests/test_report.py``
regenerates every page of :data:`PAGES` from the committed JSON and compares them byte for
byte.

Statistics over seeds are the mean ± the standard error of the mean (sample standard deviation,
ddof = 1, over √n), with n printed in the table; non-finite values (a reverse KL of a run that
hit no mode) are left out of the mean and counted in the cell, never dropped silently. Two
models trained on the same seeds are compared by their paired differences
(:func:`paired`), and a verdict says "lower" or "higher" only when the difference's
interval of two standard errors excludes zero (:func:`verdict`).
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import math
import os
from typing import Callable, Iterable, Sequence

import numpy as np

# results/ sub-folder -> the study module whose ``render(out)`` writes its README.md.
PAGES = {
    "": "ebgan_jax.studies.family",
    "pacgan": "ebgan_jax.studies.pacgan",
    "grid_search": "ebgan_jax.studies.grid_search",
    "margin_sweep": "ebgan_jax.studies.margin_sweep",
    "likelihood": "ebgan_jax.studies.likelihood",
    "semisupervised": "ebgan_jax.studies.semisupervised",
    "theory": "ebgan_jax.studies.theory",
    "recipes": "ebgan_jax.studies.recipes",
    "began": "ebgan_jax.studies.began",
    "evaluation_function": "ebgan_jax.studies.evaluation_function",
    "superres": "ebgan_jax.studies.superres",
}
# Each page's statistics, stated once so that every page says it the same way.
MEAN_SE = ("mean ± standard error over seeds (ddof = 1); n is the number of seeds in the cell, "
           "and a non-finite value is counted in its cell, not averaged")
# The JSON a study writes beside its own data: the command and set-up the page quotes.
SETUP = "setup.json"


@dataclasses.dataclass(frozen=True)
class Stats:
  """Mean and standard error of the finite values of one cell, how many values, how many of
  them were not finite."""
  mean: float
  se: float
  n: int
  nonfinite: int = 0

  def format(self, spec: str = ".3g", se_spec: str = ".2g", show_n: bool = False) -> str:
    if self.n == 0:
      return "—"
    if self.nonfinite == self.n:
      return f"not finite in all {self.n}"
    text = f"{self.mean:{spec}} ± {self.se:{se_spec}}" if self.n - self.nonfinite > 1 else (
        f"{self.mean:{spec}}")
    if self.nonfinite:
      text += f" ({self.nonfinite} of {self.n} not finite)"
    elif show_n:
      text += f" (n = {self.n})"
    return text


def mean_se(values: Iterable[float]) -> Stats:
  """Mean ± standard error (ddof = 1) of the finite ``values``; non-finite ones are counted.

  One finite value has no spread to estimate: its standard error is NaN, and
  :meth:`Stats.format` prints the value alone.
  """
  values = np.asarray(list(values), np.float64)
  finite = values[np.isfinite(values)]
  if finite.size == 0:
    return Stats(float("nan"), float("nan"), int(values.size), int(values.size))
  se = float(finite.std(ddof=1) / math.sqrt(finite.size)) if finite.size > 1 else float("nan")
  return Stats(float(finite.mean()), se, int(values.size), int(values.size - finite.size))


def paired(a: Sequence[float], b: Sequence[float]) -> Stats:
  """Mean ± standard error of the per-seed differences ``a - b`` (the same seeds in order)."""
  if len(a) != len(b):
    raise ValueError(f"a paired comparison needs the same seeds on both sides, got {len(a)} "
                     f"and {len(b)} values.")
  return mean_se(np.asarray(a, np.float64) - np.asarray(b, np.float64))


def verdict(difference: Stats, below: str = "lower", above: str = "higher") -> str:
  """``below`` or ``above`` when the difference's interval of two standard errors excludes
  zero, otherwise "no difference measured at n = …"."""
  usable = difference.n - difference.nonfinite
  if usable > 1 and np.isfinite(difference.se):
    if difference.mean + 2 * difference.se < 0:
      return below
    if difference.mean - 2 * difference.se > 0:
      return above
  return f"no difference measured at n = {usable}"


def table(header: Sequence[str], rows: Iterable[Sequence[object]]) -> list[str]:
  """A markdown table's lines."""
  lines = ["| " + " | ".join(header) + " |", "|---" * len(header) + "|"]
  lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
  return lines


def seed_spec(seeds: int) -> dict[str, list[str]]:
  """The sweep that trains seeds 0 … ``seeds`` - 1 of one config as one vmapped program."""
  if seeds < 1:
    raise ValueError(f"--seeds must be at least 1, got {seeds}.")
  return {"seed": [str(s) for s in range(seeds)]}


def run_seeds(config, seeds: int, workdir: str, progress: bool = True
              ) -> tuple[list[dict], float]:
  """Trains (or resumes) seeds 0 … ``seeds`` - 1 of ``config`` together in ``workdir``: each
  seed's final evaluation, in seed order, and the training wall time summed over the calls
  that trained. An interrupted run returns no results."""
  from ebgan_jax import sweep
  return sweep.run_sweep_timed(config, seed_spec(seeds), workdir, progress=progress)


def member_value(row: dict) -> str:
  """The value of a one-key sweep's member, ``"margin=4"`` -> ``"4"``."""
  return row["member"].split("=", 1)[1]


def read_json(out: str, name: str):
  """``out/name`` parsed; a missing or damaged file is one line saying which and why."""
  path = os.path.join(out, name)
  from ebgan_jax import rundir
  try:
    return rundir.load(path)
  except FileNotFoundError:
    raise ValueError(f"{path} is missing: run the study's command to write it.") from None
  except json.JSONDecodeError as e:
    raise ValueError(f"{path} is not valid JSON ({e}); restore it with `git checkout -- "
                     f"{path}` or run the study's command again.") from None


def write_json(out: str, name: str, value, indent: int | None = 1) -> str:
  """Writes ``value`` to ``out/name`` atomically (a reader never sees half a file)."""
  from ebgan_jax import rundir
  os.makedirs(out, exist_ok=True)
  path = os.path.join(out, name)
  rundir.write_json_atomically(path, value, indent=indent)
  return path


def write_page(out: str, render: Callable[[str], str], name: str = "README.md") -> str:
  """Renders ``out``'s page from the JSON already written there and writes it atomically."""
  from ebgan_jax import rundir
  path = os.path.join(out, name)
  rundir.write_text_atomically(path, render(out))
  return path


def page_text(lines: Sequence[str]) -> str:
  """The page's lines joined, ending with exactly one newline."""
  return "\n".join(lines).rstrip("\n") + "\n"


def render_page(results: str, folder: str) -> str:
  """The README.md that :data:`PAGES`' study writes for ``results/folder``, from its JSON."""
  module = importlib.import_module(PAGES[folder])
  return module.render(os.path.join(results, folder) if folder else results)
