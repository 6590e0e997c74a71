"""Fingerprints of three short trainings, to show a refactor changed no number.

``python -m ebgan_jax.tools.check_behaviour --out DIR [--compare REF.json]`` trains
``digits_ebgan_pt`` for 300 steps, a two-member toy sweep (``toy_ring_gan``, seeds 0 and 1) for
200 steps and ``digits_vae`` for 200 steps through the command-line entry points, then hashes
each run's ``summary.json`` (without its wall-clock fields, ``seconds`` and ``images_per_sec``)
and its final sample picture. With ``--compare`` it exits 1 when any hash
differs from the reference file's.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys

from ebgan_jax import rundir

RUNS = {
    "digits_ebgan_pt": ["ebgan_jax.main", "--config", "experiments/digits_ebgan_pt.py",
                        "--config.num_steps=300"],
    "toy_sweep": ["ebgan_jax.sweep", "--config", "experiments/toy_ring_gan.py",
                  "--sweep", "seed=0,1", "--config.num_steps=200", "--config.log_every=100",
                  "--config.eval_every=0"],
    "digits_vae": ["ebgan_jax.main", "--config", "experiments/digits_vae.py",
                   "--config.num_steps=200"],
}
TIMING = ("seconds", "images_per_sec")


def _without_timing(value):
  if isinstance(value, dict):
    return {k: _without_timing(v) for k, v in value.items() if k not in TIMING}
  if isinstance(value, list):
    return [_without_timing(v) for v in value]
  return value


def fingerprint(workdir: str) -> dict[str, str]:
  # Parsed as the project reads it: an infinite value hashes the same whether the file spells
  # it strictly (null and its text) or, as files written before strict JSON did, Infinity.
  summary = _without_timing(rundir.load(rundir.path(workdir, rundir.SUMMARY)))
  out = {"summary": hashlib.sha256(json.dumps(summary, sort_keys=True).encode()).hexdigest()}
  with open(rundir.samples(workdir), "rb") as f:
    out["samples_final"] = hashlib.sha256(f.read()).hexdigest()
  return out


def main(argv: list[str] | None = None) -> int:
  parser = argparse.ArgumentParser(description=__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument("--out", required=True, help="a new directory for the three runs")
  parser.add_argument("--compare", default="", help="a fingerprints.json to compare with")
  args = parser.parse_args(argv)
  if os.path.exists(args.out):
    print(f"error: {args.out} exists; give a new --out directory.", file=sys.stderr)
    return 2
  prints = {}
  for name, command in RUNS.items():
    workdir = os.path.join(args.out, name)
    subprocess.run([sys.executable, "-m", *command, "--workdir", workdir, "--no_progress"],
                   check=True, stdout=subprocess.DEVNULL)
    prints[name] = fingerprint(workdir)
  with open(os.path.join(args.out, "fingerprints.json"), "w") as f:
    json.dump(prints, f, indent=2)
  print(json.dumps(prints, indent=2))
  if args.compare:
    with open(args.compare) as f:
      reference = json.load(f)
    differ = [f"{run}/{what}" for run in prints for what in prints[run]
              if reference.get(run, {}).get(what) != prints[run][what]]
    print("identical to " + args.compare if not differ else "differ: " + ", ".join(differ))
    return 1 if differ else 0
  return 0


if __name__ == "__main__":
  sys.exit(main())
