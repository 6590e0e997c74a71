"""``make semi-supervised``: the LN baseline and EBGAN-LN beside the EBGAN paper's Table 2.

  python -m ebgan_jax.studies.semisupervised [--seeds 5] [--labels N ...] [--dataset digits]
                                     [--out results/semisupervised]

For each number of labels (digits: 50 and 100; MNIST: the paper's 100, 200 and 1,000), trains ``<dataset>_ln`` and ``<dataset>_ebgan_ln``, the seeds of
each as one vmapped sweep (each seed draws its own labelled examples), and writes
``<out>/README.md`` (test error %, mean ± standard error over seeds, with the wall time, next to the
paper's figures) and ``<out>/semisupervised.json``. Rerunning resumes every unfinished run.
"""

from __future__ import annotations

import argparse
import os
import sys

from ebgan_jax import cli
from ebgan_jax.cli import set_cpu_defaults
from ebgan_jax.studies import report

MODELS = {"LN (bottom-layer cost)": "ln", "EBGAN-LN": "ebgan_ln"}
# Zhao, Mathieu & LeCun 2017, Table 2: permutation-invariant MNIST, 15 seeds, test error %.
PUBLISHED = {
    ("LN (bottom-layer cost)", 100): "1.36 ± 0.21", ("LN (bottom-layer cost)", 200): "1.24 ± 0.09",
    ("LN (bottom-layer cost)", 1000): "1.04 ± 0.06", ("EBGAN-LN", 100): "1.04 ± 0.12",
    ("EBGAN-LN", 200): "0.99 ± 0.12", ("EBGAN-LN", 1000): "0.89 ± 0.04"}


def run_config(dataset: str, algorithm: str, labels: int, scale: float = 1.0):
  from ebgan_jax import configs
  config = configs.load_config(f"{dataset}_{algorithm}")
  steps = max(10, int(config.num_steps * scale) // 10 * 10)
  overrides = [f"ln.labels={labels}", f"num_steps={steps}", f"checkpoint_every={steps}",
               f"sample_every={steps}"]
  if algorithm == "ebgan_ln":
    overrides.append(f"ln.margin_decay_steps={steps}")
  configs.apply_overrides(config, overrides)
  configs.validate(config)
  return config


def render(out: str) -> str:
  """``out/README.md`` from ``out/semisupervised.json`` and ``out/setup.json`` alone."""
  rows = report.read_json(out, "semisupervised.json")
  setup = report.read_json(out, report.SETUP)
  dataset, command = setup["dataset"], setup["command"]
  seeds = max(len(r["test_errors"]) for r in rows)
  lines = [f"# Semi-supervised {dataset}: the Ladder Network and EBGAN-LN", "",
           f"Command: `{command}`. Test error (%) of the clean classifier on "
           + ("the 297 held-out digits (never trained on; the 1,500 others are the unlabelled "
              "data)" if dataset == "digits" else "the MNIST test set")
           + f", the {report.MEAN_SE}; n = {seeds} here. Each seed draws its own labelled "
           "examples, the same for both models. Published: permutation-invariant MNIST, 15 "
           "seeds (Zhao, Mathieu & LeCun 2017, Table 2)" + (
               ": other data, not comparable in value." if dataset == "digits" else "."), ""]
  lines += report.table(
      ["model", "labels", "steps", "test error %", "published (MNIST)", "seconds, all seeds"],
      ([r["model"], r["labels"], r["steps"], report.mean_se(r["test_errors"]).format(".2f", ".2f"),
        PUBLISHED.get((r["model"], r["labels"]), "—"), f"{r['seconds']:.0f}"] for r in rows))
  errors = {(r["model"], r["labels"]): r["test_errors"] for r in rows}
  for labels in sorted({r["labels"] for r in rows}):
    ln, eb = errors.get(("LN (bottom-layer cost)", labels)), errors.get(("EBGAN-LN", labels))
    if ln and eb:
      difference = report.paired(eb, ln)
      lines += ["", f"With {labels} labels, EBGAN-LN's test error minus the baseline's, paired "
                f"by seed (same labelled examples): {difference.format('+.2f', '.2f')} points: "
                + report.verdict(difference, "EBGAN-LN's error is lower",
                                 "EBGAN-LN's error is higher")
                + " (a verdict needs the interval of two standard errors to exclude zero). "
                f"Lower for "
                f"{sum(e < b for e, b in zip(eb, ln))} of {len(eb)} seeds, equal for "
                f"{sum(e == b for e, b in zip(eb, ln))}."]
  return report.page_text(lines)


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
  parser.add_argument("--seeds", type=int, default=5)
  parser.add_argument("--labels", type=int, nargs="+", default=None)
  parser.add_argument("--dataset", default="digits", choices=("digits", "mnist"))
  parser.add_argument("--scale", type=float, default=1.0, help="multiplies every step budget")
  parser.add_argument("--workdir", default="runs/semisupervised")
  parser.add_argument("--out", default="results/semisupervised")
  args = parser.parse_args(argv)
  default_labels = [50, 100] if args.dataset == "digits" else [100, 200, 1000]
  args.labels = args.labels or default_labels
  if args.seeds < 1 or args.scale <= 0 or any(n <= 0 or n % 10 for n in args.labels):
    print("error: --seeds must be >= 1, --scale > 0 and every --labels a positive multiple "
          "of 10.", file=sys.stderr)
    return 2
  set_cpu_defaults()
  os.makedirs(args.out, exist_ok=True)
  rows = []
  for labels in args.labels:
    for title, algorithm in MODELS.items():
      config = run_config(args.dataset, algorithm, labels, args.scale)
      results, seconds = report.run_seeds(config, args.seeds,
                                          os.path.join(args.workdir, f"{algorithm}_{labels}"))
      if not results:
        return cli.interrupted(cli.EXIT_STOPPED)
      rows.append({"model": title, "labels": labels, "steps": config.num_steps,
                   "seconds": seconds,
                   "test_errors": [r["test_error"] for r in results]})
  report.write_json(args.out, "semisupervised.json", rows)
  default = (args.seeds, args.labels, args.dataset, args.scale) == (5, default_labels, "digits",
                                                                     1.0)
  command = "make semi-supervised" + ("" if default else " ARGS='" + " ".join(
      (argv if argv is not None else sys.argv[1:])) + "'")
  report.write_json(args.out, report.SETUP, {"command": command, "dataset": args.dataset})
  report.write_page(args.out, render)
  print(f"wrote {args.out}/README.md", flush=True)
  return 0


if __name__ == "__main__":
  sys.exit(main())
