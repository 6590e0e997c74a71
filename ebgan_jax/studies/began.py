"""``make began``: why BEGAN (Berthelot, Schumm & Metz 2017) collapses on the digits with its
paper's recipe, and a recipe chosen by a search fixed before it was run.

  python -m ebgan_jax.studies.began [--parts diagnosis,search,heldout,mixtures,gamma]
                                    [--workdir runs/began] [--out results/began]

- **diagnosis**: the paper's recipe (``experiments/digits_began_paper.py``) on a validation
  seed, evaluated every 250 updates on 500 samples: classes covered, the Inception-style score,
  the samples' diversity (mean pairwise distance), the real and fake energies and their ratio
  against γ, k_t and both players' gradient norms (``diagnosis.json``, ``diagnosis.png``).
- **search**: every cell of :data:`SEARCH` (γ, λ_k, k_0, the generator/discriminator
  learning-rate ratio and the auto-encoder's form) on the validation seeds at the search's
  budget, each seed a single run; ``search.json`` grows by one run at a time, so the command
  resumes from the committed file on any machine. The selection rule picks one cell.
- **heldout**: ``digits_began`` (whose defaults are the selected cell) at its full budget on
  the held-out seeds, which nothing above has seen.
- **mixtures**: the selected γ, λ_k, k_0 and learning-rate ratio on PacGAN's ring and grid
  (``toy_grid_began``'s bottleneck auto-encoder), 5 seeds, 10,000 updates, as one sweep each.
- **gamma**: the selected recipe with γ = 0.5, 0.75, 0.9 on one validation seed: the paper's
  claim that γ trades diversity for quality, on a model that does not collapse.

The page (``README.md``) is rendered from those files alone (:func:`render`).
"""

from __future__ import annotations

import argparse
import itertools
import os
import shutil
import sys

from ebgan_jax import cli, rundir
from ebgan_jax.studies import report

DIAGNOSIS_JSON, SEARCH_JSON, HELDOUT_JSON = "diagnosis.json", "search.json", "heldout.json"
MIXTURES_JSON, GAMMA_JSON = "mixtures.json", "gamma.json"
DIAGNOSIS_FIGURE, GAMMA_FIGURE = "diagnosis.png", "gamma_samples.png"
PARTS = ("diagnosis", "search", "heldout", "mixtures", "gamma")
# Written on 2026-12-06 before any run of the search was trained.
SEARCH = {
    "fixed": "2026-12-06, before any run of the search was trained",
    "validation_seeds": [100, 101, 102],
    "held_out_seeds": [0, 1, 2],
    "budget": 2000,  # updates per validation run (the collapse begins in the first 2,000)
    "eval_samples": 500,
    "gamma": [0.5, 0.75, 0.9],
    "lambda_k": [0.001, 0.01],
    "k0": [0.0, 0.1],
    "lr_ratio": [1, 5],  # the generator's learning rate over the discriminator's 1e-4
    "forms": {"conv": {"model.arch": "began"},
              "dense16": {"model.arch": "began_dense", "model.code_size": 16,
                          "model.size_d": 256},
              "dense32": {"model.arch": "began_dense", "model.code_size": 32,
                          "model.size_d": 256}},
    "selection": "on the validation seeds only: the most classes covered (mean), then the "
                 "highest Inception-style score (mean)",
}
DIAGNOSIS = {"seed": 100, "every": 250, "samples": 500}
MIXTURES = {"datasets": ["ring", "grid"], "seeds": 5, "updates": 10000}
KEYS = ("classes_covered", "inception_score", "frechet_distance", "precision", "recall",
        "diversity")


def cells() -> list[dict]:
  """The search's cells in a fixed order."""
  s = SEARCH
  return [{"form": form, "gamma": g, "lambda_k": lk, "k0": k0, "lr_ratio": r}
          for form, g, lk, k0, r in itertools.product(s["forms"], s["gamma"], s["lambda_k"],
                                                       s["k0"], s["lr_ratio"])]


def cell_slug(cell: dict) -> str:
  return (f"{cell['form']}_g{cell['gamma']:g}_lk{cell['lambda_k']:g}_k{cell['k0']:g}"
          f"_r{cell['lr_ratio']:g}")


def cell_values(cell: dict) -> dict:
  """The config values of a cell (on top of the paper's recipe)."""
  lr_d = 1e-4
  return {**SEARCH["forms"][cell["form"]], "began.gamma": cell["gamma"],
          "began.lambda_k": cell["lambda_k"], "began.k0": cell["k0"],
          "optimizer.lr_d": lr_d, "optimizer.lr_g": lr_d * cell["lr_ratio"]}


def cell_config(cell: dict, seed: int, steps: int | None = None):
  from ebgan_jax import configs
  config = configs.with_values(configs.load_config("digits_began_paper"), **cell_values(cell),
                               seed=seed)
  if steps:
    configs.with_values(config, num_steps=steps, checkpoint_every=steps, log_every=steps // 8,
                        sample_every=10 * steps, eval_every=steps,
                        eval_samples=SEARCH["eval_samples"])
  configs.validate(config)
  return config


def _enable_compilation_cache(workdir: str) -> None:
  """Every run of a form compiles the same programs (the searched values are traced inputs):
  a persistent compilation cache compiles them once."""
  import jax
  jax.config.update("jax_compilation_cache_dir", os.path.join(workdir, "jax_cache"))
  jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
  jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)


def _train(config, workdir: str, progress: bool) -> dict | None:
  from ebgan_jax import train
  summary = train.train_and_evaluate(config, workdir, progress=progress)
  return None if summary.get("interrupted") else summary


# ----------------------------------------------------------------------------------------------
# The parts
# ----------------------------------------------------------------------------------------------

def diagnosis(workdir: str, out: str, progress: bool) -> bool:
  from ebgan_jax import configs
  d = DIAGNOSIS
  config = configs.with_values(configs.load_config("digits_began_paper"), seed=d["seed"],
                               log_every=d["every"], eval_every=d["every"],
                               eval_samples=d["samples"], sample_every=100000)
  run_dir = os.path.join(workdir, "diagnosis")
  if _train(config, run_dir, progress) is None:
    return False
  rows = rundir.read_metrics(run_dir)
  train_keys = ("k", "energy_real", "energy_fake", "fake_real_ratio", "grad_norm_d",
                "grad_norm_g", "m_global", "lr_scale")
  curves = {"step": [], **{k: [] for k in train_keys}}
  evals = {"step": [], **{k: [] for k in ("classes_covered", "inception_score", "diversity",
                                          "frechet_distance")}}
  for row in rows:
    if "k" in row:
      curves["step"].append(row["step"])
      for k in train_keys:
        curves[k].append(row.get(k))
    if "classes_covered" in row:
      evals["step"].append(row["step"])
      for k in evals:
        if k != "step":
          evals[k].append(row[k])
  import numpy as np
  from ebgan_jax import data
  from ebgan_jax.evaluators.classifiers import pixel_diversity
  real, _ = data.load_digits()
  rng = np.random.default_rng(0)
  real_diversity = pixel_diversity(real[rng.permutation(len(real))[:d["samples"]]])
  report.write_json(out, DIAGNOSIS_JSON, {
      "experiment": "digits_began_paper", "seed": d["seed"], "steps": config.num_steps,
      "gamma": config.began.gamma, "every": d["every"], "samples": d["samples"],
      "real_diversity": real_diversity, "train": curves, "eval": evals})
  _diagnosis_figure(out)
  return True


def _diagnosis_figure(out: str) -> None:
  import matplotlib
  matplotlib.use("Agg")
  import matplotlib.pyplot as plt
  d = report.read_json(out, DIAGNOSIS_JSON)
  t, e = d["train"], d["eval"]
  fig, axes = plt.subplots(2, 3, figsize=(13, 6.4))
  a = axes[0, 0]
  a.plot(e["step"], e["classes_covered"], label="classes covered")
  a.plot(e["step"], e["inception_score"], label="Inception-style score")
  a.set(title=f"samples ({d['samples']} every {d['every']} updates)", xlabel="update")
  a.legend(fontsize=8)
  a = axes[0, 1]
  a.plot(e["step"], e["diversity"], label="samples")
  a.axhline(d["real_diversity"], color="gray", linestyle=":", label="real digits")
  a.set(title="diversity: mean pairwise distance", xlabel="update")
  a.legend(fontsize=8)
  a = axes[0, 2]
  a.plot(t["step"], t["k"])
  a.set(title="k_t", xlabel="update")
  a = axes[1, 0]
  a.plot(t["step"], t["energy_real"], label="L(x)")
  a.plot(t["step"], t["energy_fake"], label="L(G(z))")
  a.set(title="energies (l1)", xlabel="update", yscale="log")
  a.legend(fontsize=8)
  a = axes[1, 1]
  a.plot(t["step"], t["fake_real_ratio"], label="L(G(z)) / L(x)")
  a.axhline(d["gamma"], color="gray", linestyle=":", label="γ")
  a.set(title="the balance the controller steers", xlabel="update")
  a.legend(fontsize=8)
  a = axes[1, 2]
  a.plot(t["step"], t["grad_norm_d"], label="D")
  a.plot(t["step"], t["grad_norm_g"], label="G")
  a.set(title="gradient norms", xlabel="update", yscale="log")
  a.legend(fontsize=8)
  for a in axes.flat:
    a.grid(alpha=0.3)
  fig.suptitle(f"BEGAN, the paper's recipe, digits, seed {d['seed']}", fontsize=10)
  fig.tight_layout()
  fig.savefig(os.path.join(out, DIAGNOSIS_FIGURE), dpi=90)
  plt.close(fig)


def search(workdir: str, out: str, progress: bool) -> bool:
  """Every (cell, validation seed) not yet in ``search.json``, one run at a time."""
  path = os.path.join(out, SEARCH_JSON)
  done = rundir.load(path)["runs"] if os.path.exists(path) else []
  have = {(r["cell"], r["seed"]) for r in done}
  todo = [(c, s) for c in cells() for s in SEARCH["validation_seeds"]
          if (cell_slug(c), s) not in have]
  for i, (cell, seed) in enumerate(todo):
    print(f"search: run {len(have) + i + 1} of {len(cells()) * len(SEARCH['validation_seeds'])}:"
          f" {cell_slug(cell)}, seed {seed}", flush=True)
    config = cell_config(cell, seed, SEARCH["budget"])
    run_dir = os.path.join(workdir, "search", cell_slug(cell), f"seed_{seed}")
    summary = _train(config, run_dir, progress)
    if summary is None:
      return False
    done.append({"cell": cell_slug(cell), **cell, "seed": seed, "steps": summary["steps"],
                 **{k: summary[k] for k in KEYS}, "k_final": summary["k"]})
    report.write_json(out, SEARCH_JSON, {"setup": SEARCH, "runs": done})
    shutil.rmtree(run_dir, ignore_errors=True)  # what the table needs is in the JSON
  return True


def cell_table(runs: list[dict]) -> list[dict]:
  """Per cell: its values and the runs on the validation seeds."""
  by_cell: dict[str, dict] = {}
  for r in runs:
    entry = by_cell.setdefault(r["cell"], {**{k: r[k] for k in (
        "form", "gamma", "lambda_k", "k0", "lr_ratio")}, "cell": r["cell"], "runs": []})
    entry["runs"].append(r)
  return [by_cell[cell_slug(c)] for c in cells() if cell_slug(c) in by_cell]


def selected(runs: list[dict]) -> dict | None:
  """The selection rule of :data:`SEARCH`, over cells with every validation seed."""
  import numpy as np
  full = [c for c in cell_table(runs) if len(c["runs"]) == len(SEARCH["validation_seeds"])]
  if len(full) < len(cells()):
    return None
  mean = lambda c, k: float(np.mean([r[k] for r in c["runs"]]))
  best = max(full, key=lambda c: (mean(c, "classes_covered"), mean(c, "inception_score")))
  return {k: best[k] for k in ("form", "gamma", "lambda_k", "k0", "lr_ratio", "cell")}


def heldout(workdir: str, out: str, progress: bool) -> bool:
  from ebgan_jax import configs
  rows = []
  for seed in SEARCH["held_out_seeds"]:
    config = configs.with_values(configs.load_config("digits_began"), seed=seed,
                                 sample_every=100000)
    summary = _train(config, os.path.join(workdir, "heldout", f"seed_{seed}"), progress)
    if summary is None:
      return False
    rows.append({"seed": seed, "steps": summary["steps"], **{k: summary[k] for k in KEYS}})
  report.write_json(out, HELDOUT_JSON, {"experiment": "digits_began",
                                        "config": adopted_values(), "rows": rows})
  return True


def adopted_values() -> dict:
  """The searched values in ``experiments/digits_began.py``, as a cell."""
  from ebgan_jax import configs
  c = configs.load_config("digits_began")
  form = next(name for name, values in SEARCH["forms"].items()
              if all(configs.get_key(c, k) == v for k, v in values.items()))
  return {"form": form, "gamma": c.began.gamma, "lambda_k": c.began.lambda_k,
          "k0": c.began.k0, "lr_ratio": round(c.optimizer.lr_g / c.optimizer.lr_d, 6)}


def mixtures(workdir: str, out: str, progress: bool) -> bool:
  from ebgan_jax import configs, sweep
  cell = adopted_values()
  rows = []
  for dataset in MIXTURES["datasets"]:
    config = configs.with_values(configs.load_config("toy_grid_began"), **{
        "data.name": dataset, "began.gamma": cell["gamma"], "began.lambda_k": cell["lambda_k"],
        "began.k0": cell["k0"], "optimizer.lr_g": 1e-4 * cell["lr_ratio"],
        "optimizer.lr_d": 1e-4, "num_steps": MIXTURES["updates"],
        "sample_every": MIXTURES["updates"], "eval_every": MIXTURES["updates"],
        "checkpoint_every": MIXTURES["updates"] // 2})
    results, seconds = sweep.run_sweep_timed(
        config, report.seed_spec(MIXTURES["seeds"]), os.path.join(workdir, "mixtures", dataset),
        progress)
    if not results:
      return False
    rows.append({"dataset": dataset, "steps": config.num_steps, "seconds": round(seconds, 1),
                 "members": [{"member": r["member"], "modes_covered": r["modes_covered"],
                              "high_quality": r["high_quality"]} for r in results]})
  report.write_json(out, MIXTURES_JSON, {"cell": cell, "rows": rows})
  return True


def gamma(workdir: str, out: str, progress: bool) -> bool:
  from ebgan_jax import configs, sweep
  config = configs.with_values(configs.load_config("digits_began"),
                               seed=SEARCH["validation_seeds"][0], sample_every=100000)
  run_dir = os.path.join(workdir, "gamma")
  results, _ = sweep.run_sweep_timed(config, {"began.gamma": [str(g) for g in SEARCH["gamma"]]},
                                     run_dir, progress)
  if not results:
    return False
  report.write_json(out, GAMMA_JSON, {"seed": config.seed, "rows": [
      {"member": r["member"], **{k: r[k] for k in KEYS}} for r in results]})
  shutil.copyfile(rundir.path(run_dir, rundir.SAMPLES_FINAL), os.path.join(out, GAMMA_FIGURE))
  return True


# ----------------------------------------------------------------------------------------------
# The page
# ----------------------------------------------------------------------------------------------

def mechanism(d: dict) -> list[str]:
  """What the diagnosis curves say, each sentence computed from them, and the mechanism they
  support (the sentence chosen by the numbers)."""
  import numpy as np
  t, e = d["train"], d["eval"]
  steps, classes = np.asarray(e["step"]), np.asarray(e["classes_covered"])
  div, real = np.asarray(e["diversity"], float), d["real_diversity"]
  k = np.asarray(t["k"], float)
  ratio = np.asarray(t["fake_real_ratio"], float)
  tsteps = np.asarray(t["step"])
  gamma = d["gamma"]
  peak = int(np.argmax(classes))
  collapsed = np.nonzero((steps > steps[peak]) & (classes <= 2))[0]
  most = int(np.argmax(div))
  lines = [f"- Classes covered: {int(classes[0])} at update {steps[0]:,}, at most "
           f"{int(classes[peak])} (update {steps[peak]:,}), {int(classes[-1])} at the end. The "
           f"samples' diversity (mean pairwise distance) is {div[0]:.2f} at update "
           f"{steps[0]:,}, at most {div[most]:.2f} (update {steps[most]:,}) and {div[-1]:.2f} at "
           f"the end, against {real:.2f} between real digits: at most "
           f"{100 * div[most] / real:.0f} % of the data's."
           + (f" The classes counted early are the classifier's guesses on near-identical "
              f"images (diversity {div[0]:.2f})." if div[0] < 0.3 * real and classes[0] > 2
              else "")]
  if len(collapsed):
    at = steps[collapsed[0]]
    lines.append(f"- The samples fall to 2 classes or fewer at update {at:,}.")
  else:
    lines.append("- The samples never fall to 2 classes or fewer.")
  late = tsteps >= tsteps[-1] / 2
  deviation = float(np.median(np.abs(ratio[late] - gamma)) / gamma)
  lines.append(f"- The balance L(G(z))/L(x) over the second half of training: median "
               f"{np.median(ratio[late]):.3f} against γ = {gamma:g} (median distance "
               f"{100 * deviation:.0f} % of γ); k_t at most {k.max():.4f}, {k[-1]:.4f} at the "
               "end.")
  held = deviation < 0.2
  if held and div[most] < 0.7 * real:
    lines += ["", "**Mechanism.** The controller does its job: the fakes' energy sits at γ times "
              "the data's and k_t settles at a small value. But BEGAN's equilibrium constrains "
              "only the *mean* energy of the fakes, and L_G = L(G(z)) rewards each fake for being "
              "reconstructed well, never for differing from the others. "
              + ("The generator starts with almost no dependence on z, and " if div[0] < 0.3 * real
                 else "") + "a few images that the auto-encoder reconstructs at γ L(x) "
              "satisfy the equilibrium: nothing in either loss pushes the samples apart, and "
              "their diversity never approaches the data's. What could change this: an "
              "auto-encoder that reconstructs a narrow set of images no better than the data "
              "(another form), a larger k_t that pushes the fakes' energy up (k_0, λ_k), or a "
              "faster generator (the learning-rate ratio); the search below tries these."]
  elif not held:
    lines += ["", f"**Mechanism.** The controller does not hold the balance at γ (median "
              f"distance {100 * deviation:.0f} % of γ): k_t cannot steer this game at λ_k as "
              "set, and the collapse follows the unbalanced game."]
  else:
    lines += ["", "**Mechanism.** The balance is held and the samples keep most of the data's "
              "diversity: these curves show no collapse mechanism."]
  return lines


def _beside(out: str, rows: list[dict]) -> list[str]:
  """The adopted recipe next to the other models' runs on the same scorer, read from their
  own pages' JSON (each model on its own seeds, n in each cell)."""
  others = []
  recipes = os.path.join(out, "..", "recipes", "seeds.json")
  if os.path.exists(recipes):
    seeds = rundir.load(recipes)
    for experiment, label in (("digits_began_paper", "BEGAN, the paper's recipe"),
                              ("digits_magan", "MAGAN, its released code's recipe")):
      mine = [r for r in seeds if r["experiment"] == experiment]
      if mine:
        others.append((f"{label} (`{experiment}`, results/recipes)", mine))
  argmax = os.path.join(out, "..", "evaluation_function", "argmax.json")
  if os.path.exists(argmax):
    digits = [d for d in rundir.load(argmax)["datasets"] if d["dataset"] == "digits"]
    if digits:
      others.append(("EBGAN-PT (`digits_ebgan_pt`, results/evaluation_function)",
                     digits[0]["reported"][0]["members"]))
  if not others:
    return []
  keys = ("classes_covered", "inception_score", "frechet_distance")
  cell = lambda group, k: report.mean_se([r[k] for r in group]).format(".2f", ".2f")
  lines = ["The same digits classifier scores every row; each on its own seeds.", ""]
  lines += report.table(["model", "n", "classes", "Inception-style score", "Fréchet distance"],
                        [["BEGAN, the searched recipe (`digits_began`)", str(len(rows))]
                         + [cell(rows, k) for k in keys]]
                        + [[label, str(len(group))] + [cell(group, k) for k in keys]
                           for label, group in others])
  return lines + [""]


def render(out: str) -> str:
  import numpy as np
  lines = ["# BEGAN on the digits: why the paper's recipe collapses, and a searched recipe", "",
           "Command: `make began` (`python -m ebgan_jax.studies.began`, resumable; the search "
           "resumes from the committed `search.json`). BEGAN (Berthelot, Schumm & Metz 2017): "
           "L(v) = mean |v − D(v)|, L_D = L(x) − k_t L(G(z)), L_G = L(G(z)), "
           "k_{t+1} = clip(k_t + λ_k (γ L(x) − L(G(z))), 0, 1). The library's step equals an "
           "independent BEGAN written from the paper in the tests (`tests/test_began.py`: "
           "the same k_t and parameters after six updates). The "
           f"{report.MEAN_SE}.", ""]
  if os.path.exists(os.path.join(out, DIAGNOSIS_JSON)):
    d = report.read_json(out, DIAGNOSIS_JSON)
    lines += ["## Diagnosis: the paper's recipe", "",
              f"`digits_began_paper` (its convolutional ELU auto-encoder with a 16-unit "
              f"embedding, batch 16, Adam 1e-4 halved when M_global stalls, γ = {d['gamma']:g}, "
              f"λ_k = 0.001, k_0 = 0) on validation seed {d['seed']}, {d['steps']:,} updates, "
              f"{d['samples']} samples scored every {d['every']} updates.", ""]
    lines += mechanism(d)
    lines += ["", f"![diagnosis curves]({DIAGNOSIS_FIGURE})", ""]
  if os.path.exists(os.path.join(out, SEARCH_JSON)):
    s = report.read_json(out, SEARCH_JSON)
    setup, runs = s["setup"], s["runs"]
    table = cell_table(runs)
    total = len(cells()) * len(setup["validation_seeds"])
    lines += ["## The search", "",
              f"Fixed on {setup['fixed']}: validation seeds "
              f"{', '.join(map(str, setup['validation_seeds']))}; held-out seeds "
              f"{', '.join(map(str, setup['held_out_seeds']))}; {setup['budget']:,} updates per "
              f"validation run, scored on {setup['eval_samples']} samples; γ ∈ {setup['gamma']}, "
              f"λ_k ∈ {setup['lambda_k']}, k_0 ∈ {setup['k0']}, generator/discriminator "
              f"learning-rate ratio ∈ {setup['lr_ratio']} (discriminator 1e-4), auto-encoder "
              "form: the paper's convolutional one (`conv`), or a fully connected one with 256 "
              "ELU units around a linear code of 16 or 32 (`dense16`, `dense32`, "
              "`model.arch = \"began_dense\"`); the generator is the paper's in every cell. "
              f"Selection: {setup['selection']}. {len(runs)} of {total} runs done.", ""]
    choice = selected(runs)
    if choice:
      lines += [f"**Selected: {choice['cell']}** (form {choice['form']}, γ = "
                f"{choice['gamma']:g}, λ_k = {choice['lambda_k']:g}, k_0 = {choice['k0']:g}, "
                f"ratio {choice['lr_ratio']:g}).", ""]
    cells_done = sorted(table, key=lambda c: (-np.mean([r["classes_covered"] for r in c["runs"]]),
                                              -np.mean([r["inception_score"] for r in c["runs"]])))
    lines += report.table(
        ["form", "γ", "λ_k", "k_0", "ratio", "n", "classes", "Inception-style score",
         "Fréchet distance", "diversity"],
        ([c["form"], f"{c['gamma']:g}", f"{c['lambda_k']:g}", f"{c['k0']:g}",
          f"{c['lr_ratio']:g}", str(len(c["runs"]))]
         + [report.mean_se([r[k] for r in c["runs"]]).format(".2f", ".2f")
            for k in ("classes_covered", "inception_score", "frechet_distance", "diversity")]
         for c in cells_done))
    lines += [""]
  if os.path.exists(os.path.join(out, HELDOUT_JSON)):
    h = report.read_json(out, HELDOUT_JSON)
    rows = h["rows"]
    ok = [r["classes_covered"] >= 10 and r["inception_score"] >= 6.0 for r in rows]
    c = h["config"]
    lines += ["## The adopted recipe on the held-out seeds", "",
              f"`make train EXP=digits_began` now trains form {c['form']}, γ = {c['gamma']:g}, "
              f"λ_k = {c['lambda_k']:g}, k_0 = {c['k0']:g}, ratio {c['lr_ratio']:g}, for its "
              f"full {rows[0]['steps']:,} updates; seeds "
              f"{', '.join(str(r['seed']) for r in rows)}, never used to choose.", ""]
    lines += report.table(["seed", "classes", "Inception-style score", "Fréchet distance",
                           "precision", "recall", "diversity"],
                          [[str(r["seed"])] + [f"{r[k]:.3g}" for k in KEYS] for r in rows]
                          + [[f"mean (n = {len(rows)})"]
                             + [report.mean_se([r[k] for r in rows]).format(".3g", ".2g")
                                for k in KEYS]])
    lines += ["",
              f"**Target (all 10 classes and a score of at least 6.0 on each held-out seed): "
              f"{'met' if all(ok) else 'missed'}** ({sum(ok)} of {len(ok)} seeds).", ""]
    lines += _beside(out, rows)
  if os.path.exists(os.path.join(out, MIXTURES_JSON)):
    m = report.read_json(out, MIXTURES_JSON)
    lines += ["## The same recipe on PacGAN's ring and grid", "",
              "`toy_grid_began`'s auto-encoder for 2-D points (an ELU layer of 256 units, a "
              "1-unit code, a linear decoder: the dense bottleneck form, narrower than the data) "
              "and generator, with the adopted γ, λ_k, k_0 and learning-rate ratio; PacGAN's "
              "scorer on 2,500 samples. Targets as on the recipes page: at least 7 of 8 modes "
              "on the ring and 20 of 25 on the grid.", ""]
    target = {"ring": 7, "grid": 20}
    modes = {r["dataset"]: report.mean_se([x["modes_covered"] for x in r["members"]])
             for r in m["rows"]}
    lines += report.table(["data", "updates", "n", "modes", "high quality %", "target"], (
        [r["dataset"], f"{r['steps']:,}", str(len(r["members"])),
         modes[r["dataset"]].format(".2f", ".2f"),
         report.mean_se([100 * x["high_quality"] for x in r["members"]]).format(".1f", ".1f"),
         ("met" if modes[r["dataset"]].mean >= target[r["dataset"]] else "**missed**")
         if r["dataset"] in target else "—"]
        for r in m["rows"]))
    missed = [d for d, v in modes.items() if d in target and v.mean < target[d]]
    lines += ["", ("The digits recipe does not carry over to the 2-D mixtures: "
                   + " and ".join(f"{modes[d].mean:.1f} modes on the {d}" for d in missed)
                   + ". What made BEGAN work on the digits does not carry to these 2-D data at "
                   "this budget."
                   if missed else "The recipe meets the 2-D targets too."), ""]
  if os.path.exists(os.path.join(out, GAMMA_JSON)):
    g = report.read_json(out, GAMMA_JSON)
    lines += ["## γ with the adopted recipe", "",
              f"One program, seed {g['seed']}; the paper: a lower γ gives less diverse, sharper "
              "samples.", ""]
    lines += report.table(["member", "classes", "Inception-style score", "Fréchet distance",
                           "diversity"], ([r["member"], f"{r['classes_covered']}",
                                           f"{r['inception_score']:.2f}",
                                           f"{r['frechet_distance']:.2f}",
                                           f"{r['diversity']:.2f}"] for r in g["rows"]))
    by = {float(r["member"].split("=")[1]): r for r in g["rows"]}
    low, high = by[min(by)], by[max(by)]
    holds = low["diversity"] < high["diversity"] and low["classes_covered"] <= high["classes_covered"]
    monotone = all(by[a]["diversity"] <= by[b]["diversity"] for a, b in zip(sorted(by), sorted(by)[1:]))
    lines += ["", f"From γ = {min(by):g} to {max(by):g} the diversity goes from "
              f"{low['diversity']:.2f} to {high['diversity']:.2f} and the classes from "
              f"{low['classes_covered']} to {high['classes_covered']}: the paper's claim that "
              f"a lower γ gives less diversity {'holds in direction' if holds else 'does not hold'}"
              + ("" if monotone else " between the ends, though not at every step of γ")
              + f" (one seed). Its other half, better samples at a lower γ, is not what the "
              f"Fréchet distance (the closest measure of quality here) says: it is {low['frechet_distance']:.2f} at γ = "
              f"{min(by):g} against {high['frechet_distance']:.2f} at {max(by):g}."
              if low["frechet_distance"] > high["frechet_distance"] else
              f"From γ = {min(by):g} to {max(by):g} the diversity goes from "
              f"{low['diversity']:.2f} to {high['diversity']:.2f} (one seed).", "",
              f"![samples per γ]({GAMMA_FIGURE})", ""]
  return report.page_text(lines)


def main(argv: list[str] | None = None) -> int:
  parser = argparse.ArgumentParser(prog="python -m ebgan_jax.studies.began", description=__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument("--out", default="results/began")
  parser.add_argument("--workdir", default="runs/began")
  parser.add_argument("--parts", default=",".join(PARTS),
                      help=f"which parts to run, of {','.join(PARTS)}")
  parser.add_argument("--no_progress", action="store_true")
  args = parser.parse_args(sys.argv[1:] if argv is None else argv)
  cli.set_cpu_defaults()

  def body():
    parts = cli.parts(args.parts, PARTS)
    os.makedirs(args.out, exist_ok=True)
    _enable_compilation_cache(args.workdir)
    steps = {"diagnosis": diagnosis, "search": search, "heldout": heldout,
             "mixtures": mixtures, "gamma": gamma}
    for part in PARTS:
      if part in parts and not steps[part](args.workdir, args.out, not args.no_progress):
        report.write_page(args.out, render)
        return cli.interrupted()
    report.write_page(args.out, render)
    print(f"wrote {args.out}/README.md")
  return cli.run(body)


if __name__ == "__main__":
  sys.exit(main())
