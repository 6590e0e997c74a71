"""What every command shares: XLA's CPU defaults, the exit codes and the one-line errors.

Exit codes: 0 done; 1 stopped by the run itself (the divergence guard, a full disk); 2 bad
input, said in one line that names the fix, with nothing written; 3 interrupted by SIGTERM or
SIGINT after saving a checkpoint (rerun the same command to resume).
"""

from __future__ import annotations

import os
import sys
from typing import Callable, Sequence

EXIT_OK, EXIT_STOPPED, EXIT_BAD_INPUT, EXIT_INTERRUPTED = 0, 1, 2, 3


def set_cpu_defaults() -> None:
  """XLA:CPU runs this project's convolutions 25-60% faster with the YNN fusions off
  (measured with ``make bench`` on 2 cores). Applied only when the user has not set that flag
  (nor ``EBGAN_JAX_XLA_DEFAULTS=0``); must run before jax creates its backend."""
  if os.environ.get("EBGAN_JAX_XLA_DEFAULTS", "1") == "0":
    return
  flags = os.environ.get("XLA_FLAGS", "")
  if "xla_cpu_experimental_ynn_fusion_type" not in flags:
    os.environ["XLA_FLAGS"] = (flags + " --xla_cpu_experimental_ynn_fusion_type=").strip()


def error(message: str) -> int:
  """Prints ``error: message`` on stderr; returns the bad-input exit code."""
  print(f"error: {message}", file=sys.stderr)
  return EXIT_BAD_INPUT


def parts(text: str, known: Sequence[str]) -> list[str]:
  """The comma-separated ``--parts`` of a study command, in the order given; a one-line
  ``ValueError`` for an empty list or an unknown name."""
  chosen = [p.strip() for p in text.split(",") if p.strip()]
  if not chosen or set(chosen) - set(known):
    raise ValueError(f"--parts takes a comma-separated list of {', '.join(known)}; got "
                     f"{text!r}.")
  return chosen


def interrupted(code: int = EXIT_INTERRUPTED) -> int:
  """Says on stderr that rerunning the same command resumes; returns ``code``."""
  print("interrupted; rerun the same command to resume.", file=sys.stderr)
  return code


def run(body: Callable[[], int | None]) -> int:
  """Runs a command's body and turns the errors a user can act on into one line and an exit
  code: ``ValueError`` (bad input) 2, a run stopped by its guard or by a full disk 1. Anything
  else is a bug and keeps its traceback."""
  try:
    code = body()
  except ValueError as e:
    return error(str(e))
  except Exception as e:  # noqa: BLE001 - re-raised unless it is one of the runner's stops
    from ebgan_jax import train  # loaded already when a training raised
    if isinstance(e, train.TrainingStopped):
      print(f"stopped: {e}", file=sys.stderr)
      return EXIT_STOPPED
    if isinstance(e, train.DiskFull):
      print(f"error: {e}", file=sys.stderr)
      return EXIT_STOPPED
    raise
  return EXIT_OK if code is None else code
