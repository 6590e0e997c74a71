"""``make likelihood``: the latent-variable models by held-out log-likelihood on the same data.

  python -m ebgan_jax.studies.likelihood [--seeds 5] [--scale 1.0] [--out results/likelihood]

Trains the VAE (Kingma & Welling 2014), the IWAE with k = 50 (Burda, Grosse & Salakhutdinov
2016) and the Bidirectional Helmholtz Machine (Bornschein et al. 2016) on the binarised
embedded digits, the seeds of each as one vmapped sweep, and scores all of them on the same
297 held-out digits that none was trained on, after the same number of updates. Writes ``<out>/README.md`` (mean ± standard error over
seeds beside the published MNIST figures), ``<out>/likelihood.json``, ``<out>/estimates.png``
(each estimate against its number of importance samples: the bounds tighten as K grows),
and for the BiHM ``<out>/bihm_gibbs.png`` (samples from p* by Gibbs sampling) and
``<out>/bihm_inpainting.png``. Rerunning resumes every unfinished run.
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np

from ebgan_jax import cli
from ebgan_jax.cli import set_cpu_defaults
from ebgan_jax.studies import report

# title: (experiment, overrides)
MODELS = {
    "VAE": ("digits_vae", ()),
    "IWAE (k=50)": ("digits_vae", ("vae.estimator=iwae", "vae.num_samples=50")),
    "BiHM": ("digits_bihm", ()),
}
# Every model gets the same updates (batch 100, 2,000 epochs of the 1,500 training digits): by
# then the BiHM's training bound has flattened (it gains 0.6 nats from step 14,000 to 30,000).
STEPS = 30000
# Importance samples of the final evaluation (Burda et al. use 5,000), and the K of the
# tightening figure.
EVAL_SAMPLES = 5000
CURVE_SAMPLES = (1, 10, 100, 1000, 10000)
# Gibbs sweeps of the BiHM's sample rows, and of each inpainting.
GIBBS_SWEEPS, INPAINT_SWEEPS = (10, 100, 1000), 200
PUBLISHED = """Published on binarised MNIST (784 pixels; other data, not comparable in value):
VAE −86.76 and IWAE (k = 50) −84.78 nats with one stochastic layer (Burda et al. 2016,
Table 1); BiHM −84.8 nats with 12 layers (Bornschein et al. 2016, Table 1)."""


def model_config(title: str, scale: float = 1.0):
  from ebgan_jax import configs
  experiment, overrides = MODELS[title]
  config = configs.load_config(experiment)
  steps = max(100, int(STEPS * scale) // 100 * 100)
  configs.apply_overrides(config, [
      *overrides, f"num_steps={steps}", f"checkpoint_every={steps}", f"sample_every={steps}",
      "vae.eval_importance_samples=%d" % EVAL_SAMPLES, "bihm.eval_samples=%d" % EVAL_SAMPLES])
  configs.validate(config)
  return config


def _row(title: str, member: dict) -> dict:
  if title == "BiHM":
    return {"log_likelihood": member["log_likelihood"],
            "bound": member["log_likelihood_bound"], "log_z": member["log_z"]}
  return {"log_likelihood": member["test_iw_log_likelihood"],
          "bound": member["test_elbo_estimate"],
          "train_log_likelihood": member["train_iw_log_likelihood"]}


def curves(run, held_out: np.ndarray, seed: int = 0) -> dict[str, list[float]]:
  """Member 0's held-out estimates at each K of ``CURVE_SAMPLES``."""
  import jax
  from ebgan_jax import algorithms, models
  from ebgan_jax.algorithms import bihm
  from ebgan_jax.state import member
  state = member(run.state, 0) if run.members else run.state
  key = jax.random.PRNGKey(seed)
  nets = (run.generator, run.discriminator)
  if run.config.algorithm == "bihm":
    x = np.asarray(models.to_binary(jax.numpy.asarray(held_out)))
    log_z = bihm.log_partition(nets, state.g.params, state.d.params, key,
                               run.config.bihm.partition_samples,
                               run.config.bihm.partition_inner_samples)
    bound = [float(np.mean(bihm.log_p_tilde(nets, state.g.params, state.d.params, x,
                                            jax.random.fold_in(key, k), k)))
             for k in CURVE_SAMPLES]
    return {"log_p_tilde": bound, "log_p_star": [b - 2 * log_z for b in bound], "log_z": log_z}
  algorithm = algorithms.make_algorithm(run.config)
  out = [algorithm.importance_log_likelihood(nets, state, held_out, num_samples=k,
                                             key=jax.random.fold_in(key, k),
                                             sample_chunk=min(k, 500))["iw_log_likelihood"]
         for k in CURVE_SAMPLES]
  return {"iw_log_likelihood": out}


# The per-example check's key (independent of the evaluation's and the curves').
CHECK_SEED = 7
# P(N(0, 1) < -2): how often a side whose true gap is 0 crosses by more than two standard errors.
CHANCE = 0.0228


def crossings_by_chance(n: int) -> int:
  """The most crossings beyond two standard errors that chance explains among ``n``
  comparisons at a true gap of 0: the expected count plus three binomial standard deviations."""
  return int(n * CHANCE + 3 * np.sqrt(n * CHANCE * (1 - CHANCE)))


def per_example_checks(run, held_out: np.ndarray) -> list[dict]:
  """For each seed of a BiHM run, :func:`ebgan_jax.algorithms.bihm.check_counts` over the
  held-out examples: the bound log p~*(x) against the estimate log p*(x) and against the
  top-down model's log p(x), each side from its own K = EVAL_SAMPLES samples, with their
  Monte-Carlo standard errors."""
  import jax
  from ebgan_jax.algorithms import bihm
  from ebgan_jax.state import member
  nets = (run.generator, run.discriminator)
  out = []
  for i in range(len(run.members) if run.members else 1):
    state = member(run.state, i) if run.members else run.state
    check = bihm.per_example_check(
        nets, state.g.params, state.d.params, held_out,
        key=jax.random.fold_in(jax.random.PRNGKey(CHECK_SEED), i), eval_samples=EVAL_SAMPLES,
        partition_samples=run.config.bihm.partition_samples,
        partition_inner_samples=run.config.bihm.partition_inner_samples)
    out.append({"check": bihm.check_counts(check)})
  return out


def bihm_pictures(run, held_out: np.ndarray, out: str) -> None:
  """Gibbs samples from p* and inpaintings of held-out digits by the BiHM's member 0."""
  import jax
  import jax.numpy as jnp
  from ebgan_jax import models, pictures
  from ebgan_jax.algorithms import bihm
  from ebgan_jax.state import member
  state = member(run.state, 0) if run.members else run.state
  nets = (run.generator, run.discriminator)
  shape = tuple(held_out.shape[1:])
  as_images = lambda x: np.asarray(x).reshape((-1,) + shape) * 2.0 - 1.0
  start = run.generator.apply({"params": state.g.params}, jax.random.PRNGKey(1), 64,
                              method="sample")[0]
  rows = [as_images(start[:16])]
  for sweeps in GIBBS_SWEEPS:
    x = bihm.gibbs_sample(nets, state.g.params, state.d.params, start, jax.random.PRNGKey(2),
                          sweeps)
    rows.append(as_images(x[:16]))
  pictures.save_labelled_rows(os.path.join(out, "bihm_gibbs.png"), rows,
                             ["p (ancestral)"] + [f"{n} sweeps" for n in GIBBS_SWEEPS])
  # Inpainting: the bottom half of 12 held-out digits is drawn from p*(bottom | top).
  x = models.to_binary(jnp.asarray(held_out[:12]))
  mask = np.zeros(x.shape, np.float32)
  mask[:, :x.shape[1] // 2] = 1.0
  masked = np.where(mask > 0, np.asarray(x), 0.5)
  rows = [as_images(x), as_images(masked)]
  for r in range(3):
    filled = bihm.gibbs_sample(nets, state.g.params, state.d.params,
                               jnp.where(mask > 0, x, 0.0), jax.random.PRNGKey(10 + r), INPAINT_SWEEPS,
                               clamp=(mask, np.asarray(x)))
    rows.append(as_images(filled))
  pictures.save_labelled_rows(os.path.join(out, "bihm_inpainting.png"), rows,
                             ["held out", "top half kept", "inpainted", "inpainted", "inpainted"])


def write_figure(path: str, curve_rows: dict[str, dict]) -> None:
  import matplotlib
  matplotlib.use("Agg")
  import matplotlib.pyplot as plt
  fig, ax = plt.subplots(figsize=(6, 4))
  for title, c in curve_rows.items():
    if "log_p_star" in c:
      ax.plot(CURVE_SAMPLES, c["log_p_tilde"], "o--", label=f"{title}: log p~*(x) (bound)")
      ax.plot(CURVE_SAMPLES, c["log_p_star"], "o-", label=f"{title}: log p*(x) = log p~* - 2 log Z")
    else:
      ax.plot(CURVE_SAMPLES, c["iw_log_likelihood"], "o-", label=f"{title}: importance-weighted")
  ax.set_xscale("log")
  ax.set_xlabel("importance samples K per example")
  ax.set_ylabel("mean log-likelihood of 297 held-out digits (nats)")
  ax.legend(fontsize=7)
  ax.grid(alpha=0.3)
  fig.tight_layout()
  fig.savefig(path, dpi=100)
  plt.close(fig)


# An estimate whose last tenfold increase of K moved it by more than this is still rising there.
SETTLED_NATS = 0.1


def _increments(curves: dict) -> str:
  """What the last tenfold increase of K changed, per estimate, from the stored curves."""
  changes, rising = [], []
  for title, c in curves.items():
    for key, values in c.items():
      if isinstance(values, list) and len(values) > 1:
        delta = values[-1] - values[-2]
        changes.append(f"{title} {key} {delta:+.2f}")
        if abs(delta) > SETTLED_NATS:
          rising.append(f"{title} {key}")
  text = (f"From K = {CURVE_SAMPLES[-2]:,} to {CURVE_SAMPLES[-1]:,} the estimates change by: "
          + ", ".join(changes) + " nats. ")
  if rising:
    return text + (f"More than {SETTLED_NATS} nat at the largest K: "
                   f"{', '.join(rising)} is still rising there, so its value in the table is "
                   "below what more samples would give; the others have settled to within "
                   f"{SETTLED_NATS} nat.")
  return text + f"Every estimate has settled to within {SETTLED_NATS} nat at the largest K."


def render(out: str) -> str:
  """``out/README.md`` from ``out/likelihood.json`` alone."""
  stored = report.read_json(out, "likelihood.json")
  rows, curve_rows, command = stored["rows"], stored["curves"], stored["command"]
  seeds = max(len([r for r in rows if r["model"] == title]) for title in MODELS)

  def stat(title, key):
    return report.mean_se(r[key] for r in rows if r["model"] == title and key in r).format(
        ".2f", ".2f")

  lines = [
      "# Log-likelihood of held-out binarised digits: VAE, IWAE, BiHM", "",
      f"Command: `{command}`. Data: scikit-learn's 1,797 8×8 digits binarised at 0.5; a fixed "
      "set of 297 held out (the same for every model and seed), 1,500 for training. "
      f"Each cell is the {report.MEAN_SE}; n = {seeds} here. Nats per digit (64 pixels; 64 fair coins score −44.36, "
      "independent pixels fitted to the training digits −24.24).", "",
      "| model | steps | log-likelihood (held out) | bound (held out) | log Z | train log-lik. | seconds, all seeds |",
      "|---|---|---|---|---|---|---|"]
  for title in MODELS:
    mine = [r for r in rows if r["model"] == title]
    if not mine:
      continue
    lines.append(f"| {title} | {mine[0]['steps']} | {stat(title, 'log_likelihood')} | "
                 f"{stat(title, 'bound')} | {stat(title, 'log_z')} | "
                 f"{stat(title, 'train_log_likelihood')} | {mine[0]['seconds']:.0f} |")
  means = {t: np.mean([r["log_likelihood"] for r in rows if r["model"] == t])
           for t in MODELS if any(r["model"] == t for r in rows)}
  ranking = sorted(means, key=means.get, reverse=True)
  bihm = [r for r in rows if r["model"] == "BiHM"]
  lines += ["", "Held out, from best to worst: " + ", ".join(
      f"{t} ({means[t]:.2f})" for t in ranking) + "."]
  checked = [r["check"] for r in bihm if "check" in r]
  if checked:
    total = lambda key: sum(c[key] for c in checked)
    pairs = total("examples")
    beyond = {side: total(f"above_{side}_beyond_2se") for side in ("estimate", "log_p")}
    median_se = lambda side: np.median([c[f"median_se_{side}"] for c in checked])
    lines += ["", f"The BiHM per held-out example ({checked[0]['examples']} examples × "
              f"{len(checked)} seeds = {pairs}), a check that can fail: two inequalities hold "
              "exactly, log p~*(x) ≤ log p*(x) (as Z ≤ 1) and log p~*(x) ≤ log p(x), the "
              "top-down model's own likelihood (Cauchy-Schwarz over h). Each side is estimated "
              f"from its own K = {EVAL_SAMPLES} samples (and log p* from its own estimate of Z), "
              "so they may cross by Monte-Carlo error, whose standard error (delta method) is "
              "allowed for. Were a side's true gap 0, Gaussian errors would cross by more than "
              f"two standard errors for {100 * CHANCE:.1f} % of the examples; more crossings "
              f"than {crossings_by_chance(pairs)} of {pairs} (that rate plus three binomial "
              "standard deviations) say an estimator or a network's normalisation is wrong.", ""]
    lines += report.table(
        ["bound log p~*(x) against", "below it", "above it by > 2 s.e.",
         "median s.e. of the difference", "verdict"],
        [[name, f"{total(f'below_{side}')} of {pairs}", f"{beyond[side]} of {pairs}",
          f"{median_se(side):.3f}",
          "holds" if beyond[side] <= crossings_by_chance(pairs) else "**fails**"]
         for side, name in (("estimate", "the estimate log p*(x)"),
                            ("log_p", "log p(x) of the top-down model"))])
  lines += [
      "", "Seconds: wall time of training the seeds together, evaluation included, on the "
      "machine that ran the command." + "".join(
          f" {title}'s row was trained again on its own ({by}), its time measured in that run, "
          "which may have shared the machine with other jobs."
          for title, by in dict.fromkeys((r["model"], r["trained_by"]) for r in rows
                                         if "trained_by" in r)),
      "", "Log-likelihood: for the VAE and the IWAE the importance-weighted estimate with "
      f"K = {EVAL_SAMPLES} (Burda et al. 2016), below log p(x) in expectation; for the BiHM "
      f"log p*(x) = log p~*(x) − 2 log Z with p~*(x) from K = {EVAL_SAMPLES} samples and Z from "
      "the configured draws from the top-down model, whose finite inner sample makes Z high "
      "and the estimate low. Bound: the ELBO (VAE), the k = 50 training bound's K = 1 "
      "average (IWAE: also the ELBO) and log p~*(x) (BiHM, a lower bound of log p*(x) by "
      "2 D_B(p, q) = −2 log Z).", "",
      "![estimates against K](estimates.png)", "",
      "Seed 0's estimates against the number of importance samples K. " + _increments(curve_rows),
      "",
      "| K | " + " | ".join(map(str, CURVE_SAMPLES)) + " |",
      "|---|" + "---|" * len(CURVE_SAMPLES)]
  for title, c in curve_rows.items():
    for key, values in c.items():
      if isinstance(values, list):
        lines.append(f"| {title} {key} | " + " | ".join(f"{v:.2f}" for v in values) + " |")
  lines += ["", "Samples of the BiHM's p* by Gibbs sampling (from ancestral samples of p, "
            "after 10, 100 and 1,000 sweeps), and inpainting of held-out digits (the bottom "
            "half drawn from p* given the top half):", "",
            "![Gibbs samples](bihm_gibbs.png)", "", "![inpainting](bihm_inpainting.png)", "",
            PUBLISHED]
  return report.page_text(lines)


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
  parser.add_argument("--seeds", type=int, default=5)
  parser.add_argument("--scale", type=float, default=1.0, help="multiplies every step budget")
  parser.add_argument("--workdir", default="runs/likelihood")
  parser.add_argument("--out", default="results/likelihood")
  parser.add_argument("--models", default=",".join(MODELS),
                      help=f"comma-separated, from {', '.join(MODELS)}: train and score these; "
                      "the page keeps the other models' rows from its likelihood.json")
  args = parser.parse_args(argv)
  titles = [t for t in args.models.split(",") if t]
  unknown = [t for t in titles if t not in MODELS]
  if args.seeds < 1 or args.scale <= 0 or unknown or not titles:
    print("error: --seeds must be >= 1, --scale > 0 and --models a comma-separated list from "
          f"{', '.join(MODELS)}" + (f" (unknown: {', '.join(unknown)})." if unknown else "."),
          file=sys.stderr)
    return 2
  set_cpu_defaults()
  from ebgan_jax import data, trained
  os.makedirs(args.out, exist_ok=True)
  rows, curve_rows = [], {}
  kept = {}
  if set(titles) != set(MODELS):
    try:
      kept = report.read_json(args.out, "likelihood.json")
    except ValueError as e:
      print(f"error: {e}; run every model first (without --models).", file=sys.stderr)
      return 2
  for title in MODELS:
    if title not in titles:
      rows += [r for r in kept["rows"] if r["model"] == title]
      if title in kept["curves"]:
        curve_rows[title] = kept["curves"][title]
      continue
    config = model_config(title, args.scale)
    workdir = os.path.join(args.workdir, title.split()[0].lower())
    results, seconds = report.run_seeds(config, args.seeds, workdir)
    if not results:
      return cli.interrupted(cli.EXIT_STOPPED)
    held_out = data.heldout_examples(config.data)
    run = trained.load(workdir)
    checks = (per_example_checks(run, held_out) if config.algorithm == "bihm"
              else [{}] * len(results))
    # A model trained again on its own is timed in that run, not beside the page's others.
    alone = {} if set(titles) == set(MODELS) else {"trained_by": f"--models {args.models}"}
    rows += [{"model": title, "steps": config.num_steps, "seconds": seconds, **_row(title, r),
              **check, **alone} for r, check in zip(results, checks)]
    curve_rows[title] = curves(run, held_out)
    if config.algorithm == "bihm":
      bihm_pictures(run, held_out, args.out)
  write_figure(os.path.join(args.out, "estimates.png"), curve_rows)
  command = kept.get("command") or ("make likelihood" + (
      "" if (args.seeds, args.scale) == (5, 1.0)
      else f" ARGS='--seeds {args.seeds} --scale {args.scale}'"))
  report.write_json(args.out, "likelihood.json", {"command": command, "rows": rows,
                                                  "curves": curve_rows,
                                                  "curve_samples": CURVE_SAMPLES})
  report.write_page(args.out, render)
  print(f"wrote {args.out}/README.md", flush=True)
  return 0


if __name__ == "__main__":
  sys.exit(main())
