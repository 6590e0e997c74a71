"""``make evaluation-function``: the evaluation-function view of energy-based GANs, measured.

  python -m ebgan_jax.studies.evaluation_function [--seeds 5] [--out results/evaluation_function]
      [--parts perceptron,replay,argmax]

Hung-yi Lee's lecture on EBGAN explains the family through an evaluation function F(x, y):
learning F needs negatives, the wrong answers that F scores too high, and a GAN's generator is
one way to find them. Its structured-learning counterpart is the structured perceptron
(Collins 2002), whose negatives are found by an exact argmax. This command measures it on
sequence labelling with a known hidden Markov model (:mod:`ebgan_jax.structured`):

- **Separable data** (sequences labelled by the HMM's own Viterbi decoder, so that the HMM's
  log-probabilities separate them): updates until an epoch makes none, against the bound
  (R/δ)² of Novikoff/Collins computed on the same data for the unit vectors along the HMM's
  weights and along the perceptron's final and averaged weights (R and δ by enumerating every
  labelling).
- **Test accuracy** (sequences labelled by their true hidden states, not separable): per-token
  accuracy on held-out sequences of the perceptron and the averaged perceptron after each
  epoch, against the true HMM's Viterbi decoder, over ``--seeds`` draws of the data.

It then measures the lecture's experience replay (``config.replay``) on PacGAN's ring and grid
(:data:`REPLAY`): GAN and EBGAN-PT with the small MLP recipe of ``configs.toy_config``, replay
off and two settings, ``--seeds`` seeds each as one sweep (resumable, in ``--workdir``):
modes covered and the fraction of high-quality samples, paired against replay off.

Last, it compares negatives found by Langevin dynamics on the energy itself with negatives
found by a generator, on the same energy network (:mod:`ebgan_jax.studies.energy_argmax`).

Writes ``<out>/evaluation_function.json``, ``replay.json``, ``perceptron.png``,
``argmax.json``, ``landscapes.png`` and ``README.md`` (from the JSON).
"""

from __future__ import annotations

import argparse
import os
import sys
import time

from ebgan_jax import cli
from ebgan_jax.studies import energy_argmax, report

JSON = "evaluation_function.json"
PARTS = ("perceptron", "replay", "argmax")
REPLAY_JSON = "replay.json"
FIGURE = "perceptron.png"
# The replay comparison, fixed on 2026-12-06 before any of its runs was trained: the settings
# (buffer size, fraction of each discriminator batch replayed), the models and the data.
REPLAY = {"fixed": "2026-12-06, before any of these runs was trained",
          "settings": {"off": [0, 0.0], "25 % of 10,000": [10000, 0.25],
                       "50 % of 10,000": [10000, 0.5]},
          "models": {"GAN": ["gan", {}], "EBGAN-PT": ["ebgan", {"pt_weight": 0.1}]},
          "datasets": ["ring", "grid"]}
# The set-up, fixed before the first run: a 3-state, 6-symbol HMM with peaked rows; short
# sequences for the separable set (3^6 = 729 labellings each, enumerated for the bound).
SETTINGS = {"states": 3, "symbols": 6, "concentration": 0.3, "hmm_seed": 0,
            "separable": {"examples": 300, "length": 6, "max_epochs": 500, "data_seed": 100},
            "accuracy": {"train": 2000, "test": 2000, "length": 20, "epochs": 10}}


def perceptron_study(settings: dict, seeds: int) -> dict:
  """Both measurements of the module docstring, as JSON-ready values."""
  import numpy as np
  from ebgan_jax import structured
  k, v = settings["states"], settings["symbols"]
  hmm = structured.random_hmm(settings["hmm_seed"], k, v, settings["concentration"])
  truth = np.asarray(hmm.weights())

  sep = settings["separable"]
  x, _ = structured.sample_hmm(hmm, sep["examples"], sep["length"], seed=sep["data_seed"])
  y = structured.decode(truth, x, k, v)
  t0 = time.perf_counter()
  run = structured.train_perceptron(x, y, k, v, max_epochs=sep["max_epochs"])
  seconds = time.perf_counter() - t0
  # A separator with a margin, for a bound that says something: the loss-augmented
  # perceptron's weights (any separating U gives a valid bound on the plain perceptron).
  wide = structured.train_perceptron(x, y, k, v, max_epochs=sep["max_epochs"], margin=True)
  bounds = {}
  for name, u in (("HMM log-probabilities", truth), ("perceptron, final w", run.w),
                  ("averaged perceptron", run.averaged),
                  ("loss-augmented perceptron (margin)", wide.w)):
    bound = structured.mistake_bound(u, x, y, k, v)
    bounds[name] = {"radius": bound.radius, "margin": bound.margin, "updates": bound.updates}
  separable = {"mistakes_per_epoch": run.mistakes, "converged": run.converged,
               "training_sequences_wrong": int(np.any(structured.decode(run.w, x, k, v) != y,
                                                       axis=1).sum()),
               "seconds": round(seconds, 2), "bounds": bounds,
               "margin_perceptron": {"epochs": len(wide.mistakes), "converged": wide.converged}}

  acc = settings["accuracy"]
  rows = []
  for seed in range(seeds):
    x_train, y_train = structured.sample_hmm(hmm, acc["train"], acc["length"], seed=1000 + seed)
    x_test, y_test = structured.sample_hmm(hmm, acc["test"], acc["length"], seed=2000 + seed)
    trained = structured.train_perceptron(x_train, y_train, k, v, max_epochs=acc["epochs"],
                                          shuffle_seed=seed)
    accuracy = lambda w: float(np.mean(structured.decode(w, x_test, k, v) == y_test))
    rows.append({"seed": seed, "hmm_viterbi": accuracy(truth),
                 "perceptron": [accuracy(w) for w, _ in trained.history],
                 "averaged": [accuracy(a) for _, a in trained.history],
                 "mistakes_per_epoch": trained.mistakes})
  return {"settings": settings, "seeds": seeds, "separable": separable, "accuracy": rows}


def replay_config(dataset: str, algorithm: str, extra: dict, size: int, fraction: float,
                  steps: int | None = None):
  """The small MLP recipe of ``configs.toy_config`` with replay ``(size, fraction)``."""
  from ebgan_jax import configs
  config = configs.with_values(configs.toy_config(dataset, algorithm), **extra,
                               **{"replay.size": size, "replay.fraction": fraction})
  if steps:
    configs.with_values(config, num_steps=steps, sample_every=steps)
  configs.with_values(config, checkpoint_every=config.num_steps // 2 or 1,
                      log_every=max(1, config.num_steps // 10))
  configs.validate(config)
  return config


def replay_study(workdir: str, seeds: int, steps: int | None = None, progress: bool = True
                 ) -> list[dict] | None:
  """Every (dataset, model, setting) of :data:`REPLAY`, ``seeds`` seeds each (one sweep),
  trained or resumed in ``workdir``; None when interrupted."""
  rows = []
  for dataset in REPLAY["datasets"]:
    for model, (algorithm, extra) in REPLAY["models"].items():
      for setting, (size, fraction) in REPLAY["settings"].items():
        config = replay_config(dataset, algorithm, extra, size, fraction, steps)
        slug = f"{size}_{fraction}"
        results, seconds = report.run_seeds(
            config, seeds, os.path.join(workdir, dataset, model, slug), progress)
        if not results:
          return None
        rows.append({"dataset": dataset, "model": model, "setting": setting, "size": size,
                     "fraction": fraction, "steps": config.num_steps,
                     "seconds": round(seconds, 1),
                     "members": [{"member": r["member"], **{k: r[k] for k in (
                         "modes_covered", "high_quality", "reverse_kl")}} for r in results]})
  return rows


def _figure(out: str, results: dict) -> None:
  import matplotlib
  matplotlib.use("Agg")
  import matplotlib.pyplot as plt
  import numpy as np
  sep = results["separable"]
  fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.6))
  mistakes = np.asarray(sep["mistakes_per_epoch"])
  epochs = np.arange(1, len(mistakes) + 1)
  left.plot(epochs, np.cumsum(mistakes), label="updates so far")
  finite = {k: b["updates"] for k, b in sep["bounds"].items() if np.isfinite(b["updates"])}
  for name, bound in finite.items():
    left.axhline(bound, linestyle="--", linewidth=1, color="gray")
    left.annotate(f"(R/δ)², U: {name}", (epochs[-1], bound), fontsize=7, ha="right",
                  va="bottom")
  left.set_yscale("log")
  left.set(xlabel="epoch", ylabel="updates", title="separable data: updates vs the bound")
  rows = results["accuracy"]
  n_epochs = len(rows[0]["perceptron"])
  for key, label in (("perceptron", "perceptron"), ("averaged", "averaged perceptron")):
    curves = np.asarray([r[key] for r in rows])
    right.errorbar(np.arange(1, n_epochs + 1), curves.mean(0), yerr=curves.std(0, ddof=1)
                   / np.sqrt(len(rows)) if len(rows) > 1 else None, label=label, capsize=2)
  right.axhline(np.mean([r["hmm_viterbi"] for r in rows]), color="black", linestyle=":",
                label="true HMM's Viterbi")
  right.set(xlabel="epoch", ylabel="test accuracy per token",
            title=f"true hidden states (not separable), n = {len(rows)}")
  right.legend(fontsize=8)
  fig.tight_layout()
  fig.savefig(os.path.join(out, FIGURE), dpi=110)
  plt.close(fig)


def render(out: str) -> str:
  """``out/README.md`` from ``out/evaluation_function.json`` alone."""
  import numpy as np
  results = report.read_json(out, JSON)
  s, sep, rows = results["settings"], results["separable"], results["accuracy"]
  n = len(rows)
  total = int(np.sum(sep["mistakes_per_epoch"]))
  epochs = len(sep["mistakes_per_epoch"])
  finite = [b for b in sep["bounds"].values() if np.isfinite(b["updates"])]
  within = [b for b in finite if total <= b["updates"]]
  wide = sep["margin_perceptron"]
  lines = [
      "# The evaluation-function view: the structured perceptron, experience replay, and "
      "negatives by the argmax of an energy", "",
      "Command: `make evaluation-function` (`python -m ebgan_jax.studies.evaluation_function "
      f"--seeds {results['seeds']}`). An evaluation function F(x, y) = w · φ(x, y) scores a "
      "labelling y of a sequence x; the perceptron (Collins 2002) finds the labelling it scores "
      "highest, ỹ = argmax F(x, ·) (exact, by Viterbi), and when that is wrong moves w by "
      "φ(x, ŷ) − φ(x, ỹ): up on the truth, down on the negative the argmax found. φ counts the "
      "first state, the transitions and the emissions of a hidden Markov model with "
      f"{s['states']} states and {s['symbols']} symbols (rows drawn from "
      f"Dirichlet({s['concentration']}), seed {s['hmm_seed']}). See "
      "[`docs/evaluation_function.md`](../../docs/evaluation_function.md).", "",
      "## Separable data: updates against the bound", "",
      f"{s['separable']['examples']} sequences of length {s['separable']['length']}, labelled "
      "by the HMM's own Viterbi decoder, so that the unit vector along its log-probabilities "
      "separates them. Novikoff/Collins (2002, Theorem 1): with R ≥ ‖φ(x, ŷ) − φ(x, y)‖ and "
      "margin δ of a separating unit vector U, the perceptron makes at most (R/δ)² updates. R "
      "and δ are computed exactly here by enumerating every labelling of every sequence; any "
      "U gives a valid bound. Four are shown: the HMM's own weights, the perceptron's final "
      "and averaged weights, and those of a loss-augmented perceptron (the argmax of "
      "F(x, y) + Hamming(y, ŷ), so that its weights separate with a margin; "
      f"{wide['epochs']} epochs, {'converged' if wide['converged'] else 'did not converge'}).",
      "",
      f"- Updates until an epoch made none: **{total}** over {epochs} epochs "
      f"({'converged' if sep['converged'] else 'did not converge'}; per epoch: "
      f"{', '.join(str(m) for m in sep['mistakes_per_epoch'])}); sequences still wrong at the "
      f"end: {sep['training_sequences_wrong']}; {sep['seconds']:.1f} s.", ""]
  lines += report.table(["U along", "R", "δ", "(R/δ)²", "updates ≤ (R/δ)²"], (
      [name, f"{b['radius']:.3g}", f"{b['margin']:.3g}",
       f"{b['updates']:,.0f}" if np.isfinite(b["updates"]) else "— (δ ≤ 0: U does not separate)",
       ("yes" if total <= b["updates"] else "**no**") if np.isfinite(b["updates"]) else "—"]
      for name, b in sep["bounds"].items()))
  tightest = min((b["updates"] for b in finite), default=float("inf"))
  lines += ["", (f"The updates are within every finite bound ({len(finite)} of "
                 f"{len(sep['bounds'])} vectors separate the data); the tightest bound shown is "
                 f"{tightest / max(total, 1):,.0f} times the updates made: the margins of these "
                 "data are small against R, and the bound is a worst case over every order of "
                 "the examples." if finite and len(within) == len(finite) else "No vector shown separates the data: no bound." if not
                 finite else "**The updates exceed a bound: the implementation is wrong.**"),
            ""]

  a = s["accuracy"]
  final = lambda key: [r[key][-1] for r in rows]
  hmm = [r["hmm_viterbi"] for r in rows]
  lines += [
      "## True hidden states: test accuracy against the true decoder", "",
      f"{a['train']} training and {a['test']} test sequences of length {a['length']} per seed, "
      f"labelled by their true hidden states (not separable: the Bayes decoder errs too); "
      f"{a['epochs']} epochs in a new order each; per-token accuracy on the test sequences, the "
      f"{report.MEAN_SE}; n = {n}. The true HMM's Viterbi decoder knows the model; the "
      "perceptrons learn from the labelled sequences alone.", ""]
  lines += report.table(["decoder", f"test accuracy after {a['epochs']} epochs",
                         "minus the true HMM's (paired)"], (
      [label, report.mean_se(values).format(".4f", ".4f"),
       "—" if values is hmm else report.paired(values, hmm).format("+.4f", ".4f")]
      for label, values in (("perceptron, final w", final("perceptron")),
                            ("averaged perceptron", final("averaged")),
                            ("true HMM's Viterbi", hmm))))
  avg_vs_plain = report.paired(final("averaged"), final("perceptron"))
  avg_vs_hmm = report.paired(final("averaged"), hmm)
  lines += ["", f"The averaged perceptron against the last weights: "
            f"{avg_vs_plain.format('+.4f', '.4f')} ({report.verdict(avg_vs_plain)}); against "
            f"the true decoder: {avg_vs_hmm.format('+.4f', '.4f')} "
            f"({report.verdict(avg_vs_hmm)}). Verdicts: a paired difference whose interval of "
            "two standard errors excludes zero is lower or higher.", "",
            f"![updates and accuracy per epoch]({FIGURE})", ""]
  if os.path.exists(os.path.join(out, REPLAY_JSON)):
    lines += _replay_section(report.read_json(out, REPLAY_JSON))
  if os.path.exists(os.path.join(out, energy_argmax.JSON)):
    lines += energy_argmax.section(report.read_json(out, energy_argmax.JSON))
  return report.page_text(lines)


def _replay_section(replay: dict) -> list[str]:
  rows, seeds = replay["rows"], replay["seeds"]
  lines = [
      "## Experience replay on the mixtures", "",
      "The lecture's \"experience replay: parameters from last iteration\": a fraction of "
      "each discriminator batch's fakes drawn from a buffer of earlier generator outputs "
      "(`config.replay`). Settings, models and data fixed on " + replay["fixed"] + ". The "
      "small MLP recipe of `configs.toy_config` (PacGAN's ring of 8 and grid of 25 Gaussians, "
      f"{rows[0]['steps']:,} and {rows[-1]['steps']:,} updates), {seeds} seeds each trained "
      f"as one sweep; PacGAN's scorer on 2,500 samples. The {report.MEAN_SE}. Each setting is "
      "paired with replay off on the same seeds; the verdict says whether the difference's "
      "interval of two standard errors excludes zero.", ""]
  for dataset in dict.fromkeys(r["dataset"] for r in rows):
    lines += [f"### {dataset}", ""]
    table = []
    for model in dict.fromkeys(r["model"] for r in rows if r["dataset"] == dataset):
      mine = [r for r in rows if r["dataset"] == dataset and r["model"] == model]
      off = next(r for r in mine if r["fraction"] == 0.0)
      values = lambda r, k: [m[k] for m in r["members"]]
      for r in mine:
        cells = [model, r["setting"], report.mean_se(values(r, "modes_covered")).format(".2f", ".2f"),
                 report.mean_se([100 * v for v in values(r, "high_quality")]).format(".1f", ".1f")]
        if r is off:
          cells += ["—", "—"]
        else:
          for key, scale in (("modes_covered", 1), ("high_quality", 100)):
            d = report.paired([scale * v for v in values(r, key)],
                              [scale * v for v in values(off, key)])
            cells.append(f"{d.format('+.2f', '.2f')} ({report.verdict(d)})")
        table.append(cells + [f"{r['seconds']:.0f}"])
    lines += report.table(["model", "replay", "modes", "high quality %", "modes vs off",
                           "high quality vs off (points)", "seconds, all seeds"], table)
    lines += [""]
  # The verdict in words: which comparisons showed a difference, against what chance gives.
  from scipy import stats
  found, total = [], 0
  for r in rows:
    off = next(o for o in rows if (o["dataset"], o["model"], o["fraction"]) ==
               (r["dataset"], r["model"], 0.0))
    if r is off:
      continue
    for key, label, scale in (("modes_covered", "modes", 1), ("high_quality",
                                                              "high-quality points", 100)):
      d = report.paired([scale * m[key] for m in r["members"]],
                        [scale * m[key] for m in off["members"]])
      total += 1
      if report.verdict(d) in ("lower", "higher"):
        found.append(f"{r['model']} on the {r['dataset']} at {r['setting']}: "
                     f"{report.verdict(d)} {label} ({d.format('+.2f', '.2f')})")
  n = min(len(r["members"]) for r in rows)
  chance = 2 * (1 - stats.t.cdf(2.0, df=n - 1))
  lines += [f"**Verdict.** {len(found)} of {total} paired comparisons show a difference"
            + (": " + "; ".join(found) if found else "") + ". "
            f"With {n} seeds, the two-standard-error rule calls a difference where there is "
            f"none {100 * chance:.0f} % of the time (Student's t, {n - 1} degrees of freedom), so "
            f"about {chance * total:.1f} of {total} would by chance alone. "
            + ("That is no more than chance gives: at this budget, replay did not measurably "
               "change how many modes these generators cover or how many of their samples are "
               "of high quality." if len(found) <= round(chance * total) + 1 else
               "That is more than chance gives: replay changed what these generators learn "
               "where marked above."), ""]
  return lines


def main(argv: list[str] | None = None) -> int:
  parser = argparse.ArgumentParser(prog="python -m ebgan_jax.studies.evaluation_function",
                                   description=__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument("--out", default="results/evaluation_function")
  parser.add_argument("--seeds", type=int, default=5)
  parser.add_argument("--workdir", default="runs/evaluation_function",
                      help="where the replay runs train (resumable)")
  parser.add_argument("--steps", type=int, default=0,
                      help="updates per replay run (0: the recipe's 2,000 / 5,000)")
  parser.add_argument("--parts", default=",".join(PARTS),
                      help=f"which measurements to run, of {','.join(PARTS)} (the page keeps "
                      "the others' committed JSON)")
  parser.add_argument("--no_progress", action="store_true")
  args = parser.parse_args(sys.argv[1:] if argv is None else argv)
  cli.set_cpu_defaults()

  def body() -> None:
    if args.seeds < 2:
      raise ValueError(f"--seeds must be at least 2 (a standard error needs two), got "
                       f"{args.seeds}.")
    parts = cli.parts(args.parts, PARTS)
    progress = not args.no_progress
    if "perceptron" in parts:
      results = perceptron_study(SETTINGS, args.seeds)
      report.write_json(args.out, JSON, results)
      _figure(args.out, results)
    if "replay" in parts:
      rows = replay_study(os.path.join(args.workdir, "replay"), args.seeds, args.steps or None,
                          progress)
      if rows is None:
        return cli.interrupted()
      report.write_json(args.out, REPLAY_JSON, {"fixed": REPLAY["fixed"], "seeds": args.seeds,
                                                "rows": rows})
    if "argmax" in parts:
      if energy_argmax.run(os.path.join(args.workdir, "argmax"), args.out, args.seeds,
                           progress) is None:
        return cli.interrupted()
    report.write_page(args.out, render)
    print(f"wrote {args.out}/README.md and the JSON and pictures of {', '.join(parts)}")
  return cli.run(body)


if __name__ == "__main__":
  sys.exit(main())
