"""``make recipes``: BEGAN (Berthelot, Schumm & Metz 2017) and MAGAN (Wang, Cully, Chang &
Demiris 2017) trained with their papers' own recipes, against the targets set for them.

  python -m ebgan_jax.studies.recipes [--seeds 3] [--workdir runs/recipes]
                                      [--out results/recipes] [--only EXPERIMENT,...]

Trains (or resumes) seeds 0 … N-1 of each experiment of :data:`SEEDED` as single runs (the
recipe exactly as ``make train`` runs it), then BEGAN's γ sweep (:data:`GAMMAS`, one vmapped
program), and writes ``<out>/seeds.json`` (every seed's final scores; for BEGAN the share of
logged steps at which k_t was off its clip bounds, for MAGAN its final margin),
``<out>/began_gamma.json`` / ``.md`` and the sweep's pictures, then ``<out>/README.md`` from
those files and from the PacGAN protocol's ``../pacgan/results.json`` (BEGAN and MAGAN at the
2-D set-up) and the family table's ``../results.json`` (EBGAN-PT beside them).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys

from ebgan_jax import cli, rundir
from ebgan_jax.studies import report

SEEDED = ("digits_began_paper", "digits_magan", "digits_magan_released", "stacked_digits_magan")
GAMMAS = ("0.3", "0.5", "0.7")
DIGITS_KEYS = ("inception_score", "classes_covered", "frechet_distance", "precision", "recall",
               "coverage")
STACKED_KEYS = ("modes_covered", "kl_to_uniform", "precision", "recall", "coverage")
# The targets these recipes were set before they were trained: (metric, at least / at most,
# value). A target is met when the mean over seeds meets it.
TARGETS = {
    "digits_began_paper": (("inception_score", ">=", 8.5), ("classes_covered", ">=", 10),
                     ("frechet_distance", "<=", 5.0), ("k_off_clip", ">=", 0.9)),
    "digits_magan": (("inception_score", ">=", 8.5), ("classes_covered", ">=", 10)),
    # MAGAN's released networks (added 2026-12-07, before training): digits_magan's targets.
    "digits_magan_released": (("inception_score", ">=", 8.5), ("classes_covered", ">=", 10)),
    "stacked_digits_magan": (("modes_covered", ">=", 990),),
}
TARGETS_2D = {"ring": 7, "grid": 20}  # modes covered, of 8 and of 25
# The sweep's files, and their names on the page.
GAMMA_FILES = {rundir.SWEEP_RESULTS + ".json": "began_gamma.json",
               rundir.SWEEP_RESULTS + ".md": "began_gamma.md",
               rundir.LOSS_CURVES: "began_gamma_curves.png",
               rundir.SAMPLES_FINAL: "began_gamma_samples.png"}


def met(values: list[float], target: tuple[str, str, float]) -> bool:
  _, sense, value = target
  mean = report.mean_se(values).mean
  return mean >= value if sense == ">=" else mean <= value


def seed_row(experiment: str, seed: int, workdir: str) -> dict:
  """One seed's line of ``seeds.json`` from its finished run in ``workdir``."""
  from ebgan_jax import sweep
  summary = rundir.read_json(workdir, rundir.SUMMARY)
  keys = STACKED_KEYS if experiment.startswith("stacked") else DIGITS_KEYS
  row = {"experiment": experiment, "seed": seed, **{k: summary[k] for k in keys}}
  if "began" in experiment:
    row["k_off_clip"] = sweep.second_half_stats(workdir, summary["steps"])[None]["k_off_clip"]
  if "magan" in experiment and "margin" in summary and not experiment.startswith("stacked"):
    row["final_margin"] = summary["margin"]
  return row


def train_seeds(seeds: int, workdir: str, progress: bool,
                experiments: tuple[str, ...] = SEEDED) -> list[dict] | None:
  """Every seed of every recipe, trained or resumed one after the other, each as the single
  run ``make train`` makes; None if stopped."""
  from ebgan_jax import configs, train
  rows = []
  for experiment in experiments:
    for seed in range(seeds):
      config = configs.load_config(experiment)
      configs.apply_overrides(config, [f"seed={seed}"])
      configs.validate(config)
      run = os.path.join(workdir, experiment, f"seed{seed}")
      if not rundir.finished(rundir.read_json(run, rundir.SUMMARY), config.num_steps):
        summary = train.train_and_evaluate(config, run, progress=progress)
        if summary.get("interrupted"):
          return None
      rows.append(seed_row(experiment, seed, run))
  return rows


def _mean(values, spec=".3g") -> str:
  return report.mean_se(values).format(spec, ".2g")


def _paired(a: list[float], b: list[float]) -> str:
  """``a - b`` over the seeds both have, with its verdict."""
  n = min(len(a), len(b))
  diff = report.paired(a[:n], b[:n])
  return f"{diff.mean:+.3g} ± {diff.se:.2g} (n = {diff.n}): {report.verdict(diff)}"


def _target_text(target: tuple[str, str, float]) -> str:
  metric, sense, value = target
  return f"{metric.replace('_', ' ')} {'≥' if sense == '>=' else '≤'} {value:g}"


def render(out: str) -> str:
  """``out/README.md`` from ``seeds.json``, ``began_gamma.json`` in ``out``, and the PacGAN
  protocol's and the family table's JSON beside it."""
  seeds = report.read_json(out, "seeds.json")
  gamma = sorted(report.read_json(out, "began_gamma.json"),
                 key=lambda r: float(report.member_value(r)))
  results = os.path.dirname(os.path.normpath(out))
  family = report.read_json(results, "results.json")
  pacgan = report.read_json(os.path.join(results, "pacgan"), "results.json")
  by = {e: [r for r in seeds if r["experiment"] == e] for e in SEEDED}
  n = sorted({len(rows) for rows in by.values() if rows})

  def col(experiment, key):
    return [r[key] for r in by[experiment] if key in r]

  verdicts = {e: [met(col(e, t[0]), t) for t in TARGETS[e]] for e in SEEDED if by[e]}
  lines = ["# BEGAN and MAGAN with their papers' recipes, on the embedded digits", "",
           f"Regenerate with `make recipes` (resumable): {' or '.join(map(str, n))} seeds of "
           + ", ".join(f"`{e}`" for e in SEEDED) + " as single runs, each exactly as `make "
           "train EXP=<experiment> ARGS=\"--config.seed=S\"` trains it, then BEGAN's γ sweep "
           "(`make sweep EXP=digits_began_paper SWEEP=\"began.gamma=" + ",".join(GAMMAS) + "\"`). "
           "`seeds.json` holds every seed's numbers (from each run's `summary.json` and, for "
           "k_t, its `metrics.jsonl`); `began_gamma.md` / `.json`, `began_gamma_curves.png` and "
           "`began_gamma_samples.png` are the sweep's own outputs.", "",
           f"Each cell is the {report.MEAN_SE}. A target is met when the mean over seeds meets "
           "it; the targets were set before these recipes were trained.", ""]
  ebgan_pt = {d: [r for r in family if r["dataset"] == d and r["model"] == "EBGAN-PT"]
              for d in ("digits", "stacked")}

  def verdict_cell(experiment):
    got = verdicts[experiment]
    return "met" if all(got) else ("missed: " + ", ".join(
        _target_text(t) for t, ok in zip(TARGETS[experiment], got) if not ok))

  lines += ["## The targets", ""]
  body = []
  for e in ("digits_began_paper", "digits_magan", "digits_magan_released"):
    if not by.get(e):
      continue
    k_off = col(e, "k_off_clip")
    body.append([f"`{e}`", len(by[e]), _mean(col(e, "inception_score")),
                 _mean(col(e, "classes_covered")), _mean(col(e, "frechet_distance")),
                 _mean(col(e, "recall")),
                 (_mean([100 * v for v in k_off], ".0f") + " % (per seed "
                  + ", ".join(f"{100 * v:.0f}" for v in k_off) + ")") if k_off else "—",
                 "; ".join(_target_text(t) for t in TARGETS[e]), verdict_cell(e)])
  if ebgan_pt["digits"]:
    rows = ebgan_pt["digits"]
    body.append([f"EBGAN-PT (`results/README.md`, {rows[0]['steps']:,} steps)", len(rows),
                 *[_mean([r[k] for r in rows]) for k in ("inception_score", "classes_covered",
                                                          "frechet_distance", "recall")],
                 "—", "", ""])
  lines += report.table(["experiment", "n", "Inception-style score", "classes",
                         "Fréchet distance", "recall", "k_t off its clip bounds", "target",
                         "verdict"], body)
  e = "stacked_digits_magan"
  if by[e]:
    body = [[f"`{e}`", len(by[e]),
             _mean(col(e, "modes_covered"), ".4g") + " (per seed " + ", ".join(
                 f"{v:g}" for v in col(e, "modes_covered")) + ")",
             *[_mean(col(e, k)) for k in STACKED_KEYS[1:]],
             "; ".join(_target_text(t) for t in TARGETS[e]), verdict_cell(e)]]
    if ebgan_pt["stacked"]:
      rows = ebgan_pt["stacked"]
      body.append([f"EBGAN-PT (`results/README.md`, {rows[0]['steps']:,} steps)", len(rows),
                   _mean([r["modes_covered"] for r in rows], ".4g"),
                   *[_mean([r[k] for r in rows]) for k in STACKED_KEYS[1:]], "", ""])
    lines += [""] + report.table(["experiment", "n", "modes (of 1,000)", "KL to uniform",
                                  "precision", "recall", "coverage", "target", "verdict"], body)
  missed = [e for e, got in verdicts.items() if not all(got)]
  lines += ["", "**Targets missed: " + (", ".join(f"`{e}`" for e in missed) or "none")
            + "; met: " + (", ".join(f"`{e}`" for e in verdicts if e not in missed) or "none")
            + ".**", ""]
  if by["digits_began_paper"]:
    classes = col("digits_began_paper", "classes_covered")
    lines += [
        "- **BEGAN** with its own networks (ELU convolutional auto-encoder, a 16-unit "
        "embedding, the generator shaped like the decoder), batch 16, Adam 1e-4 with the "
        "learning-rate halving, γ = 0.5 (`experiments/digits_began_paper.py`): the seeds cover "
        + ", ".join(f"{c:g}" for c in classes) + " of the ten classes. The controller is at "
        "work (k_t off its clip bounds at " + ", ".join(
            f"{100 * v:.0f} %" for v in col("digits_began_paper", "k_off_clip"))
        + " of the logged steps), but a collapsed generator meets BEGAN's equilibrium "
        "(the fakes' energy at γ times the real one) as well as a diverse one does."]
  if by["digits_magan"]:
    margins = col("digits_magan", "final_margin")
    lines += [
        "- **MAGAN** as its authors' code trains it (auto-encoder pre-training, the margin "
        "measured over an epoch without training, S_G from the generator's updates, the "
        "strict comparison, Adamax, a 64-256-32-64 auto-encoder; "
        "`experiments/digits_magan.py`): score " + _mean(col("digits_magan", "inception_score"))
        + " and Fréchet distance " + _mean(col("digits_magan", "frechet_distance"))
        + (", against EBGAN-PT's " + _mean([r["inception_score"] for r in ebgan_pt["digits"]])
           + " and " + _mean([r["frechet_distance"] for r in ebgan_pt["digits"]])
           if ebgan_pt["digits"] else "")
        + (f"; its final margin is {min(margins):.3g}–{max(margins):.3g}" if margins else "")
        + "."]
  if by.get("digits_magan_released"):
    e = "digits_magan_released"
    lines += [
        "- **MAGAN with its released MNIST networks** (`experiments/digits_magan_released.py`: "
        "a 784-256-256-784 sigmoid auto-encoder with the sum-of-squares energy, a "
        "transposed-convolution generator without BatchNorm, z ~ N(0, 1) of size 50, the "
        "digits resized to 28×28; the schedule of `digits_magan`): score "
        + _mean(col(e, "inception_score")) + ", Fréchet distance "
        + _mean(col(e, "frechet_distance")) + "; against `digits_magan` (paired by seed) "
        + _paired(col(e, "inception_score"), col("digits_magan", "inception_score"))
        + " in score."]
  lines += ["", "Nothing was changed after seeing these numbers; the configurations are the "
            "recipes as described in the experiment files.", ""]

  lines += ["## BEGAN's γ: diversity against quality (one seed, one program)", ""]
  lines += report.table(
      ["γ", "classes", "recall", "coverage", "Fréchet distance", "k_t at the end",
       "k_t off its bounds"],
      ([report.member_value(r), r["classes_covered"], f"{r['recall']:.3f}",
        f"{r['coverage']:.3f}", f"{r['frechet_distance']:.1f}", f"{r['k']:.2g}",
        f"{100 * r['k_off_clip']:.0f} %"] for r in gamma))
  diversity = ("classes_covered", "recall", "coverage")
  rising = [k for k in diversity
            if all(a[k] <= b[k] for a, b in zip(gamma, gamma[1:]))]
  escaped = [r for r in gamma if r["classes_covered"] == 10]
  lines += ["", "The paper's claim, that a lower γ gives less diverse samples, "
            + ("holds in direction on every measure of diversity here (classes, recall, "
               "coverage)" if len(rising) == len(diversity) else
               "holds in direction on " + (", ".join(rising) or "no measure")
               + " of classes, recall and coverage")
            + ("; but no γ of the three reaches all ten classes on these data at this budget."
               if not escaped else "; γ = " + ", ".join(report.member_value(r)
                                                       for r in escaped)
               + " reaches all ten classes.")]
  single = [r for r in by["digits_began_paper"] if r["seed"] == 0]
  same = [r for r in gamma if r["member"] == "began.gamma=0.5"]
  if single and same:
    lines[-1] += (f" (The γ = 0.5 member scores {same[0]['inception_score']:.2f} where the "
                  f"single run of the same seed scored {single[0]['inception_score']:.2f}: "
                  "the sweep's program rounds differently from the single run's, and an "
                  "adversarial game amplifies that over its updates.)")
  lines += ["", "![k_t and the energies against training step, per γ](began_gamma_curves.png)",
            "", "![samples per γ](began_gamma_samples.png)", ""]

  lines += ["## BEGAN and MAGAN at PacGAN's 2-D set-up", "",
            "The PacGAN protocol's rows ([../pacgan/README.md](../pacgan/README.md), `make "
            "results PROTOCOL=pacgan ARGS=\"--datasets ring,grid --models BEGAN,MAGAN\"`, "
            "resumable): the maxout auto-encoder of the energy-based rows plus a linear code "
            "whose width the held-out sweep chose ([../pacgan/codes.md](../pacgan/codes.md)). "
            "A code narrower than the data cannot reconstruct it; one as wide or wider "
            "reconstructs every point, real or fake, so that both controllers, which measure "
            "against the real energy, stop pushing the fakes once it is near zero.", ""]
  body = []
  for dataset, target in TARGETS_2D.items():
    for model in ("BEGAN", "MAGAN"):
      rows = [r for r in pacgan if r["dataset"] == dataset and r["model"] == model]
      if not rows:
        continue
      modes = [r["modes_covered"] for r in rows]
      energy = [r["energy_real"] for r in rows]
      control = ([r["k"] for r in rows] if model == "BEGAN" else
                 [r["margin"] for r in rows if "margin" in r])
      body.append([dataset, model, f"{min(r['steps'] for r in rows):,}", len(rows),
                   _mean(modes, ".2g") + " (per seed " + ", ".join(f"{m:g}" for m in modes) + ")",
                   _mean([100 * r["high_quality"] for r in rows], ".2g"),
                   f"{min(energy):.2g}–{max(energy):.2g}",
                   (("k_t " if model == "BEGAN" else "margin ")
                    + f"{min(control):.2g}–{max(control):.2g}") if control else "—",
                   f"≥ {target}", "met" if met(modes, ("", ">=", target)) else "missed"])
  lines += report.table(["data", "model", "updates", "n", "modes", "high quality %",
                         "real energy at the end", "controller at the end", "target",
                         "verdict"], body)
  short = sorted({r["steps"] for r in pacgan if r["model"] in ("BEGAN", "MAGAN")})
  lines += ["", "## Not done", "",
            "- The 2-D rows are at " + ", ".join(f"{s:,}" for s in short) + " of the "
            "protocol's 400,000 updates (resumable with the command above); the grid's own "
            "code-width sweep was not run (the rows use the ring's).",
            "- `make results` still trains BEGAN and MAGAN with EBGAN's networks (a comparison "
            "of the losses on equal footing; its README says so)."]
  return report.page_text(lines)


def main(argv: list[str] | None = None) -> int:
  parser = argparse.ArgumentParser(prog="python -m ebgan_jax.studies.recipes",
                                   description=__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument("--seeds", type=int, default=3)
  parser.add_argument("--workdir", default="runs/recipes")
  parser.add_argument("--out", default="results/recipes")
  parser.add_argument("--only", default="",
                      help="comma-separated experiments of the page to (re)train alone: their "
                           "rows replace theirs in <out>/seeds.json, the others and BEGAN's "
                           "gamma sweep are kept as they are")
  parser.add_argument("--no_progress", action="store_true")
  args = parser.parse_args(sys.argv[1:] if argv is None else argv)
  cli.set_cpu_defaults()
  only = tuple(e for e in args.only.split(",") if e)
  unknown = [e for e in only if e not in SEEDED]
  if unknown:
    parser.error(f"--only {unknown[0]!r} is not on the page; choose from {', '.join(SEEDED)}.")
  if only and not os.path.exists(os.path.join(args.out, "seeds.json")):
    parser.error(f"--only keeps the other rows of {os.path.join(args.out, 'seeds.json')}, "
                 "which does not exist; run make recipes without --only first.")

  def body() -> int:
    from ebgan_jax import configs, sweep
    report.seed_spec(args.seeds)  # rejects --seeds < 1 before anything trains
    rows = train_seeds(args.seeds, args.workdir, not args.no_progress, only or SEEDED)
    if rows is None:
      return cli.interrupted()
    if only:
      kept = [r for r in report.read_json(args.out, "seeds.json") if r["experiment"] not in only]
      rows = sorted(kept + rows, key=lambda r: (SEEDED.index(r["experiment"]), r["seed"]))
      report.write_json(args.out, "seeds.json", rows)
      print(f"wrote {report.write_page(args.out, render)}", flush=True)
      return cli.EXIT_OK
    swept = os.path.join(args.workdir, "digits_began_gamma")
    if not sweep.run_sweep(configs.load_config("digits_began_paper"), {"began.gamma": list(GAMMAS)},
                           swept, progress=not args.no_progress):
      return cli.interrupted()
    report.write_json(args.out, "seeds.json", rows)
    for name, copy in GAMMA_FILES.items():
      shutil.copyfile(os.path.join(swept, name), os.path.join(args.out, copy))
    print(f"wrote {report.write_page(args.out, render)}", flush=True)
    return cli.EXIT_OK
  return cli.run(body)


if __name__ == "__main__":
  sys.exit(main())
