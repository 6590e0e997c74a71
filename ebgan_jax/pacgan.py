"""``make results PROTOCOL=pacgan``: PacGAN's 2-D protocol at its own budget, next to its
Table 1 (Lin et al. 2018).

  python -m ebgan_jax.pacgan [--steps 400000] [--seeds 10] [--datasets ring,grid]
      [--models GAN,PacGAN2,PacGAN3,PacGAN4] [--out results/pacgan] [--workdir runs/pacgan]
      [--report] [--config.<key>=<value> ...]

Every model is PacGAN's set-up (``configs.pacgan_config``: its networks, optimizer, batch,
simultaneous updates and fixed 100,000-point training set) with the changes its row names;
the seeds of one (dataset, model) pair train together as one vmapped sweep. Rerunning the
same command resumes every sweep where it stopped, so the table can be trained over several
sessions. ``--config.*`` flags apply to every model (for the energy-based rows, e.g.
``--config.margin``).

``--report`` writes the report of the runs as they stand (each seed's last evaluation), for a
table that is still training; it also says at which update each row first came within two
standard errors of the published one.

Writes ``<out>/README.md`` (mean ± standard error over seeds next to the published row),
``<out>/results.json`` and ``<out>/curves.png`` (modes and high-quality samples against the
training step, mean ± s.e., the published value dashed).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

from ebgan_jax.configs import split_overrides
from ebgan_jax.main import set_cpu_defaults

MODELS = {  # name: overrides of configs.pacgan_config
    "GAN": {"algorithm": "gan"},
    "PacGAN2": {"algorithm": "gan", "pack": 2},
    "PacGAN3": {"algorithm": "gan", "pack": 3},
    "PacGAN4": {"algorithm": "gan", "pack": 4},
    "EBGAN": {"algorithm": "ebgan"},
    "EBGAN-PT": {"algorithm": "ebgan", "pt_weight": 0.1},
    "PacEBGAN2": {"algorithm": "ebgan", "pack": 2},
}
DEFAULT_MODELS = ("GAN", "PacGAN2", "PacGAN3", "PacGAN4")
METRICS = ("modes_covered", "high_quality", "reverse_kl")

# Lin et al. 2018, Table 1: mean ± standard error over 10 runs of modes, % high-quality
# samples and reverse KL.
PUBLISHED = {
    ("ring", "GAN"): ((6.3, 0.5), (98.2, 0.2), (0.45, 0.09)),
    ("ring", "PacGAN2"): ((7.9, 0.1), (95.6, 2.0), (0.07, 0.03)),
    ("ring", "PacGAN3"): ((7.8, 0.1), (97.7, 0.3), (0.10, 0.02)),
    ("ring", "PacGAN4"): ((7.8, 0.1), (95.9, 1.4), (0.07, 0.02)),
    ("grid", "GAN"): ((17.3, 0.8), (94.8, 0.7), (0.70, 0.07)),
    ("grid", "PacGAN2"): ((23.8, 0.7), (91.3, 0.8), (0.13, 0.04)),
    ("grid", "PacGAN3"): ((24.6, 0.4), (94.2, 0.4), (0.06, 0.02)),
    ("grid", "PacGAN4"): ((24.8, 0.2), (93.6, 0.6), (0.04, 0.01)),
}


def model_config(dataset: str, model: str, steps: int, overrides=()):
  """The config of one row: PacGAN's set-up, the row's changes, then the user's."""
  from ebgan_jax import configs
  config = configs.pacgan_config(dataset)
  # Curves need points at any budget: every 10,000 updates, or 20 points for short runs.
  every = max(1, min(10000, steps // 20))
  configs.apply_overrides(config, [f"{k}={v}" for k, v in MODELS[model].items()] + [
      f"num_steps={steps}", f"eval_every={every}", f"checkpoint_every={every}",
      f"log_every={every}", f"sample_every={steps}", *overrides])
  configs.validate(config)
  return config


def run(datasets, models, seeds: int, steps: int, workdir: str, overrides=(),
        progress: bool = True) -> list[dict]:
  from ebgan_jax import sweep
  rows = []
  for dataset in datasets:
    for model in models:
      config = model_config(dataset, model, steps, overrides)
      t0 = time.perf_counter()
      results = sweep.run_sweep(config, {"seed": [str(s) for s in range(seeds)]},
                                os.path.join(workdir, dataset, model), progress=progress)
      if not results:  # interrupted: rerunning the command resumes
        return rows
      for r in results:
        rows.append({"dataset": dataset, "model": model, "steps": steps,
                     "seconds": round(time.perf_counter() - t0, 1), **r})
  return rows


def _mean_se(values) -> tuple[float, float]:
  import numpy as np
  values = np.asarray(values, np.float64)
  finite = values[np.isfinite(values)]
  if finite.size == 0:
    return float("nan"), float("nan")
  se = finite.std(ddof=1) / np.sqrt(finite.size) if finite.size > 1 else 0.0
  return float(finite.mean()), float(se)


def curves(workdir: str) -> dict[str, list[dict]]:
  """Per member, the evaluation rows logged during training (step, modes, quality)."""
  from ebgan_jax import outputs
  out: dict[str, list[dict]] = {}
  for row in outputs.read_metrics(workdir):
    if "modes_covered" in row:
      out.setdefault(row.get("member"), []).append(row)
  return out


def rows_so_far(datasets, models, workdir: str) -> list[dict]:
  """The rows of the runs as they stand: a finished sweep's final scores, else each member's
  last evaluation (for a report of a table still training)."""
  rows = []
  for dataset in datasets:
    for model in models:
      where = os.path.join(workdir, dataset, model)
      if os.path.exists(os.path.join(where, "summary.json")):  # finished: its final scores
        with open(os.path.join(where, "summary.json")) as f:
          summary = json.load(f)
        rows += [{"dataset": dataset, "model": model, "steps": summary["steps"], **m}
                 for m in summary["members"]]
        continue
      for member, logged in curves(where).items():
        last = max(logged, key=lambda r: r["step"])
        rows.append({"dataset": dataset, "model": model, "steps": last["step"],
                     "member": member, **{k: v for k, v in last.items()
                                          if k not in ("step", "member")}})
  return rows


def curve(logged: dict[str, list[dict]], metric: str, scale: float = 1.0
          ) -> tuple[list[int], list[tuple[float, float]]]:
  """The evaluated steps and, at each, the mean ± standard error over members of ``metric``
  (times ``scale``)."""
  steps = sorted({r["step"] for rs in logged.values() for r in rs})
  return steps, [_mean_se([r[metric] * scale for rs in logged.values() for r in rs
                           if r["step"] == step]) for step in steps]


def first_step_at_published(logged: dict[str, list[dict]], published) -> int | None:
  """The first evaluated step at which the mean over seeds of modes and of high-quality
  samples are both within two standard errors of the published means (the two standard
  errors combined), or None."""
  import numpy as np
  steps, modes = curve(logged, "modes_covered")
  _, quality = curve(logged, "high_quality", 100)
  for step, *stats in zip(steps, modes, quality):
    if all(abs(mean - pub) <= 2 * np.hypot(se, pub_se)
           for (mean, se), (pub, pub_se) in zip(stats, published[:2])):
      return step
  return None


def write_report(rows: list[dict], out: str, workdir: str, target: int | None = None) -> None:
  import matplotlib
  matplotlib.use("Agg")
  import matplotlib.pyplot as plt
  import numpy as np

  os.makedirs(out, exist_ok=True)
  with open(os.path.join(out, "results.json"), "w") as f:
    json.dump(rows, f, indent=1)
  datasets = list(dict.fromkeys(r["dataset"] for r in rows))
  models = list(dict.fromkeys(r["model"] for r in rows))
  lines = ["# PacGAN's 2-D protocol, reproduced", "",
           "Regenerate with `make results PROTOCOL=pacgan` (resumable). PacGAN's set-up for every "
           "row (Lin et al. 2018, §5.1, and their code): generator 4 × 400 BatchNorm ReLU, "
           "discriminator 3 maxout layers of 200 units × 5 pieces, Adam 1e-4 / β1 0.8, batch "
           "100, simultaneous updates, a fixed training set of 100,000 points; 2,500 samples "
           "from a fixed z, BatchNorm in inference mode. Mean ± standard error over seeds; "
           "the published row (10 runs, 400,000 updates) beside each of ours.", ""]
  if target is not None:
    lines += [f"**Still training** (target {target:,} updates): each row is its seeds' last "
              "evaluation so far. \"At published\" is the first evaluated update at which "
              "our mean modes and mean high-quality percentage are both within two standard "
              "errors of the published means.", ""]
  for dataset in datasets:
    mine = [r for r in rows if r["dataset"] == dataset]
    lines += [f"## {dataset}", "", "| model | updates | seeds | modes | high quality (%) | "
              "reverse KL | recall | coverage | at published |", "|---|---|---|---|---|---|---|---|---|"]
    for model in models:
      got = [r for r in mine if r["model"] == model]
      if not got:
        continue
      cells = []
      for metric, scale in zip(METRICS + ("recall", "coverage"), (1, 100, 1, 1, 1)):
        if all(metric in r for r in got):
          m, se = _mean_se([r[metric] * scale for r in got])
          cells.append(f"{m:.3g} ± {se:.2g}")
        else:
          cells.append("—")
      reached = "—"
      if (dataset, model) in PUBLISHED:
        step = first_step_at_published(curves(os.path.join(workdir, dataset, model)),
                                       PUBLISHED[(dataset, model)])
        reached = f"{step:,}" if step is not None else "not yet"
      updates = min(r["steps"] for r in got)
      lines.append(f"| {model} (ours) | {updates:,} | {len(got)} | " + " | ".join(cells)
                   + f" | {reached} |")
      if (dataset, model) in PUBLISHED:
        pub = PUBLISHED[(dataset, model)]
        lines.append(f"| {model} (Lin et al. 2018) | 400,000 | 10 | "
                     + " | ".join(f"{m:g} ± {se:g}" for m, se in pub) + " | — | — | — |")
    lines.append("")
  lines += ["![curves](curves.png)", ""]
  with open(os.path.join(out, "README.md"), "w") as f:
    f.write("\n".join(lines))

  fig, axes = plt.subplots(len(datasets), 2, figsize=(10, 3.6 * len(datasets)), squeeze=False)
  for row_axes, dataset in zip(axes, datasets):
    for ax, metric, scale in zip(row_axes, METRICS[:2], (1, 100)):
      for i, model in enumerate(models):
        logged = curves(os.path.join(workdir, dataset, model))
        if not logged:
          continue
        steps, stats = curve(logged, metric, scale)
        mean, se = np.array([m for m, _ in stats]), np.array([e for _, e in stats])
        line, = ax.plot(steps, mean, label=model)
        ax.fill_between(steps, mean - se, mean + se, alpha=0.2, color=line.get_color())
        if (dataset, model) in PUBLISHED:
          ax.axhline(PUBLISHED[(dataset, model)][METRICS.index(metric)][0],
                     ls="--", lw=0.8, color=line.get_color())
      what = "modes covered" if metric == "modes_covered" else "% high quality"
      ax.set_title(f"{dataset}: {what} (dashed: Lin et al. 2018)", fontsize=10)
      ax.set_xlabel("update")
      ax.legend(fontsize=7)
  fig.tight_layout()
  fig.savefig(os.path.join(out, "curves.png"), dpi=100)
  plt.close(fig)


def main(argv: list[str] | None = None) -> int:
  argv = sys.argv[1:] if argv is None else argv
  parser = argparse.ArgumentParser(prog="python -m ebgan_jax.pacgan", description=__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument("--steps", type=int, default=400000)
  parser.add_argument("--seeds", type=int, default=10)
  parser.add_argument("--datasets", default="ring,grid")
  parser.add_argument("--models", default=",".join(DEFAULT_MODELS),
                      help=f"comma-separated, from {', '.join(MODELS)}")
  parser.add_argument("--out", default="results/pacgan")
  parser.add_argument("--workdir", default="runs/pacgan")
  parser.add_argument("--no_progress", action="store_true")
  parser.add_argument("--report", action="store_true",
                      help="write the report of the runs as they stand, without training")
  rest, overrides = split_overrides(argv)
  args = parser.parse_args(rest)
  set_cpu_defaults()
  from ebgan_jax import train
  datasets = [d for d in args.datasets.split(",") if d]
  models = [m for m in args.models.split(",") if m]
  try:
    unknown = [m for m in models if m not in MODELS] + [d for d in datasets
                                                        if d not in ("ring", "grid")]
    if unknown or args.steps <= 0 or args.seeds <= 0:
      raise ValueError(f"unknown model or dataset {unknown}; models: {', '.join(MODELS)}; "
                       "datasets: ring, grid; --steps and --seeds must be positive."
                       if unknown else "--steps and --seeds must be positive.")
    if args.report:
      rows = rows_so_far(datasets, models, args.workdir)
      if not rows:
        raise ValueError(f"nothing trained yet in {args.workdir}; run without --report first.")
      write_report(rows, args.out, args.workdir, target=args.steps)
      print(open(os.path.join(args.out, "README.md")).read())
      return 0
    rows = run(datasets, models, args.seeds, args.steps, args.workdir, overrides,
               progress=not args.no_progress)
  except ValueError as e:
    print(f"error: {e}", file=sys.stderr)
    return 2
  except train.TrainingStopped as e:
    print(f"stopped: {e}", file=sys.stderr)
    return 1
  except train.DiskFull as e:
    print(f"error: {e}", file=sys.stderr)
    return 1
  if len(rows) < len(datasets) * len(models) * args.seeds:
    print("interrupted; rerun the same command to resume.", file=sys.stderr)
    return 3
  write_report(rows, args.out, args.workdir)
  print(open(os.path.join(args.out, "README.md")).read())
  return 0


if __name__ == "__main__":
  sys.exit(main())
