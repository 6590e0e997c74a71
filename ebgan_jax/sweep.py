"""Sweeps in one compiled program: ``make sweep EXP=<name> SWEEP="margin=1,2,4,6,8,12,16,32"``.

  python -m ebgan_jax.sweep --config experiments/digits_ebgan_pt.py --workdir runs/sweep \\
      --sweep margin=1,2,4,6,8,12,16,32 [--sweep seed=0,1] [--config.num_steps=2000]

Several ``--sweep`` keys give their product. Keys whose values are traced inputs of the step
(the seed, margin, PT weight and learning rates) share one program: the members' states are
stacked on a leading axis and one ``vmap``-ed step trains them all, and one vmapped call samples
from every member. Other keys (layer sizes, depths, the energy norm, ...) change the program:
members are grouped by them, one vmapped program per group.

``--bench`` times a sweep against the same members trained one after the other
(``make bench-sweep``) and prints one JSON line.
"""

from __future__ import annotations

import argparse
import copy
import itertools
import os
import sys
import tempfile
import time
from typing import Sequence

from ebgan_jax import cli, rundir
from ebgan_jax.configs import split_overrides, state_keys

# Shorthands that set several keys at once.
ALIASES = {"lr": ("optimizer.lr_g", "optimizer.lr_d"), "optimizer.lr": ("optimizer.lr_g", "optimizer.lr_d")}


def parse_sweep(items: Sequence[str]) -> dict[str, list[str]]:
  """``["margin=1,2", "seed=0,1"]`` (or one space-separated string) -> ``{key: [values]}``."""
  spec = {}
  for item in (part for text in items for part in text.split()):
    key, sep, values = item.partition("=")
    if not sep or not values:
      raise ValueError(f"sweep item {item!r} must look like key=v1,v2,..., e.g. margin=1,2,4.")
    spec[key] = [v for v in values.split(",") if v]
  if not spec:
    raise ValueError('nothing to sweep; pass e.g. --sweep margin=1,2,4 (make sweep SWEEP="...").')
  return spec


def expand(config, spec: dict[str, list[str]]):
  """The product of the swept values: ``[(label, member_config)]``."""
  from ebgan_jax import configs
  members = []
  keys = list(spec)
  for values in itertools.product(*(spec[k] for k in keys)):
    member = copy.deepcopy(config)
    overrides = []
    for key, value in zip(keys, values):
      overrides += [f"{k}={value}" for k in ALIASES.get(key, (key,))]
    configs.apply_overrides(member, overrides)
    configs.validate(member)
    members.append((",".join(f"{k}={v}" for k, v in zip(keys, values)), member))
  return members


def group_by_program(members):
  """Members grouped so that each group differs only in traced keys: ``{static label: [...]}``."""
  # Keys that are traced values of the step, so members differing only in them share a
  # program: the seed (the key and initial parameters) and the values the state carries.
  traced = ("seed",) + state_keys() + tuple(ALIASES)
  groups: dict[str, list] = {}
  for label, member in members:
    static = [part for part in label.split(",")
              if part.split("=")[0] not in traced]
    groups.setdefault(",".join(static), []).append((label, member))
  return groups


def run_sweep(config, spec: dict[str, list[str]], workdir: str, progress: bool = True) -> list[dict]:
  from ebgan_jax import train
  members = expand(config, spec)
  groups = group_by_program(members)
  if len(groups) > 1:
    print(f"{len(members)} members in {len(groups)} groups with different programs "
          f"({'; '.join(groups)}): one vmapped program per group.", flush=True)
  results = []
  for static, group in groups.items():
    group_dir = workdir if len(groups) == 1 else os.path.join(workdir, static.replace("=", "_").replace(",", "__"))
    labels = [label for label, _ in group]
    summary = train.train_and_evaluate(group[0][1], group_dir, progress=progress,
                                       members=[m for _, m in group], labels=labels)
    if summary.get("interrupted"):
      return []
    late = second_half_stats(group_dir, group[0][1].num_steps)
    results += [{"group": static, "workdir": group_dir, "member_layout": summary["member_layout"],
                 **row, **late.get(row["member"], {})} for row in summary["members"]]
  write_tables(workdir, results)
  return results


def run_sweep_timed(config, spec: dict[str, list[str]], workdir: str, progress: bool = True
                    ) -> tuple[list[dict], float]:
  """:func:`run_sweep`, and the wall time that training the sweep to its end took, summed over
  the calls that trained (kept in ``<workdir>/wall_time.json``): rerunning a finished sweep
  evaluates it again but adds nothing."""
  path = rundir.path(workdir, rundir.WALL_TIME)
  spent = 0.0
  if os.path.exists(path):
    spent = float(rundir.load(path)["seconds"])
  summaries = [rundir.load(name) for name in rundir.summaries_under(workdir)]
  finished = bool(summaries) and all(rundir.finished(s, config.num_steps) for s in summaries)
  t0 = time.perf_counter()
  results = run_sweep(config, spec, workdir, progress)
  if not finished:
    spent += time.perf_counter() - t0
    rundir.write_json_atomically(path, {"seconds": spent})
  return results, spent


def second_half_stats(workdir: str, num_steps: int) -> dict[str, dict[str, float]]:
  """Per member, over the training metrics logged in the second half of training: the mean
  fraction of generated samples under the margin (``late_frac_below_margin``: 1 means the
  hinge pushed every fake, every step, so the margin value never mattered) and the
  coefficient of variation of D's loss (``late_loss_d_cv``: how much training oscillates).
  For BEGAN, over the whole run: the fraction of logged steps at which ``k_t`` was off its
  clip bounds 0 and 1 (``k_off_clip``: the controller at work, not pinned)."""
  import numpy as np
  logged = [r for r in rundir.read_metrics(workdir) if "images_per_sec" in r]
  rows = [r for r in logged if r["step"] > num_steps // 2]
  stats = {}
  for member in dict.fromkeys(r.get("member") for r in rows):
    mine = [r for r in rows if r.get("member") == member]
    out = {}
    k = np.array([r["k"] for r in logged if r.get("member") == member and "k" in r])
    if k.size:
      out["k_off_clip"] = float(np.mean((k > 0) & (k < 1)))
    if all("frac_fake_below_margin" in r for r in mine):
      out["late_frac_below_margin"] = float(np.mean([r["frac_fake_below_margin"] for r in mine]))
    loss = np.array([r["loss_d"] for r in mine], np.float64)
    if loss.size > 1 and np.all(np.isfinite(loss)):
      out["late_loss_d_cv"] = float(loss.std(ddof=1) / max(abs(loss.mean()), 1e-12))
    stats[member] = out
  return stats


_TABLE_KEYS = ("loss_d", "loss_g", "energy_real", "energy_fake", "pt", "frac_fake_below_margin",
               "late_frac_below_margin", "late_loss_d_cv", "k", "k_off_clip", "skipped_steps", "modes_covered",
               "high_quality", "reverse_kl", "inception_score", "classes_covered",
               "frechet_distance", "kl_to_uniform", "fid", "precision", "recall", "density",
               "coverage")


def write_tables(workdir: str, results: list[dict]) -> None:
  os.makedirs(workdir, exist_ok=True)
  rundir.write_json_atomically(rundir.path(workdir, rundir.SWEEP_RESULTS + ".json"), results)
  keys = [k for k in _TABLE_KEYS if results and k in results[0]]
  lines = ["| member | " + " | ".join(keys) + " |", "|---" * (len(keys) + 1) + "|"]
  for row in results:
    lines.append(f"| {row['member']} | " + " | ".join(f"{row.get(k, float('nan')):.4g}"
                                                      for k in keys) + " |")
  if "late_frac_below_margin" in keys:
    lines += ["", "late_*: over the metrics logged in the second half of training; "
              "late_frac_below_margin is the mean fraction of generated samples whose energy is "
              "under the margin, late_loss_d_cv the coefficient of variation of loss_d."]
  if results and "precision_recall_k" in results[0]:
    lines += ["", prdc_note(results[0])]
  with open(rundir.path(workdir, rundir.SWEEP_RESULTS + ".md"), "w") as f:
    f.write("\n".join(lines) + "\n")
  print("\n".join(lines), flush=True)


def prdc_note(row: dict) -> str:
  """The settings that precision, recall, density and coverage depend on, for a table."""
  return (f"precision and recall with k = {row['precision_recall_k']}, density and coverage "
          f"with k = {row['density_coverage_k']}, on {row['prdc_fake_samples']} generated "
          f"against {row['prdc_real_samples']} real samples.")


def bench(config, spec: dict[str, list[str]]) -> dict:
  """Wall time of the sweep versus the same members trained one after the other."""
  from ebgan_jax import train
  members = expand(config, spec)
  with tempfile.TemporaryDirectory() as tmp:
    t0 = time.perf_counter()
    run_sweep(config, spec, os.path.join(tmp, "sweep"), progress=False)
    sweep_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    for i, (_, member) in enumerate(members):
      train.train_and_evaluate(member, os.path.join(tmp, f"single{i}"), progress=False)
    single_s = time.perf_counter() - t0
  return {"config": config.name, "members": len(members), "steps": config.num_steps,
          "sweep_s": round(sweep_s, 2), "sequential_s": round(single_s, 2),
          "speedup": round(single_s / sweep_s, 2)}


def main(argv: list[str] | None = None) -> int:
  argv = sys.argv[1:] if argv is None else argv
  parser = argparse.ArgumentParser(prog="python -m ebgan_jax.sweep", description=__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument("--config", required=True, help="experiments/<name>.py, or just <name>")
  parser.add_argument("--workdir", default="")
  parser.add_argument("--sweep", action="append", default=[], help="key=v1,v2,... (repeatable)")
  parser.add_argument("--no_progress", action="store_true")
  parser.add_argument("--bench", action="store_true", help="time against sequential runs")
  rest, overrides = split_overrides(argv)
  args = parser.parse_args(rest)
  cli.set_cpu_defaults()
  from ebgan_jax import configs

  def body() -> int:
    config = configs.load_config(args.config)
    configs.apply_overrides(config, overrides)
    configs.validate(config)
    spec = parse_sweep(args.sweep)
    if args.bench:
      print(rundir.dumps(bench(config, spec)))
      return cli.EXIT_OK
    run_sweep(config, spec, args.workdir or os.path.join("runs", f"{config.name}_sweep"),
              progress=not args.no_progress)
    return cli.EXIT_OK
  return cli.run(body)


if __name__ == "__main__":
  sys.exit(main())
