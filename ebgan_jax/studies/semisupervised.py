"""``make semi-supervised``: the LN baseline and EBGAN-LN beside the EBGAN paper's Table 2.

  python -m ebgan_jax.studies.semisupervised [--seeds 5] [--labels N ...] [--dataset digits]
                                     [--out results/semisupervised]

For each number of labels (digits: 50 and 100; MNIST: the paper's 100, 200 and 1,000), trains ``<dataset>_ln`` and ``<dataset>_ebgan_ln``, the seeds of
each as one vmapped sweep (each seed draws its own labelled examples), and writes
``<out>/README.md`` (test error %, mean ± std over seeds, with the wall time, next to the
paper's figures) and ``<out>/semisupervised.json``. Rerunning resumes every unfinished run.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

import numpy as np

from ebgan_jax.cli import set_cpu_defaults

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


def write_readme(path: str, rows: list[dict], dataset: str, seeds: int, command: str) -> None:
  lines = [f"# Semi-supervised {dataset}: the Ladder Network and EBGAN-LN", "",
           f"Command: `{command}`. Test error (%) of the clean classifier on "
           + ("the 297 held-out digits (never trained on; the 1,500 others are the unlabelled "
              "data)" if dataset == "digits" else "the MNIST test set")
           + f", mean ± std over {seeds} seeds; each seed draws its own labelled examples, "
           "the same for both models. Published: permutation-invariant MNIST, 15 seeds (Zhao, "
           "Mathieu & LeCun 2017, Table 2)" + (": other data, not comparable in value."
                                               if dataset == "digits" else "."), "",
           "| model | labels | steps | test error % | published (MNIST) | seconds, all seeds |",
           "|---|---|---|---|---|---|"]
  for r in rows:
    errors = r["test_errors"]
    lines.append(f"| {r['model']} | {r['labels']} | {r['steps']} | "
                 f"{np.mean(errors):.2f} ± {np.std(errors):.2f} | "
                 f"{PUBLISHED.get((r['model'], r['labels']), '—')} | {r['seconds']:.0f} |")
  errors = {(r["model"], r["labels"]): r["test_errors"] for r in rows}
  for labels in sorted({r["labels"] for r in rows}):
    ln, eb = errors.get(("LN (bottom-layer cost)", labels)), errors.get(("EBGAN-LN", labels))
    if ln and eb:
      verdict = "lower" if np.mean(eb) < np.mean(ln) else "not lower"
      lines += ["", f"With {labels} labels EBGAN-LN's mean test error is {verdict} than the "
                f"baseline's ({np.mean(eb):.2f}% against {np.mean(ln):.2f}%); it is lower for "
                f"{sum(e < b for e, b in zip(eb, ln))} of {len(eb)} seeds and equal for "
                f"{sum(e == b for e, b in zip(eb, ln))} (same seed, same labelled examples)."]
  with open(path, "w") as f:
    f.write("\n".join(lines) + "\n")


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
  from ebgan_jax import sweep
  os.makedirs(args.out, exist_ok=True)
  rows = []
  for labels in args.labels:
    for title, algorithm in MODELS.items():
      config = run_config(args.dataset, algorithm, labels, args.scale)
      results, seconds = sweep.run_sweep_timed(
          config, {"seed": [str(s) for s in range(args.seeds)]},
          os.path.join(args.workdir, f"{algorithm}_{labels}"))
      if not results:
        print("interrupted; rerun the same command to resume.", file=sys.stderr)
        return 1
      rows.append({"model": title, "labels": labels, "steps": config.num_steps,
                   "seconds": seconds,
                   "test_errors": [r["test_error"] for r in results]})
  with open(os.path.join(args.out, "semisupervised.json"), "w") as f:
    json.dump(rows, f, indent=1)
  default = (args.seeds, args.labels, args.dataset, args.scale) == (5, default_labels, "digits",
                                                                     1.0)
  command = "make semi-supervised" + ("" if default else " ARGS='" + " ".join(
      (argv if argv is not None else sys.argv[1:])) + "'")
  write_readme(os.path.join(args.out, "README.md"), rows, args.dataset, args.seeds, command)
  print(f"wrote {args.out}/README.md", flush=True)
  return 0


if __name__ == "__main__":
  sys.exit(main())
