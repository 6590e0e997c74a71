"""``make results``: the family on the embedded protocols, same budget, several seeds.

  python -m ebgan_jax.studies.family [--seeds 3] [--scale 1.0] [--out results]

Trains GAN, EBGAN, EBGAN-PT, BEGAN, MAGAN and the Loss-Sensitive GAN on the ring of 8, the
grid of 25, digits and stacked digits at a short budget (small MLPs on the mixtures,
``configs.toy_config``); every algorithm gets the same networks, steps, batch and learning rate
per dataset, and the seeds of one (algorithm, dataset) pair train together as one vmapped sweep.
Writes ``<out>/README.md`` (mean ± standard error per metric; the published numbers stand beside their
reproductions at the published budgets, ``python -m ebgan_jax.studies.pacgan``),
``<out>/results.json`` and ``<out>/results.png``. ``--scale`` multiplies every step budget (0.1
for a quick look).
"""

from __future__ import annotations

import argparse
import os
import sys

from ebgan_jax import cli
from ebgan_jax.cli import set_cpu_defaults
from ebgan_jax.sweep import prdc_note

from ebgan_jax.algorithms import REGISTRY, Adversarial
from ebgan_jax.studies import report

# The rows: every adversarial algorithm of the registry, {title: (algorithm, overrides)}.
ALGORITHMS = {title: (name, list(overrides)) for name, cls in REGISTRY.items()
              if issubclass(cls, Adversarial) for title, overrides in cls.table_rows().items()}
_PRDC = ("precision", "recall", "density", "coverage")
# name: (base, steps, metrics shown); the base is an experiment, or ("toy_config", mixture): the
# short MLP recipe of ``configs.toy_config`` (the experiments of the mixtures are PacGAN's
# set-up at 400,000 updates, ``make results PROTOCOL=pacgan``).
DATASETS = {
    "ring": (("toy_config", "ring"), 2000, ("modes_covered", "high_quality", "reverse_kl") + _PRDC),
    "grid": (("toy_config", "grid"), 4000, ("modes_covered", "high_quality", "reverse_kl") + _PRDC),
    "digits": ("digits_ebgan_pt", 4000, ("inception_score", "classes_covered",
                                         "frechet_distance", "ebgan_score") + _PRDC),
    "stacked": ("stacked_digits_ebgan_pt", 4000, ("modes_covered", "kl_to_uniform") + _PRDC),
}
PUBLISHED = """Stacked digits here are scikit-learn's 8×8 digits, not MNIST, and the digits scores come from
this package's own classifier: compare them with each other, not with MNIST papers. The
published numbers of these protocols (PacGAN's Tables 1 and 2) are beside their reproductions in
[pacgan/README.md](pacgan/README.md)."""


def base_config(dataset: str):
  """The base config of ``dataset``'s rows, locked like a loaded experiment."""
  from ebgan_jax import configs
  base = DATASETS[dataset][0]
  if isinstance(base, tuple):
    config = configs.toy_config(base[1], "ebgan")
    config.lock()
    return config
  return configs.load_config(base)


def row_config(dataset: str, name: str, scale: float = 1.0):
  """The config of one row: the dataset's base experiment (networks, data, batch, learning
  rates), the shared budget, the row's algorithm and only the settings its row names."""
  from ebgan_jax import configs
  _, steps, _ = DATASETS[dataset]
  algorithm, overrides = ALGORITHMS[name]
  config = base_config(dataset)
  n_steps = max(56, int(steps * scale) // 28 * 28)  # whole MAGAN epochs
  configs.apply_overrides(config, [
      f"algorithm={algorithm}", f"num_steps={n_steps}", f"sample_every={n_steps}",
      f"checkpoint_every={n_steps}", f"log_every={n_steps}",
      f"magan.pretrain_steps={28 * max(1, n_steps // 28 // 10)}", *overrides])
  configs.validate(config)
  return config


def run_all(seeds: int, scale: float, workdir: str) -> list[dict] | None:
  """Every (dataset, model) row, its seeds trained together (resumable); None when
  interrupted."""
  rows = []
  for dataset in DATASETS:
    for name in ALGORITHMS:
      config = row_config(dataset, name, scale)
      results, seconds = report.run_seeds(config, seeds, os.path.join(workdir, dataset, name),
                                          progress=False)
      if not results:
        return None
      for r in results:
        rows.append({"dataset": dataset, "model": name, "steps": config.num_steps,
                     "batch": config.batch_size, "seconds": seconds, **r})
  return rows


def summarise(rows: list[dict]) -> dict:
  """{(dataset, model): {metric: Stats}} over the seeds of each row."""
  table = {}
  for dataset, (_, _, metrics) in DATASETS.items():
    for name in ALGORITHMS:
      mine = [r for r in rows if r["dataset"] == dataset and r["model"] == name]
      if not mine:
        continue
      # Rows written before a metric existed lack it: shown as absent, never as 0.
      table[(dataset, name)] = {m: report.mean_se(r[m] for r in mine) for m in metrics
                                if all(m in r for r in mine)}
  return table


def minutes(rows: list[dict]) -> float:
  """The training and evaluation time of the table: each (dataset, model) sweep once."""
  return sum({(r["dataset"], r["model"]): r.get("seconds", 0.0) for r in rows}.values()) / 60


def render(out: str) -> str:
  """``out/README.md`` from ``out/results.json`` alone."""
  rows = report.read_json(out, "results.json")
  table = summarise(rows)
  seeds = sorted({len([r for r in rows if (r["dataset"], r["model"]) == key])
                  for key in {(r["dataset"], r["model"]) for r in rows}})
  lines = ["# Results: the family on the embedded protocols, at a short budget", "",
           f"Regenerate with `make results` ({minutes(rows):.0f} minutes on the 2-core CPU "
           "machine this was made on). **A short budget** (2,000 to 4,000 updates of small MLPs "
           "on the mixtures): these rows compare the models with each other and are not "
           "comparable with published numbers; the published set-ups at their own budgets are "
           "`make results PROTOCOL=pacgan` ([pacgan/README.md](pacgan/README.md)). Each cell is "
           f"the {report.MEAN_SE}; every row here has n = {' or '.join(map(str, seeds))}. "
           "Every model of a dataset had the same networks, steps, batch "
           "and learning rate (the base config named in each heading, with `algorithm` "
           "changed): a comparison of the losses on equal footing, not of each paper's recipe. "
           "BEGAN and MAGAN train here with EBGAN's networks (no "
           "bottleneck) and optimizer; their own recipes are `digits_began_paper` (BEGAN's "
           "convolutional auto-encoder, batch 16, the learning-rate halving) and `digits_magan` "
           "(the released code's schedule, a bottleneck auto-encoder, Adamax): "
           "[recipes/README.md](recipes/README.md); `digits_began` is the BEGAN recipe a search "
           "selected ([began/README.md](began/README.md)).", ""]
  for dataset, (base, _, metrics) in DATASETS.items():
    mine = [r for r in rows if r["dataset"] == dataset]
    if not mine:
      continue
    name = f"configs.toy_config('{base[1]}')" if isinstance(base, tuple) else base
    lines += [f"## {dataset} (`{name}`, {mine[0]['steps']} steps of batch {mine[0]['batch']})",
              ""]
    lines += report.table(["model", *metrics], (
        [name] + [table[(dataset, name)][m].format(".4g") if m in table[(dataset, name)]
                  else "—" for m in metrics]
        for name in ALGORITHMS if (dataset, name) in table))
    with_prdc = [r for r in mine if "precision_recall_k" in r]
    if with_prdc:
      lines += ["", prdc_note(with_prdc[0])]
    lines.append("")
  lines += [PUBLISHED, "", "![results](results.png)"]
  return report.page_text(lines)


def write_report(rows: list[dict], out: str) -> None:
  """``results.json``, then ``README.md`` rendered from it, and ``results.png``."""
  import matplotlib
  matplotlib.use("Agg")
  import matplotlib.pyplot as plt

  report.write_json(out, "results.json", rows)
  report.write_page(out, render)
  table = summarise(rows)
  # Top row: each protocol's own headline metric; bottom row: coverage (Naeem et al.), the
  # share of the real data's neighbourhoods that the samples reach, comparable across rows.
  fig, axes = plt.subplots(2, len(DATASETS), figsize=(4 * len(DATASETS), 6.4), squeeze=False)
  for col, (dataset, (_, _, metrics)) in enumerate(DATASETS.items()):
    for ax, metric in zip(axes[:, col], (metrics[0], "coverage")):
      names = [n for n in ALGORITHMS if metric in table.get((dataset, n), {})]
      if not names:
        ax.axis("off")
        continue
      means = [table[(dataset, n)][metric].mean for n in names]
      errors = [table[(dataset, n)][metric].se for n in names]
      ax.bar(names, means, yerr=errors, capsize=3)
      ax.set_title(f"{dataset}: {metric} (± SE)")
      ax.tick_params(axis="x", rotation=45)
  fig.tight_layout()
  fig.savefig(os.path.join(out, "results.png"), dpi=100)
  plt.close(fig)


def main(argv: list[str] | None = None) -> int:
  parser = argparse.ArgumentParser(prog="python -m ebgan_jax.studies.family", description=__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument("--seeds", type=int, default=3)
  parser.add_argument("--scale", type=float, default=1.0, help="multiplies every step budget")
  parser.add_argument("--out", default="results")
  parser.add_argument("--workdir", default="runs/results")
  args = parser.parse_args(sys.argv[1:] if argv is None else argv)
  set_cpu_defaults()
  rows = run_all(args.seeds, args.scale, args.workdir)
  if rows is None:
    return cli.interrupted()
  write_report(rows, args.out)
  print(open(os.path.join(args.out, "README.md")).read())
  return 0


if __name__ == "__main__":
  sys.exit(main())
